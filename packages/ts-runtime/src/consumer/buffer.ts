import { openBatch, type BatchRecords } from "@polywire/wasm-codec";
import { PolywireError } from "@polywire/core";
import { result } from "../json.js";
import { ConsumedRecord } from "../record.js";
import type { Chunk, Cursor } from "./cursor.js";
import type { ConsumedBatch } from "./options.js";
import type { ConsumerScope } from "./scope.js";

// Runs `fn` on a later turn of the event loop, after pending I/O.
const nextTurn: (fn: () => void) => void = typeof setImmediate === "function"
  ? (fn) => void setImmediate(fn)
  : (fn) => void setTimeout(fn, 0);

/** Takes what to hand out from a partition's buffer: a record, a batch, or nothing. */
export type Take<T> = (c: Cursor) => T | undefined;

/**
 * Hands fetched records out: round robin over the partitions, in offset
 * order within each, opening (and CRC-checking, PW-BATCH-003) each batch
 * only when its first record is due. Partition errors and the consumer's
 * failure come out of the iterators here, once each.
 */
export class RecordBuffer {
  readonly #scope: ConsumerScope;
  /** Where the round robin starts next. */
  #next = 0;
  /** A whole chunk was handed out since the iterators last let the event loop turn. */
  #yieldDue = false;

  constructor(scope: ConsumerScope) {
    this.#scope = scope;
  }

  /** The assignment changed: the round robin starts over. */
  restart(): void {
    this.#next = 0;
  }

  /**
   * An iterator over what `take` hands out. When something is buffered,
   * `next()` answers with an already-resolved promise, without the async
   * machinery of waiting: a record loop costs one promise per record.
   */
  iterator<T>(signal: AbortSignal | undefined, take: Take<T>): AsyncIterableIterator<T> {
    let finished = false;
    const done = (): IteratorResult<T> => {
      finished = true;
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        if (finished) return Promise.resolve({ value: undefined, done: true });
        if (this.#yieldDue) {
          // Buffered records are handed out in microtasks, which never let
          // I/O in: once per fetched batch, wait a turn of the event loop so
          // the next fetch's response is read while this one is consumed.
          this.#yieldDue = false;
          return new Promise<void>((resolve) => nextTurn(resolve)).then(() => iterator.next());
        }
        let value: T | undefined;
        try {
          value = this.#poll(take);
        } catch (error) {
          return Promise.reject(error);
        }
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.#scope.closed) return Promise.resolve(done());
        return this.#take(signal, take).then((taken) => (taken === undefined ? done() : { value: taken, done: false }));
      },
      return: async () => done(),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The next record of a partition. */
  readonly takeRecord: Take<ConsumedRecord> = (c) => {
    const chunk = this.#headChunk(c);
    if (chunk === undefined) return undefined;
    const batch = chunk.batch as BatchRecords;
    const record = new ConsumedRecord(c.topic, c.partition, batch, chunk.next++);
    this.#scope.ctx.stats.recordsReceived++;
    if (chunk.next >= batch.count) this.#dropChunk(c);
    return record;
  };

  /** What remains of a partition's first buffered batch. */
  readonly takeBatch: Take<ConsumedBatch> = (c) => {
    const chunk = this.#headChunk(c);
    if (chunk === undefined) return undefined;
    const batch = chunk.batch as BatchRecords;
    const records = new Array<ConsumedRecord>(batch.count - chunk.next);
    for (let i = 0; i < records.length; i++) records[i] = new ConsumedRecord(c.topic, c.partition, batch, chunk.next + i);
    chunk.next = batch.count;
    this.#scope.ctx.stats.recordsReceived += records.length;
    this.#dropChunk(c);
    return result({ topic: c.topic, partition: c.partition, records, highWatermark: chunk.highWatermark });
  };

  /**
   * What `take` finds in the buffered chunks now, trying partitions round
   * robin; throws the consumer's failure or a partition error not thrown
   * yet; undefined when nothing is buffered or the consumer is closed.
   */
  #poll<T>(take: Take<T>): T | undefined {
    const scope = this.#scope;
    if (scope.failure !== undefined) throw scope.failure;
    if (scope.closed) return undefined;
    const order = scope.cursors.order;
    for (const c of order) {
      if (c.error !== undefined && !c.errorThrown) {
        c.errorThrown = true;
        throw c.error;
      }
    }
    const n = order.length;
    for (let i = 0; i < n; i++) {
      const c = order[(this.#next + i) % n] as Cursor;
      if (c.paused || c.reset !== undefined) continue;
      const taken = take(c);
      if (taken === undefined) continue;
      // Round robin: the next call starts after this partition.
      this.#next = (this.#next + i + 1) % n;
      return taken;
    }
    return undefined;
  }

  /** Waits until `take` finds something; undefined once the consumer is closed. */
  async #take<T>(signal: AbortSignal | undefined, take: Take<T>): Promise<T | undefined> {
    for (;;) {
      const taken = this.#poll(take);
      if (taken !== undefined) return taken;
      if (this.#scope.closed) return undefined;
      await this.#scope.waiters.wait(signal);
    }
  }

  #dropChunk(c: Cursor): void {
    this.#yieldDue = true;
    this.#scope.cursors.shift(c);
    this.#scope.changed(false);
  }

  /**
   * The partition's first buffered chunk that has records left to hand out,
   * opened (chunks with none left are dropped); undefined when there is
   * none, or when the batch fails its CRC, which stops the partition.
   */
  #headChunk(c: Cursor): Chunk | undefined {
    for (let chunk = c.chunks[0]; chunk !== undefined; chunk = c.chunks[0]) {
      if (chunk.batch === undefined) {
        try {
          // PW-BATCH-003: the CRC is verified before any record is handed out.
          const batch = openBatch(chunk.bytes);
          const base = batch.header.baseOffset;
          const from = c.position ?? 0n;
          // PW-LOG-011: a batch may start before the position asked for.
          const skip = from > base ? from - base : 0n;
          chunk.next = skip >= BigInt(batch.count) ? batch.count : Number(skip);
          chunk.batch = batch;
          if (chunk.next < batch.count) c.reading = chunk;
        } catch (error) {
          const failure = PolywireError.from(error, "CORRUPT_BATCH");
          this.#scope.cursors.clear(c);
          c.fetchOffset = c.position ?? c.fetchOffset;
          c.error = new PolywireError(failure.code, `${c.topic}/${c.partition} at offset ${c.fetchOffset}: ${failure.message}`, { cause: failure });
          this.#scope.ctx.stats.error(failure.code);
          this.#scope.changed(false);
          return undefined;
        }
      }
      if (chunk.next < chunk.batch.count) return chunk;
      this.#dropChunk(c);
    }
    return undefined;
  }
}
