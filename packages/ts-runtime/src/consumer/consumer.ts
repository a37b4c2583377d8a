import type { ClientContext } from "../context.js";
import { PolywireError } from "@polywire/core";
import type { ConsumedRecord } from "../record.js";
import { callSignal, type CallOptions } from "../signal.js";
import { RecordBuffer } from "./buffer.js";
import { Cursor, Cursors, keyOf } from "./cursor.js";
import { Fetcher } from "./fetcher.js";
import {
  checkPartition, checkPosition, consumerSettings,
  type ConsumedBatch, type ConsumerOptions, type ConsumerSettings, type PartitionAssignment, type StartPosition, type TopicPartition,
} from "./options.js";
import { Waiters, type ConsumerScope } from "./scope.js";

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
  // The fetcher fills the cursors' buffers, the record buffer hands them
  // out; this class is the API over them and owns the consumer's life.
  readonly #untrack: () => void;
  readonly #settings: ConsumerSettings;
  readonly #cursors = new Cursors();
  readonly #waiters = new Waiters();
  readonly #stop = new AbortController();
  readonly #buffer: RecordBuffer;
  readonly #fetcher: Fetcher;
  #failure: PolywireError | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal Use `client.consumer(options)`. */
  constructor(context: ClientContext, options: ConsumerOptions = {}) {
    this.#settings = consumerSettings(options, context.retry);
    const consumer = this;
    const scope: ConsumerScope = {
      ctx: context,
      settings: this.#settings,
      cursors: this.#cursors,
      stop: this.#stop.signal,
      waiters: this.#waiters,
      get closed() {
        return consumer.#closed;
      },
      get failure() {
        return consumer.#failure;
      },
      changed: (refetch) => this.#changed(refetch),
      fail: (error) => this.#fail(error),
    };
    this.#buffer = new RecordBuffer(scope);
    this.#fetcher = new Fetcher(scope);
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
      const existing = this.#cursors.find(key);
      const cursor = existing ?? new Cursor(a.topic, a.partition, key);
      const from = a.from ?? (existing === undefined ? this.#defaultStart(a) : undefined);
      if (from !== undefined) this.#cursors.move(cursor, from);
      next.set(key, cursor);
    }
    this.#cursors.replace(next);
    this.#buffer.restart();
    this.#changed(true);
  }

  #defaultStart(tp: TopicPartition): StartPosition {
    const reset = this.#settings.reset;
    if (reset === "none") {
      throw new PolywireError("INVALID_ARGUMENT", `${tp.topic}/${tp.partition} has no start position: pass "from" or set autoOffsetReset`);
    }
    return reset;
  }

  /** The partitions assigned, in assignment order. */
  assignment(): TopicPartition[] {
    return this.#cursors.order.map((c) => ({ topic: c.topic, partition: c.partition }));
  }

  /**
   * Moves a partition's position: the next record handed out is the one at
   * `position`. Buffered records of the partition are dropped and a fetch in
   * progress is restarted. Clears an error that stopped the partition.
   */
  seek(tp: TopicPartition, position: StartPosition): void {
    this.#ensureOpen();
    checkPosition(position);
    this.#cursors.move(this.#cursors.get(tp), position);
    this.#changed(true);
  }

  /** Stops handing out and fetching records of these partitions; buffered ones are kept. */
  pause(partitions: readonly TopicPartition[]): void {
    const cursors = partitions.map((tp) => this.#cursors.get(tp));
    for (const c of cursors) c.paused = true;
    this.#changed(false);
  }

  /** Resumes paused partitions. */
  resume(partitions: readonly TopicPartition[]): void {
    const cursors = partitions.map((tp) => this.#cursors.get(tp));
    for (const c of cursors) c.paused = false;
    this.#changed(true);
  }

  /** The paused partitions. */
  paused(): TopicPartition[] {
    return this.#cursors.order.filter((c) => c.paused).map((c) => ({ topic: c.topic, partition: c.partition }));
  }

  /**
   * The offset of the next record the consumer will hand out for `tp`,
   * waiting for a start position to be resolved (ListOffsets) if needed.
   */
  async position(tp: TopicPartition, options: CallOptions = {}): Promise<bigint> {
    const cursor = this.#cursors.get(tp);
    const signal = callSignal(options);
    for (;;) {
      if (cursor.error !== undefined) throw cursor.error;
      if (cursor.reset === undefined && cursor.position !== undefined) return cursor.position;
      this.#ensureOpen();
      await this.#waiters.wait(signal);
    }
  }

  /** The partition's high watermark from the last fetch, or undefined before one answered. */
  highWatermark(tp: TopicPartition): bigint | undefined {
    const c = this.#cursors.get(tp);
    return c.highWatermark < 0n ? undefined : c.highWatermark;
  }

  /** Records between the position and the high watermark from the last fetch, or undefined when either is unknown. */
  lag(tp: TopicPartition): bigint | undefined {
    const c = this.#cursors.get(tp);
    if (c.highWatermark < 0n || c.position === undefined || c.reset !== undefined) return undefined;
    const lag = c.highWatermark - c.position;
    return lag > 0n ? lag : 0n;
  }

  /** Bytes of fetched batches not yet handed out (bounded by `maxBufferedBytes` plus one batch). */
  get bufferedBytes(): number {
    return this.#cursors.buffered;
  }

  /**
   * Records one by one, in offset order per partition; iterating the
   * consumer is the same. `signal` / `timeoutMs` end the iteration with
   * CANCELLED / TIMEOUT (`timeoutMs` bounds the whole iteration).
   */
  records(options: CallOptions = {}): AsyncIterableIterator<ConsumedRecord> {
    return this.#buffer.iterator(callSignal(options), this.#buffer.takeRecord);
  }

  /** Records a fetched batch at a time (what remains of it past the position); options as for {@link records}. */
  batches(options: CallOptions = {}): AsyncIterableIterator<ConsumedBatch> {
    return this.#buffer.iterator(callSignal(options), this.#buffer.takeBatch);
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    return this.records();
  }

  /**
   * Closes the consumer: fetching stops, iterators end, buffered records are
   * dropped. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#stop.abort(new PolywireError("CANCELLED", "the consumer is closed"));
      this.#waiters.wake();
      await this.#fetcher.stopped();
      for (const c of this.#cursors.order) this.#cursors.drop(c);
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

  /** Wakes waiters; with `refetch`, restarts long polls so they include the change. */
  #changed(refetch: boolean): void {
    if (refetch) this.#fetcher.interrupt();
    this.#waiters.wake();
    this.#fetcher.ensureLoops();
  }
}
