import type { BatchRecords } from "@polywire/wasm-codec";
import { PolywireError } from "@polywire/core";
import { checkPartition, type StartPosition, type TopicPartition } from "./options.js";

/** A fetched batch waiting in a partition's buffer. */
export interface Chunk {
  readonly bytes: Uint8Array;
  readonly highWatermark: bigint;
  /** Opened (CRC checked) when it becomes the partition's first chunk. */
  batch: BatchRecords | undefined;
  /** Index in `batch` of the next record to hand out. */
  next: number;
}

/** One assigned partition: its position, what is fetched of it, and why it stopped. */
export class Cursor {
  #position: bigint | undefined;
  /**
   * The opened chunk records are being handed out from: while it is set,
   * the position is its next record's offset, computed only when asked
   * for, so handing out a record costs no bigint arithmetic.
   */
  reading: Chunk | undefined;
  /** The next offset to fetch. */
  fetchOffset = 0n;
  /** A start position still to resolve. */
  reset: StartPosition | undefined;
  /** Bumped whenever the position moves, to drop fetch results aimed at the old one. */
  epoch = 0;
  paused = false;
  /** Stops fetching until `seek`; thrown once by the iterator. */
  error: PolywireError | undefined;
  errorThrown = false;
  chunks: Chunk[] = [];
  bufferedBytes = 0;
  highWatermark = -1n;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly key: string,
  ) {}

  /** The next offset handed to the application; undefined until the start position is resolved. */
  get position(): bigint | undefined {
    const r = this.reading;
    return r === undefined ? this.#position : (r.batch as BatchRecords).header.baseOffset + BigInt(r.next);
  }

  set position(offset: bigint | undefined) {
    this.reading = undefined;
    this.#position = offset;
  }
}

export function keyOf(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

/**
 * The assigned partitions, in assignment order, and the bytes buffered
 * across them: every change of a position or a buffer goes through here,
 * so the total always matches the cursors.
 */
export class Cursors {
  readonly #byKey = new Map<string, Cursor>();
  #order: Cursor[] = [];
  #buffered = 0;

  /** The cursors in assignment order (the round robin's order). */
  get order(): readonly Cursor[] {
    return this.#order;
  }

  /** Bytes of fetched batches not yet handed out, over every partition. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The cursor of an assigned partition; INVALID_ARGUMENT when it is not assigned. */
  get(tp: TopicPartition): Cursor {
    checkPartition(tp);
    const cursor = this.#byKey.get(keyOf(tp.topic, tp.partition));
    if (cursor === undefined) throw new PolywireError("INVALID_ARGUMENT", `${tp.topic}/${tp.partition} is not assigned to this consumer`);
    return cursor;
  }

  find(key: string): Cursor | undefined {
    return this.#byKey.get(key);
  }

  /** False once the cursor was unassigned: results fetched for it are stale. */
  current(c: Cursor): boolean {
    return this.#byKey.get(c.key) === c;
  }

  /** Replaces the assignment; cursors left out are dropped. */
  replace(next: ReadonlyMap<string, Cursor>): void {
    for (const [key, cursor] of this.#byKey) if (!next.has(key)) this.drop(cursor);
    this.#byKey.clear();
    for (const [key, cursor] of next) this.#byKey.set(key, cursor);
    this.#order = [...next.values()];
  }

  /** Moves a cursor to a start position, dropping its buffer and any error that stopped it. */
  move(cursor: Cursor, position: StartPosition): void {
    this.clear(cursor);
    cursor.epoch++;
    cursor.error = undefined;
    cursor.errorThrown = false;
    if (typeof position === "object" && "offset" in position) {
      cursor.position = BigInt(position.offset);
      cursor.fetchOffset = cursor.position;
      cursor.reset = undefined;
    } else {
      cursor.reset = position;
    }
  }

  /** Drops a cursor's buffered chunks, keeping its position. */
  clear(cursor: Cursor): void {
    // Fixes the position where the records handed out left it.
    cursor.position = cursor.position;
    this.#buffered -= cursor.bufferedBytes;
    cursor.bufferedBytes = 0;
    cursor.chunks = [];
  }

  /** Clears a cursor and makes fetches in progress for it stale. */
  drop(cursor: Cursor): void {
    this.clear(cursor);
    cursor.epoch++;
  }

  /** Adds a fetched batch to a cursor's buffer. */
  push(cursor: Cursor, chunk: Chunk): void {
    cursor.chunks.push(chunk);
    cursor.bufferedBytes += chunk.bytes.byteLength;
    this.#buffered += chunk.bytes.byteLength;
  }

  /** Removes a cursor's first chunk, all of it handed out. */
  shift(cursor: Cursor): void {
    const chunk = cursor.chunks.shift() as Chunk;
    if (cursor.reading === chunk) cursor.position = cursor.position;
    cursor.bufferedBytes -= chunk.bytes.byteLength;
    this.#buffered -= chunk.bytes.byteLength;
  }
}
