import type { FetchResponse } from "@polywire/proto/log";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { openBatch, readBatchHeader, splitBatches, type BatchRecords } from "@polywire/wasm-codec";
import type { ClientContext, OffsetQuery } from "./client.js";
import { PolywireError, errorCodeName } from "@polywire/core";
import { result, type Jsonified } from "./json.js";
import type { Link } from "./link.js";
import { ConsumedRecord } from "./record.js";
import { RetryPolicy, type RetryOptions } from "./retry.js";
import { abortError, anySignal, callSignal, sleep, type CallOptions } from "./signal.js";

/**
 * Where a partition starts (or `seek` moves it): the log start, the high
 * watermark, an offset, or the first record at or after a time
 * (PW-LOG-020, PW-LOG-021; a time no record is that recent for means the
 * high watermark).
 */
export type StartPosition = "earliest" | "latest" | { readonly offset: bigint | number } | { readonly timestamp: number | Date };

/** A partition of a topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A partition to assign, with an optional start position. */
export interface PartitionAssignment extends TopicPartition {
  /** Where to start; default per `autoOffsetReset`. */
  readonly from?: StartPosition;
}

/** Options of `client.consumer()`. Every field is optional. */
export interface ConsumerOptions {
  /**
   * Where to go when a partition has no start position or its position is
   * out of range (OFFSET_OUT_OF_RANGE, PW-LOG-015): "earliest", "latest",
   * or "none" to surface the error from the iterator (the partition then
   * stops until `seek`). Default "latest", as Kafka.
   */
  autoOffsetReset?: "earliest" | "latest" | "none";
  /** Long-poll wait of a fetch when no data is there (PW-LOG-014), in ms. Default 500. */
  maxWaitMs?: number;
  /** Bytes a fetch waits for before it answers. Default 1. */
  minBytes?: number;
  /** Most bytes per fetch response; the broker caps it to frame sizes. Default 8 MiB. */
  maxBytes?: number;
  /** Most bytes per partition per fetch. Default 1 MiB (Kafka's `max.partition.fetch.bytes`). */
  partitionMaxBytes?: number;
  /**
   * Bound of prefetched, not yet consumed batch bytes. Fetching stops at it,
   * so a slow loop never makes the consumer buffer more than this plus one
   * batch (a fetch always returns at least one whole batch, PW-LOG-013).
   * Default 16 MiB.
   */
  maxBufferedBytes?: number;
  /** Time a fetch may take beyond `maxWaitMs` before it fails with TIMEOUT, in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Retry policy for failed fetches and offset lookups; default the client's. */
  retry?: RetryOptions;
}

/** The records of one fetched batch that the consumer hands out together. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  /** The records, in offset order, starting at the consumer's position. */
  readonly records: readonly ConsumedRecord[];
  /** The partition's high watermark when the batch was fetched. */
  readonly highWatermark: bigint;
  /** The same fields, records and high watermark in their JSON form, so that `JSON.stringify` works. */
  toJSON(): Jsonified<ConsumedBatch>;
}

interface Chunk {
  readonly bytes: Uint8Array;
  readonly highWatermark: bigint;
  /** Opened (CRC checked) when it becomes the partition's first chunk. */
  batch: BatchRecords | undefined;
  /** Index in `batch` of the next record to hand out. */
  next: number;
}

class Cursor {
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

// Runs `fn` on a later turn of the event loop, after pending I/O.
const nextTurn: (fn: () => void) => void = typeof setImmediate === "function"
  ? (fn) => void setImmediate(fn)
  : (fn) => void setTimeout(fn, 0);

function keyOf(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > 0xffff_ffff) {
    throw new PolywireError("INVALID_ARGUMENT", `${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

function checkPosition(position: StartPosition): void {
  if (position === "earliest" || position === "latest") return;
  if (typeof position === "object" && position !== null) {
    if ("offset" in position) {
      const o = position.offset;
      if ((typeof o === "bigint" && o >= 0n) || (typeof o === "number" && Number.isSafeInteger(o) && o >= 0)) return;
    } else if ("timestamp" in position) {
      const t = position.timestamp instanceof Date ? position.timestamp.getTime() : position.timestamp;
      if (Number.isSafeInteger(t)) return;
    }
  }
  throw new PolywireError("INVALID_ARGUMENT", `a start position is "earliest", "latest", { offset } (non-negative) or { timestamp }, got ${JSON.stringify(position, (_, v: unknown) => typeof v === "bigint" ? `${v}n` : v)}`);
}

function checkPartition(tp: TopicPartition): void {
  if (typeof tp !== "object" || tp === null || typeof tp.topic !== "string" || tp.topic === "") {
    throw new PolywireError("INVALID_ARGUMENT", "a topic partition needs a non-empty topic");
  }
  if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition > 0xffff_ffff) {
    throw new PolywireError("INVALID_ARGUMENT", `partition must be a non-negative 32-bit integer, got ${String(tp.partition)}`);
  }
}

/**
 * Reads records from assigned partitions. Fetches long-poll in the
 * background, bounded by `maxBufferedBytes`; records come out of
 * `for await (const record of consumer)` (or `records()`, or `batches()`)
 * in offset order per partition, with their batch CRC verified
 * (PW-BATCH-003). Positions move with `seek`; `pause` and `resume` stop and
 * restart partitions. Close with `close()` or `await using`.
 *
 * Breaking out of a `for await` loop leaves the consumer open (iterate
 * again to continue). Groups (`subscribe`) will come in a later version;
 * `assign` is manual assignment.
 *
 * ```ts
 * await using consumer = client.consumer({ autoOffsetReset: "earliest" });
 * consumer.assign([{ topic: "orders", partition: 0 }]);
 * for await (const record of consumer) console.log(record.offset, record.json());
 * ```
 */
export class Consumer implements AsyncIterable<ConsumedRecord>, AsyncDisposable {
  readonly #ctx: ClientContext;
  readonly #untrack: () => void;
  readonly #reset: "earliest" | "latest" | "none";
  readonly #maxWaitMs: number;
  readonly #minBytes: number;
  readonly #maxBytes: number;
  readonly #partitionMaxBytes: number;
  readonly #maxBuffered: number;
  readonly #requestTimeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #cursors = new Map<string, Cursor>();
  readonly #loops = new Map<Link, Promise<void>>();
  readonly #interrupts = new Set<AbortController>();
  readonly #stop = new AbortController();
  #order: Cursor[] = [];
  #next = 0;
  #buffered = 0;
  #waiters = new Set<() => void>();
  #failure: PolywireError | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #lookups = new Set<string>();
  /** A whole chunk was handed out since the iterators last let the event loop turn. */
  #yieldDue = false;

  /** @internal Use `client.consumer(options)`. */
  constructor(context: ClientContext, options: ConsumerOptions = {}) {
    const reset = options.autoOffsetReset ?? "latest";
    if (reset !== "earliest" && reset !== "latest" && reset !== "none") {
      throw new PolywireError("INVALID_ARGUMENT", `autoOffsetReset must be "earliest", "latest" or "none", got ${JSON.stringify(reset)}`);
    }
    this.#ctx = context;
    this.#reset = reset;
    this.#maxWaitMs = positiveInteger("maxWaitMs", options.maxWaitMs, 500, 0);
    this.#minBytes = positiveInteger("minBytes", options.minBytes, 1);
    this.#maxBytes = positiveInteger("maxBytes", options.maxBytes, 8 * 1024 * 1024);
    this.#partitionMaxBytes = positiveInteger("partitionMaxBytes", options.partitionMaxBytes, 1024 * 1024);
    this.#maxBuffered = positiveInteger("maxBufferedBytes", options.maxBufferedBytes, 16 * 1024 * 1024);
    this.#requestTimeoutMs = positiveInteger("requestTimeoutMs", options.requestTimeoutMs, 30_000);
    this.#retry = options.retry === undefined ? context.retry : new RetryPolicy(options.retry);
    this.#untrack = context.track({ close: () => this.close(), fail: (error) => this.#fail(error) });
  }

  /**
   * Sets the partitions to read, replacing the previous assignment. A
   * partition already assigned keeps its position unless `from` is given; a
   * new one starts at `from`, else per `autoOffsetReset` ("none" then
   * requires `from`). Unknown topics or partitions surface from the
   * iterator as UNKNOWN_TOPIC / UNKNOWN_PARTITION.
   */
  assign(partitions: readonly PartitionAssignment[]): void {
    this.#ensureOpen();
    const next = new Map<string, Cursor>();
    for (const a of partitions) {
      checkPartition(a);
      if (a.from !== undefined) checkPosition(a.from);
      const key = keyOf(a.topic, a.partition);
      if (next.has(key)) throw new PolywireError("INVALID_ARGUMENT", `${a.topic}/${a.partition} is listed twice`);
      const existing = this.#cursors.get(key);
      const cursor = existing ?? new Cursor(a.topic, a.partition, key);
      const from = a.from ?? (existing === undefined ? this.#defaultStart(a) : undefined);
      if (from !== undefined) this.#move(cursor, from);
      next.set(key, cursor);
    }
    for (const [key, cursor] of this.#cursors) if (!next.has(key)) this.#drop(cursor);
    this.#cursors.clear();
    for (const [key, cursor] of next) this.#cursors.set(key, cursor);
    this.#order = [...next.values()];
    this.#next = 0;
    this.#changed(true);
  }

  #defaultStart(tp: TopicPartition): StartPosition {
    if (this.#reset === "none") {
      throw new PolywireError("INVALID_ARGUMENT", `${tp.topic}/${tp.partition} has no start position: pass "from" or set autoOffsetReset`);
    }
    return this.#reset;
  }

  /** The partitions assigned, in assignment order. */
  assignment(): TopicPartition[] {
    return this.#order.map((c) => ({ topic: c.topic, partition: c.partition }));
  }

  /**
   * Moves a partition's position: the next record handed out is the one at
   * `position`. Buffered records of the partition are dropped and a fetch in
   * progress is restarted. Clears an error that stopped the partition.
   */
  seek(tp: TopicPartition, position: StartPosition): void {
    this.#ensureOpen();
    checkPosition(position);
    this.#move(this.#cursor(tp), position);
    this.#changed(true);
  }

  /** Stops handing out and fetching records of these partitions; buffered ones are kept. */
  pause(partitions: readonly TopicPartition[]): void {
    const cursors = partitions.map((tp) => this.#cursor(tp));
    for (const c of cursors) c.paused = true;
    this.#changed(false);
  }

  /** Resumes paused partitions. */
  resume(partitions: readonly TopicPartition[]): void {
    const cursors = partitions.map((tp) => this.#cursor(tp));
    for (const c of cursors) c.paused = false;
    this.#changed(true);
  }

  /** The paused partitions. */
  paused(): TopicPartition[] {
    return this.#order.filter((c) => c.paused).map((c) => ({ topic: c.topic, partition: c.partition }));
  }

  /**
   * The offset of the next record the consumer will hand out for `tp`,
   * waiting for a start position to be resolved (ListOffsets) if needed.
   */
  async position(tp: TopicPartition, options: CallOptions = {}): Promise<bigint> {
    const cursor = this.#cursor(tp);
    const signal = callSignal(options);
    for (;;) {
      if (cursor.error !== undefined) throw cursor.error;
      if (cursor.reset === undefined && cursor.position !== undefined) return cursor.position;
      this.#ensureOpen();
      await this.#wait(signal);
    }
  }

  /** The partition's high watermark from the last fetch, or undefined before one answered. */
  highWatermark(tp: TopicPartition): bigint | undefined {
    const c = this.#cursor(tp);
    return c.highWatermark < 0n ? undefined : c.highWatermark;
  }

  /** Records between the position and the high watermark from the last fetch, or undefined when either is unknown. */
  lag(tp: TopicPartition): bigint | undefined {
    const c = this.#cursor(tp);
    if (c.highWatermark < 0n || c.position === undefined || c.reset !== undefined) return undefined;
    const lag = c.highWatermark - c.position;
    return lag > 0n ? lag : 0n;
  }

  /** Bytes of fetched batches not yet handed out (bounded by `maxBufferedBytes` plus one batch). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Records one by one, in offset order per partition; iterating the
   * consumer is the same. `signal` / `timeoutMs` end the iteration with
   * CANCELLED / TIMEOUT (`timeoutMs` bounds the whole iteration).
   */
  records(options: CallOptions = {}): AsyncIterableIterator<ConsumedRecord> {
    return this.#iterator(callSignal(options), this.#takeRecord);
  }

  /** Records a fetched batch at a time (what remains of it past the position); options as for {@link records}. */
  batches(options: CallOptions = {}): AsyncIterableIterator<ConsumedBatch> {
    return this.#iterator(callSignal(options), this.#takeBatch);
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    return this.records();
  }

  /**
   * An iterator over what `take` hands out. When something is buffered,
   * `next()` answers with an already-resolved promise, without the async
   * machinery of waiting: a record loop costs one promise per record.
   */
  #iterator<T>(signal: AbortSignal | undefined, take: (c: Cursor) => T | undefined): AsyncIterableIterator<T> {
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
        if (this.#closed) return Promise.resolve(done());
        return this.#take(signal, take).then((taken) => (taken === undefined ? done() : { value: taken, done: false }));
      },
      return: async () => done(),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Closes the consumer: fetching stops, iterators end, buffered records are
   * dropped. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#stop.abort(new PolywireError("CANCELLED", "the consumer is closed"));
      this.#wake();
      await Promise.allSettled([...this.#loops.values()]);
      for (const c of this.#order) this.#drop(c);
      this.#untrack();
    })();
    return this.#closing;
  }

  /** `await using` support: the same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #fail(error: PolywireError): void {
    this.#failure ??= error;
    void this.close();
  }

  #ensureOpen(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) throw new PolywireError("CONNECTION_LOST", "the consumer is closed", { retriable: false });
  }

  #cursor(tp: TopicPartition): Cursor {
    checkPartition(tp);
    const cursor = this.#cursors.get(keyOf(tp.topic, tp.partition));
    if (cursor === undefined) throw new PolywireError("INVALID_ARGUMENT", `${tp.topic}/${tp.partition} is not assigned to this consumer`);
    return cursor;
  }

  #move(cursor: Cursor, position: StartPosition): void {
    this.#clear(cursor);
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

  #clear(cursor: Cursor): void {
    // Fixes the position where the records handed out left it.
    cursor.position = cursor.position;
    this.#buffered -= cursor.bufferedBytes;
    cursor.bufferedBytes = 0;
    cursor.chunks = [];
  }

  #drop(cursor: Cursor): void {
    this.#clear(cursor);
    cursor.epoch++;
  }

  /** Wakes waiters; with `refetch`, restarts long polls so they include the change. */
  #changed(refetch: boolean): void {
    if (refetch) for (const c of this.#interrupts) c.abort();
    this.#wake();
    this.#ensureLoops();
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  #wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(done);
        reject(abortError(signal as AbortSignal));
      };
      const done = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  // ---- handing records out

  /**
   * What `take` finds in the buffered chunks now, trying partitions round
   * robin; throws the consumer's failure or a partition error not thrown
   * yet; undefined when nothing is buffered or the consumer is closed.
   */
  #poll<T>(take: (c: Cursor) => T | undefined): T | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) return undefined;
    for (const c of this.#order) {
      if (c.error !== undefined && !c.errorThrown) {
        c.errorThrown = true;
        throw c.error;
      }
    }
    const n = this.#order.length;
    for (let i = 0; i < n; i++) {
      const c = this.#order[(this.#next + i) % n] as Cursor;
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
  async #take<T>(signal: AbortSignal | undefined, take: (c: Cursor) => T | undefined): Promise<T | undefined> {
    for (;;) {
      const taken = this.#poll(take);
      if (taken !== undefined) return taken;
      if (this.#closed) return undefined;
      await this.#wait(signal);
    }
  }

  /** The next record of a partition. */
  readonly #takeRecord = (c: Cursor): ConsumedRecord | undefined => {
    const chunk = this.#headChunk(c);
    if (chunk === undefined) return undefined;
    const batch = chunk.batch as BatchRecords;
    const record = new ConsumedRecord(c.topic, c.partition, batch, chunk.next++);
    this.#ctx.stats.recordsReceived++;
    if (chunk.next >= batch.count) this.#dropChunk(c);
    return record;
  };

  /** What remains of a partition's first buffered batch. */
  readonly #takeBatch = (c: Cursor): ConsumedBatch | undefined => {
    const chunk = this.#headChunk(c);
    if (chunk === undefined) return undefined;
    const batch = chunk.batch as BatchRecords;
    const records = new Array<ConsumedRecord>(batch.count - chunk.next);
    for (let i = 0; i < records.length; i++) records[i] = new ConsumedRecord(c.topic, c.partition, batch, chunk.next + i);
    chunk.next = batch.count;
    this.#ctx.stats.recordsReceived += records.length;
    this.#dropChunk(c);
    return result({ topic: c.topic, partition: c.partition, records, highWatermark: chunk.highWatermark });
  };

  #dropChunk(c: Cursor): void {
    this.#yieldDue = true;
    const chunk = c.chunks.shift() as Chunk;
    if (c.reading === chunk) c.position = c.position;
    c.bufferedBytes -= chunk.bytes.byteLength;
    this.#buffered -= chunk.bytes.byteLength;
    this.#changed(false);
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
          this.#clear(c);
          c.fetchOffset = c.position ?? c.fetchOffset;
          c.error = new PolywireError(failure.code, `${c.topic}/${c.partition} at offset ${c.fetchOffset}: ${failure.message}`, { cause: failure });
          this.#ctx.stats.error(failure.code);
          this.#changed(false);
          return undefined;
        }
      }
      if (chunk.next < chunk.batch.count) return chunk;
      this.#dropChunk(c);
    }
    return undefined;
  }

  // ---- fetching

  #ensureLoops(): void {
    if (this.#closed) return;
    for (const c of this.#order) {
      if (c.error !== undefined) continue;
      const link = this.#ctx.leaderNow(c.topic, c.partition);
      if (link === undefined) {
        this.#lookup(c);
        continue;
      }
      if (!this.#loops.has(link)) {
        const loop = this.#fetchLoop(link).catch((error: unknown) => this.#fail(PolywireError.from(error))).finally(() => {
          this.#loops.delete(link);
          this.#ensureLoops();
        });
        this.#loops.set(link, loop);
      }
    }
  }

  #lookup(c: Cursor): void {
    if (this.#lookups.has(c.key)) return;
    this.#lookups.add(c.key);
    const epoch = c.epoch;
    this.#ctx.leader(c.topic, c.partition, this.#stop.signal).then(
      () => undefined,
      (error: unknown) => {
        if (this.#closed || c.epoch !== epoch || this.#cursors.get(c.key) !== c) return;
        c.error = PolywireError.from(error);
        c.errorThrown = false;
      },
    ).finally(() => {
      this.#lookups.delete(c.key);
      this.#changed(false);
    });
  }

  /** Cursors led by `link` that may be fetched now. */
  #eligible(link: Link): { led: boolean; ready: Cursor[] } {
    let led = false;
    const ready: Cursor[] = [];
    for (const c of this.#order) {
      if (c.error !== undefined || this.#ctx.leaderNow(c.topic, c.partition) !== link) continue;
      led = true;
      if (c.paused || c.reset !== undefined || c.position === undefined) continue;
      if (c.bufferedBytes >= this.#partitionMaxBytes) continue;
      ready.push(c);
    }
    return { led, ready };
  }

  async #fetchLoop(link: Link): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      const starting = this.#order.filter((c) => c.reset !== undefined && c.error === undefined && this.#ctx.leaderNow(c.topic, c.partition) === link);
      if (starting.length > 0) {
        await Promise.all(starting.map((c) => this.#resolveStart(c)));
        this.#wake();
        continue;
      }
      const { led, ready } = this.#eligible(link);
      if (!led) return;
      const room = this.#maxBuffered - this.#buffered;
      if (ready.length === 0 || room <= 0) {
        await this.#wait(this.#stop.signal).catch(() => undefined);
        continue;
      }
      const interrupt = new AbortController();
      this.#interrupts.add(interrupt);
      const signal = anySignal(this.#stop.signal, interrupt.signal);
      const epochs = ready.map((c) => c.epoch);
      try {
        const connection = await link.acquire(signal);
        const { message, payload } = await this.#ctx.call(connection, FrameKind.FETCH_REQUEST, {
          partitions: ready.map((c) => ({ topic: c.topic, partition: c.partition, offset: c.fetchOffset, maxBytes: this.#partitionMaxBytes })),
          maxWaitMs: this.#maxWaitMs,
          minBytes: this.#minBytes,
          maxBytes: Math.max(1, Math.min(this.#maxBytes, room)),
        }, undefined, { ...(signal === undefined ? {} : { signal }), timeoutMs: this.#maxWaitMs + this.#requestTimeoutMs });
        attempt = 0;
        this.#absorb(ready, epochs, message, payload, connection.maxFrameSize);
      } catch (error) {
        if (this.#closed) return;
        if (interrupt.signal.aborted) continue;
        const failure = PolywireError.from(error);
        // A lost or draining connection is the link's to recover, for as long
        // as the client is open (its `reconnect` policy): the fetch waits for
        // it in acquire() instead of spending the retry budget.
        const linkDown = failure.retriable && (failure.code === "CONNECTION_LOST" || failure.code === "SHUTTING_DOWN");
        if (!linkDown) attempt++;
        if (!linkDown && !this.#retry.shouldRetry(failure, attempt)) {
          // Surface it through the iterator for these partitions; a seek lets them go on.
          for (const c of ready) if (c.error === undefined) c.error = failure;
          attempt = 0;
          this.#wake();
          continue;
        }
        this.#ctx.stats.retries++;
        try {
          await sleep(this.#retry.delay(Math.max(1, attempt), failure), this.#stop.signal);
        } catch {
          return;
        }
      } finally {
        this.#interrupts.delete(interrupt);
      }
    }
  }

  /**
   * Resolves a pending start position with ListOffsets (retried by the
   * policy); a failure stops the partition and surfaces from the iterator.
   */
  async #resolveStart(c: Cursor): Promise<void> {
    const epoch = c.epoch;
    const options = { signal: this.#stop.signal };
    try {
      let [found] = await this.#ctx.listOffsets([{ topic: c.topic, partition: c.partition, query: c.reset as OffsetQuery }], options);
      // A time no record is that recent for starts at the high watermark.
      if (found !== undefined && found.offset < 0n) [found] = await this.#ctx.listOffsets([{ topic: c.topic, partition: c.partition, query: "latest" }], options);
      if (c.epoch !== epoch || found === undefined) return;
      c.position = found.offset;
      c.fetchOffset = found.offset;
      c.reset = undefined;
    } catch (error) {
      if (this.#closed || c.epoch !== epoch) return;
      c.error = PolywireError.from(error);
      c.errorThrown = false;
    }
  }

  #absorb(cursors: readonly Cursor[], epochs: readonly number[], message: FetchResponse, payload: Uint8Array, maxFrameSize: number): void {
    let pos = 0;
    const total = message.partitions.reduce((sum, r) => sum + r.recordsSize, 0);
    if (total !== payload.byteLength || message.partitions.length !== cursors.length) {
      throw new PolywireError("MALFORMED_FRAME", `a FetchResponse's partition sections (${total} bytes, ${message.partitions.length} results) do not match its payload (${payload.byteLength} bytes, ${cursors.length} partitions asked) (PW-LOG-010)`);
    }
    for (let i = 0; i < cursors.length; i++) {
      const c = cursors[i] as Cursor;
      const result = message.partitions[i] as FetchResponse["partitions"][number];
      const section = payload.subarray(pos, pos + result.recordsSize);
      pos += result.recordsSize;
      // Stale: the partition moved (seek) or was unassigned while the fetch was out.
      if (c.epoch !== epochs[i] || this.#cursors.get(c.key) !== c) continue;
      if (result.errorCode !== ErrorCode.UNSPECIFIED) {
        this.#partitionError(c, result.errorCode, maxFrameSize);
        continue;
      }
      c.highWatermark = result.highWatermark;
      if (section.byteLength === 0) continue;
      this.#ctx.stats.bytesReceived += section.byteLength;
      try {
        for (const bytes of splitBatches(section)) {
          const header = readBatchHeader(bytes);
          const last = header.baseOffset + BigInt(header.recordCount) - 1n;
          if (last < c.fetchOffset) continue;
          c.chunks.push({ bytes, highWatermark: result.highWatermark, batch: undefined, next: 0 });
          c.bufferedBytes += bytes.byteLength;
          this.#buffered += bytes.byteLength;
          c.fetchOffset = last + 1n;
        }
      } catch (error) {
        const failure = PolywireError.from(error, "CORRUPT_BATCH");
        this.#ctx.stats.error(failure.code);
        c.error = new PolywireError(failure.code, `${c.topic}/${c.partition} at offset ${c.fetchOffset}: ${failure.message}`, { cause: failure });
      }
    }
    this.#wake();
  }

  #partitionError(c: Cursor, wire: number, maxFrameSize: number): void {
    const code = errorCodeName(wire);
    this.#ctx.stats.error(code);
    if (code === "OFFSET_OUT_OF_RANGE" && this.#reset !== "none") {
      // PW-LOG-015: reset per autoOffsetReset and go on.
      this.#move(c, this.#reset);
      return;
    }
    if (code === "UNKNOWN_TOPIC" || code === "UNKNOWN_PARTITION") this.#ctx.metadata.invalidate(c.topic);
    // PW-LOG-018: the next batch does not fit in any frame this client accepts.
    const why = code === "BATCH_TOO_LARGE"
      ? `: the next batch is larger than a frame this client accepts, its maxFrameSize of ${maxFrameSize} bytes (PW-LOG-018); raise it with connect(urls, { maxFrameSize }) or polywire consume --max-frame-size`
      : "";
    c.error = new PolywireError(code, `fetching ${c.topic}/${c.partition} at offset ${c.fetchOffset}: ${code}${why}`, { wireCode: wire, ...(code === "BATCH_TOO_LARGE" ? { limit: maxFrameSize } : {}) });
    c.errorThrown = false;
  }
}
