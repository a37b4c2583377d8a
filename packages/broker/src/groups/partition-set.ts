/**
 * Ordering by bytes (PW-GROUP-015, PW-GROUP-031): the UTF-8 byte order of two
 * strings is their code point order, which differs from JavaScript's UTF-16
 * `<` for characters above U+FFFF against U+E000..U+FFFF.
 */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x - y;
    // A surrogate pair covered two code units; both strings agree on them.
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** One partition of one topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** The wire shape of PW-GROUP-015's lists: one entry per topic. */
export interface TopicPartitionsLike {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/**
 * A set of partitions grouped by topic: a member's assigned, owned or target
 * partitions. Empty topics are dropped so that equality and size stay exact.
 */
export class PartitionSet {
  readonly #topics = new Map<string, Set<number>>();
  #size = 0;

  /** Builds a set from wire lists, or returns the first PW-GROUP-015 violation. */
  static fromWire(lists: readonly TopicPartitionsLike[]): PartitionSet | string {
    const set = new PartitionSet();
    for (const { topic, partitions } of lists) {
      if (set.#topics.has(topic)) return `topic ${JSON.stringify(topic)} is listed twice`;
      for (const p of partitions) {
        if (set.has(topic, p)) return `partition ${p} of ${JSON.stringify(topic)} is listed twice`;
        set.add(topic, p);
      }
    }
    return set;
  }

  static of(entries: Iterable<TopicPartition>): PartitionSet {
    const set = new PartitionSet();
    for (const { topic, partition } of entries) set.add(topic, partition);
    return set;
  }

  get size(): number {
    return this.#size;
  }

  has(topic: string, partition: number): boolean {
    return this.#topics.get(topic)?.has(partition) ?? false;
  }

  add(topic: string, partition: number): void {
    let partitions = this.#topics.get(topic);
    if (partitions === undefined) {
      partitions = new Set();
      this.#topics.set(topic, partitions);
    }
    if (!partitions.has(partition)) {
      partitions.add(partition);
      this.#size++;
    }
  }

  delete(topic: string, partition: number): boolean {
    const partitions = this.#topics.get(topic);
    if (partitions === undefined || !partitions.delete(partition)) return false;
    if (partitions.size === 0) this.#topics.delete(topic);
    this.#size--;
    return true;
  }

  clear(): void {
    this.#topics.clear();
    this.#size = 0;
  }

  /** Every partition, in no particular order (cheap iteration). */
  *[Symbol.iterator](): IterableIterator<TopicPartition> {
    for (const [topic, partitions] of this.#topics) {
      for (const partition of partitions) yield { topic, partition };
    }
  }

  /** Partitions of one topic, in no particular order. */
  partitionsOf(topic: string): ReadonlySet<number> {
    return this.#topics.get(topic) ?? EMPTY;
  }

  topics(): IterableIterator<string> {
    return this.#topics.keys();
  }

  clone(): PartitionSet {
    const copy = new PartitionSet();
    for (const [topic, partitions] of this.#topics) copy.#topics.set(topic, new Set(partitions));
    copy.#size = this.#size;
    return copy;
  }

  equals(other: PartitionSet): boolean {
    return this.#size === other.#size && this.isSubsetOf(other);
  }

  isSubsetOf(other: PartitionSet): boolean {
    if (this.#size > other.#size) return false;
    for (const { topic, partition } of this) if (!other.has(topic, partition)) return false;
    return true;
  }

  /** Partitions of this set that `other` lacks, as a new set. */
  minus(other: PartitionSet): PartitionSet {
    const out = new PartitionSet();
    for (const { topic, partition } of this) if (!other.has(topic, partition)) out.add(topic, partition);
    return out;
  }

  /** Partitions of this set that `other` has too, as a new set. */
  intersect(other: PartitionSet): PartitionSet {
    const out = new PartitionSet();
    for (const { topic, partition } of this) if (other.has(topic, partition)) out.add(topic, partition);
    return out;
  }

  /** Sorted as PW-GROUP-015 says the broker sends lists: topics as bytes, partitions increasing. */
  toWire(): { topic: string; partitions: number[] }[] {
    return [...this.#topics.keys()]
      .sort(compareBytes)
      .map((topic) => ({ topic, partitions: [...(this.#topics.get(topic) ?? EMPTY)].sort((a, b) => a - b) }));
  }

  /** Sorted (topic as bytes, then partition) list of every partition. */
  sorted(): TopicPartition[] {
    return this.toWire().flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
  }
}

const EMPTY: ReadonlySet<number> = new Set();
