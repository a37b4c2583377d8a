/** The typed arrays a column may be. */
type Column = Uint32Array | Float64Array;

type ColumnClass<C extends Column> = new (length: number) => C;

// Every instance starts on these, never written (capacity 0): an index with
// few or no entries holds no arrays of its own, which counts with 100 000
// partitions.
const EMPTY = new Map<ColumnClass<Column>, Column>([
  [Uint32Array, new Uint32Array(0)],
  [Float64Array, new Float64Array(0)],
]);

/**
 * Rows of two numbers in two parallel typed arrays that grow together
 * (doubling, from 16 rows): the shape of a segment's sparse indexes.
 */
export class GrowableColumns<A extends Column, B extends Column> {
  /** Rows in use; setting it lower drops the rows past it. */
  length = 0;
  #first: A;
  #second: B;

  constructor(first: ColumnClass<A>, second: ColumnClass<B>) {
    this.#first = EMPTY.get(first) as A;
    this.#second = EMPTY.get(second) as B;
  }

  /** Appends a row. */
  add(first: number, second: number): void {
    if (this.length === this.#first.length) this.#grow();
    this.#first[this.length] = first;
    this.#second[this.length] = second;
    this.length++;
  }

  /** The first column's value in row `i`. */
  first(i: number): number {
    return this.#first[i] as number;
  }

  /** The second column's value in row `i`. */
  second(i: number): number {
    return this.#second[i] as number;
  }

  #grow(): void {
    const capacity = Math.max(16, this.#first.length * 2);
    // Each array's own class: no per-instance field names it.
    const first = new (this.#first.constructor as ColumnClass<A>)(capacity);
    first.set(this.#first.subarray(0, this.length));
    this.#first = first;
    const second = new (this.#second.constructor as ColumnClass<B>)(capacity);
    second.set(this.#second.subarray(0, this.length));
    this.#second = second;
  }
}
