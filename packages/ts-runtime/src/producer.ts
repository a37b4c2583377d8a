import { create, toBinary } from "@bufbuild/protobuf";
import { Acks as WireAcks, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { BATCH_HEADER_SIZE, COMPRESSIONS, encodeBatch, frameSize, type Compression, type EncodeBatchOptions } from "@polywire/wasm-codec";
import type { ClientContext } from "./client.js";
import { PolywireError, errorCodeName } from "@polywire/core";
import { Fifo } from "./fifo.js";
import { KNOWN_PARTITIONERS, Partitioner } from "./partitioner.js";
import type { TopicInfo } from "./metadata.js";
import { prepareRecord, type PreparedRecord, type ProducerRecord } from "./record.js";
import { result, type Jsonified } from "./json.js";
import { recordTooLarge, type BatchLimits } from "./record-limits.js";
import { ReportStream, StoredRecord, type DeliveryReport, type ReportHold } from "./reports.js";
import { RetryPolicy, type RetryOptions } from "./retry.js";
import { abortError, callSignal, raceSignal, type CallOptions } from "./signal.js";

/**
 * How much durability a send waits for: "none" (fire and forget, the
 * broker does not answer, PW-LOG-004), "leader" (appended and visible,
 * PW-LOG-005), "all" (durable: fsynced on a single node, PW-LOG-006).
 */
export type Acks = "none" | "leader" | "all";

/** Options of `client.producer()`. Every field is optional. */
export interface ProducerOptions {
  /** Durability to wait for. Default "all", as Kafka 3.x producers. */
  acks?: Acks;
  /**
   * Idempotent produce (§7.5): sequence numbers per partition, so that
   * retries never store a record twice. Default true, except with acks
   * "none" (no answer to retry on), where it is off; asking for it
   * explicitly with acks "none" is INVALID_ARGUMENT. When the broker does
   * not grant FEATURE_IDEMPOTENCE the default falls back to plain produce,
   * an explicit true fails the sends with FEATURE_NOT_NEGOTIATED.
   */
  idempotent?: boolean;
  /** A partition's batch is sent once its records reach this many bytes. Default 65 536 (64 KiB). */
  batchBytes?: number;
  /**
   * How long a batch waits for more records before it is sent, in ms.
   * Default 5: a few ms of latency buys much larger batches (Kafka 4.0's
   * default too); 0 sends at the end of the current event-loop turn.
   */
  lingerMs?: number;
  /** Batch compression codec (PW-COMP-001..004). Default "none". */
  compression?: Compression;
  /** Codec level; default the codec's own. */
  compressionLevel?: number;
  /** Records sections smaller than this are sent uncompressed (PW-COMP-007). Default 1024. */
  minCompressSize?: number;
  /**
   * The largest record batch the producer sends, in bytes as encoded
   * uncompressed; a record that does not fit alone fails with
   * RECORD_TOO_LARGE before anything is sent. The broker's
   * `max_batch_size` caps it too. Default 1 048 588, the topic default of
   * `max.message.bytes`.
   */
  maxMessageBytes?: number;
  /**
   * Bytes of records accepted but not yet acknowledged (and, while
   * `reports()` loops run, not yet reported). At the limit `send` waits
   * for room instead of buffering more. Default 33 554 432 (32 MiB).
   */
  maxBufferedBytes?: number;
  /**
   * Produce requests in flight per partition. Default 5; an idempotent
   * producer never exceeds the broker's `idempotence_window` (PW-IDEM-007).
   */
  maxInFlightPerPartition?: number;
  /** How long the broker may take to reach the durability asked for (ProduceRequest.timeout_ms), in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Retry policy for failed batches; default the client's. */
  retry?: RetryOptions;
  /** Called once per record with its outcome, in addition to `send`'s promise. */
  onDelivery?: (report: DeliveryReport) => void;
}

/** Where an acknowledged record was stored. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset; -1n with acks "none". */
  readonly offset: bigint;
  /** The record's timestamp, Unix ms. */
  readonly timestamp: number;
  /** `{ topic, partition, offset, timestamp }` with the offset as a decimal string, so that `JSON.stringify` works. */
  toJSON(): Jsonified<RecordMetadata>;
}

/** Queued behind the records of earlier sends; when reached, seals every open batch for `flush`. */
interface FlushMarker {
  readonly kind: "marker";
  /** Receives the ordinal every batch holding an earlier record is below. */
  reached(ordinalLimit: number): void;
}

/** The records of one `sendBatch`, checked together before the first is accepted. */
interface Group {
  readonly kind: "group";
  readonly pendings: Pending[];
  checked: boolean;
  next: number;
}

interface Pending {
  readonly kind: "record";
  readonly input: ProducerRecord;
  readonly record: PreparedRecord;
  partition: number;
  /** Counted in the buffer. */
  accepted: boolean;
  settled: boolean;
  resolve(meta: RecordMetadata): void;
  reject(error: PolywireError): void;
  readonly promise: Promise<RecordMetadata>;
}

const PRODUCE_REQUEST_FIXED = 32; // a ProduceRequest's bytes besides the topic name, at most
const SEQUENCE_MODULO = 2 ** 31;
const MAX_EPOCH = 32_767;
const noop = (): void => {};
const encoder = new TextEncoder();

/** A batch of one partition. Its bytes, once encoded, are resent unchanged on retries (PW-IDEM-007). */
class Batch {
  readonly records: Pending[] = [];
  bytes = BATCH_HEADER_SIZE;
  encoded: Uint8Array | undefined;
  baseSequence = -1;
  attempts = 0;
  /** Sent in the current producer epoch and not yet resolved. */
  sent = false;
  lastError: PolywireError | undefined;
  readonly done: Promise<void>;
  #finish!: () => void;

  constructor(
    /** Position among the partition's batches; splits get fractions in between. */
    readonly ordinal: number,
    readonly width = 1,
  ) {
    this.done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  finish(): void {
    this.#finish();
  }

  /** Known not to be stored: encode again with a new sequence when next sent. */
  fresh(): void {
    this.encoded = undefined;
    this.baseSequence = -1;
    this.sent = false;
  }
}

class PartitionState {
  open: Batch | undefined;
  linger: ReturnType<typeof setTimeout> | undefined;
  /** Sealed batches waiting to be sent, in ordinal order. */
  queue: Batch[] = [];
  readonly inFlight = new Set<Batch>();
  /** Batches to send again once nothing is in flight. */
  retries: Batch[] = [];
  recovering = false;
  backoff: ReturnType<typeof setTimeout> | undefined;
  nextSequence = 0;
  /** Batches after this ordinal were sent after one the broker rejected: none of them is stored. */
  gapOrdinal: number | undefined;
  /** The encoded ProduceRequest of an acks "none" producer, the same for every batch. */
  requestBytes: Uint8Array | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    public count: number,
  ) {}

  *batches(): Iterable<Batch> {
    if (this.open !== undefined) yield this.open;
    yield* this.queue;
    yield* this.retries;
    yield* this.inFlight;
  }
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new PolywireError("INVALID_ARGUMENT", `${name} must be an integer of at least ${min}, got ${String(value)}`);
  return value;
}

const deferred: (fn: () => void) => ReturnType<typeof setTimeout> = typeof setImmediate === "function"
  ? (fn) => setImmediate(fn) as unknown as ReturnType<typeof setTimeout>
  : (fn) => setTimeout(fn, 0);

/**
 * Appends records to topics. Records are batched per partition (by size,
 * `batchBytes`, and time, `lingerMs`), optionally compressed, and sent
 * with idempotent sequence numbers by default, so retries after lost
 * connections or broker restarts never store a record twice (§7.5).
 * Records of one partition are stored in the order `send` was called.
 *
 * `send` resolves once the record is acknowledged; don't await each send
 * in turn (that waits out the linger per record): keep the promises, use
 * `sendBatch`, `onDelivery` or `reports()`, and `flush()`.
 *
 * ```ts
 * const producer = client.producer({ compression: "zstd" });
 * for (const order of orders) void producer.send(Record.json("orders", order, { key: order.customer }));
 * await producer.flush();
 * ```
 */
export class Producer implements AsyncDisposable {
  readonly #ctx: ClientContext;
  readonly #untrack: () => void;
  readonly #acks: Acks;
  readonly #wireAcks: WireAcks;
  #idempotent: boolean;
  readonly #explicitIdempotence: boolean;
  readonly #batchBytes: number;
  readonly #lingerMs: number;
  readonly #encodeOptions: EncodeBatchOptions;
  readonly #maxMessageBytes: number;
  readonly #maxBuffered: number;
  readonly #maxInFlight: number;
  readonly #requestTimeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #onDelivery: ((report: DeliveryReport) => void) | undefined;
  readonly #partitioner = new Partitioner();
  readonly #partitions = new Map<string, PartitionState[]>();
  readonly #topicLimits = new Map<string, number>();
  readonly #topicBytes = new Map<string, number>();
  readonly #intake = new Fifo<Pending | Group | FlushMarker>();
  readonly #streams = new Set<ReportStream>();
  readonly #stop = new AbortController();
  #pumping = false;
  #spaceWaiters: Array<() => void> = [];
  #buffered = 0;
  #ordinal = 0;
  #identity: { producerId: bigint; producerEpoch: number } | undefined;
  #identityPending = false;
  #resetting = false;
  #resetNewId = false;
  #resetRunning = false;
  #failure: PolywireError | undefined;
  #closing: Promise<void> | undefined;

  /** @internal Use `client.producer(options)`. */
  constructor(context: ClientContext, options: ProducerOptions = {}) {
    const acks = options.acks ?? "all";
    if (acks !== "none" && acks !== "leader" && acks !== "all") {
      throw new PolywireError("INVALID_ARGUMENT", `acks must be "none", "leader" or "all", got ${JSON.stringify(acks)}`);
    }
    if (options.idempotent === true && acks === "none") {
      throw new PolywireError("INVALID_ARGUMENT", "an idempotent producer needs acks \"leader\" or \"all\": with acks \"none\" there is no answer to retry on");
    }
    const compression = options.compression ?? "none";
    if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
      throw new PolywireError("INVALID_ARGUMENT", `compression must be one of ${COMPRESSIONS.join(", ")}, got ${JSON.stringify(compression)}`);
    }
    this.#ctx = context;
    this.#acks = acks;
    this.#wireAcks = acks === "none" ? WireAcks.NONE : acks === "leader" ? WireAcks.LEADER : WireAcks.ALL;
    this.#idempotent = options.idempotent ?? acks !== "none";
    this.#explicitIdempotence = options.idempotent === true;
    this.#batchBytes = positiveInteger("batchBytes", options.batchBytes, 65_536);
    this.#lingerMs = positiveInteger("lingerMs", options.lingerMs, 5, 0);
    this.#maxMessageBytes = positiveInteger("maxMessageBytes", options.maxMessageBytes, 1_048_588, BATCH_HEADER_SIZE + 8);
    this.#maxBuffered = positiveInteger("maxBufferedBytes", options.maxBufferedBytes, 32 * 1024 * 1024);
    if (this.#maxBuffered < this.#maxMessageBytes && options.maxBufferedBytes !== undefined && options.maxMessageBytes !== undefined) {
      throw new PolywireError("INVALID_ARGUMENT", "maxBufferedBytes must be at least maxMessageBytes");
    }
    this.#maxInFlight = positiveInteger("maxInFlightPerPartition", options.maxInFlightPerPartition, 5);
    this.#requestTimeoutMs = positiveInteger("requestTimeoutMs", options.requestTimeoutMs, 30_000);
    this.#retry = options.retry === undefined ? context.retry : new RetryPolicy(options.retry);
    this.#onDelivery = options.onDelivery;
    this.#encodeOptions = {
      compression,
      ...(options.compressionLevel === undefined ? {} : { level: options.compressionLevel }),
      ...(options.minCompressSize === undefined ? {} : { minCompressSize: positiveInteger("minCompressSize", options.minCompressSize, 1024, 0) }),
    };
    this.#untrack = context.track({ close: (options) => this.close(options), fail: (error) => this.#fatal(error) });
  }

  /** True while sends use idempotent sequence numbers (false after falling back, see `idempotent`). */
  get idempotent(): boolean {
    return this.#idempotent;
  }

  /** Bytes of records accepted and not yet settled (see `maxBufferedBytes`). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Appends one record. Resolves with its partition and offset once the
   * broker acknowledged it as `acks` asks, or rejects with a
   * `PolywireError`: INVALID_ARGUMENT for a malformed record,
   * RECORD_TOO_LARGE for one that cannot fit in any batch the broker
   * accepts, UNKNOWN_TOPIC, UNKNOWN_PARTITION, or the failure that ended the
   * retries. `signal`/`timeoutMs` stop the wait: a record still waiting for
   * buffer room is withdrawn; one already batched may still be stored (its
   * delivery report tells).
   */
  send(record: ProducerRecord, options?: CallOptions): Promise<RecordMetadata> {
    let pending: Pending;
    let signal: AbortSignal | undefined;
    try {
      this.#ensureOpen();
      signal = callSignal(options);
      pending = this.#pending(record, prepareRecord(record, Date.now()));
    } catch (error) {
      return this.#rejected(error);
    }
    this.#intake.push(pending);
    this.#pump();
    return signal === undefined ? pending.promise : this.#bound(pending, signal);
  }

  /**
   * Appends several records, possibly to several topics, and resolves with
   * their metadata in the same order. Every record is checked first (shape,
   * topic, partition, size): if one is bad, the call rejects with an error
   * naming its index and none is sent. Afterwards it rejects with the first
   * failure, as `send` would. The records keep their place among other
   * sends: `sendBatch(a); send(b)` stores `a` before `b` in a partition.
   */
  sendBatch(records: readonly ProducerRecord[], options?: CallOptions): Promise<RecordMetadata[]> {
    let group: Group;
    let signal: AbortSignal | undefined;
    try {
      this.#ensureOpen();
      signal = callSignal(options);
      const now = Date.now();
      group = { kind: "group", checked: false, next: 0, pendings: records.map((r, i) => {
        try {
          return this.#pending(r, prepareRecord(r, now));
        } catch (error) {
          const failure = PolywireError.from(error);
          throw new PolywireError(failure.code, `record ${i}: ${failure.message}`, { cause: failure });
        }
      }) };
    } catch (error) {
      return this.#rejected(error);
    }
    if (group.pendings.length === 0) return Promise.resolve([]);
    this.#intake.push(group);
    this.#pump();
    const all = Promise.all(group.pendings.map((p) => signal === undefined ? p.promise : this.#bound(p, signal)));
    all.catch(noop);
    return all;
  }

  /**
   * The answer to a call refused before anything was queued (a closed
   * producer, a record that fails validation). Like every other failure it
   * is counted in the stats and must not crash the process when the caller
   * ignores the promise.
   */
  #rejected(error: unknown): Promise<never> {
    const failure = PolywireError.from(error);
    this.#ctx.stats.error(failure.code);
    const rejected = Promise.reject(failure);
    rejected.catch(noop);
    return rejected;
  }

  /** Checks every record of a group; on the first bad one, fails them all and returns false. */
  async #check(group: Group): Promise<boolean> {
    group.checked = true;
    const topics = new Map<string, TopicInfo>();
    for (let i = 0; i < group.pendings.length; i++) {
      const p = group.pendings[i] as Pending;
      try {
        let info = topics.get(p.record.topic) ?? this.#ctx.metadata.cached(p.record.topic);
        if (info === undefined || (p.record.partition !== undefined && p.record.partition >= info.partitions.length)) {
          info = await this.#ctx.metadata.lookup(p.record.topic, this.#stop.signal);
        }
        topics.set(p.record.topic, info);
        const partition = p.record.partition ?? 0;
        if (partition >= info.partitions.length) {
          throw new PolywireError("UNKNOWN_PARTITION", `topic ${JSON.stringify(p.record.topic)} has ${info.partitions.length} partitions; partition ${partition} does not exist (PW-PART-004)`);
        }
        if (p.record.key !== null && p.record.partition === undefined && !KNOWN_PARTITIONERS.has(info.partitioner)) {
          throw new PolywireError("INVALID_ARGUMENT", `topic ${JSON.stringify(info.name)} uses partitioner ${JSON.stringify(info.partitioner)}, which this client does not implement; name the partition explicitly (PW-COMPAT-008)`);
        }
        const limit = this.#recordLimit(p.record.topic, partition);
        if (p.record.aloneBatchSize > limit) throw this.#tooLarge(p.record, p.record.topic, partition);
      } catch (error) {
        const cause = PolywireError.from(error);
        const failure = new PolywireError(cause.code, `record ${i}: ${cause.message}`, { cause, ...(cause.limit === undefined ? {} : { limit: cause.limit }) });
        this.#ctx.stats.error(failure.code);
        for (const other of group.pendings) this.#settleFailure(other, failure);
        return false;
      }
    }
    return true;
  }

  /**
   * Sends every buffered record now and resolves once all records sent
   * before the call are settled (acknowledged or failed).
   */
  async flush(options?: CallOptions): Promise<void> {
    const signal = callSignal(options);
    const limit = await raceSignal(new Promise<number>((reached) => {
      this.#intake.push({ kind: "marker", reached });
      this.#pump();
    }), signal);
    // Batches split after a rejection get ordinals inside their original's, so they are waited for too.
    for (;;) {
      const done: Promise<void>[] = [];
      for (const states of this.#partitions.values()) {
        for (const ps of states) {
          if (ps === undefined) continue;
          for (const b of ps.batches()) if (b.ordinal < limit) done.push(b.done);
        }
      }
      if (done.length === 0) return;
      await raceSignal(Promise.all(done), signal);
    }
  }

  /**
   * Delivery reports as an async iterable, one per record settled after the
   * call, ending when the producer closes. While a loop runs, reports it has
   * not taken yet keep their records counted in `maxBufferedBytes`: a slow
   * loop slows `send` down rather than queueing without bound.
   */
  reports(options: CallOptions = {}): AsyncIterableIterator<DeliveryReport> {
    const stream = new ReportStream((s) => this.#streams.delete(s), callSignal(options));
    if (this.#closing !== undefined && this.#buffered === 0) stream.end();
    else this.#streams.add(stream);
    return stream;
  }

  /**
   * Flushes, then closes: later sends reject. With `signal`/`timeoutMs`, records
   * still unsettled when it fires fail with CANCELLED/TIMEOUT. Idempotent.
   */
  close(options?: CallOptions): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.flush(options);
      } catch (error) {
        this.#fatal(PolywireError.from(error, "CANCELLED"));
      }
      this.#shutdown();
    })();
    return this.#closing;
  }

  /** `await using` support: the same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #shutdown(): void {
    this.#stop.abort(new PolywireError("CANCELLED", "the producer is closed"));
    for (const states of this.#partitions.values()) {
      for (const ps of states) {
        if (ps === undefined) continue;
        if (ps.linger !== undefined) clearTimeout(ps.linger);
        if (ps.backoff !== undefined) clearTimeout(ps.backoff);
      }
    }
    for (const s of [...this.#streams]) s.end();
    this.#untrack();
  }

  #ensureOpen(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closing !== undefined || this.#ctx.closed) throw new PolywireError("CONNECTION_LOST", "the producer is closed", { retriable: false });
  }

  #pending(input: ProducerRecord, record: PreparedRecord): Pending {
    let resolve!: (meta: RecordMetadata) => void;
    let reject!: (error: PolywireError) => void;
    const promise = new Promise<RecordMetadata>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { kind: "record", input, record, partition: -1, accepted: false, settled: false, resolve, reject, promise };
  }

  #bound(pending: Pending, signal: AbortSignal): Promise<RecordMetadata> {
    const bounded = new Promise<RecordMetadata>((resolve, reject) => {
      const onAbort = (): void => {
        const error = abortError(signal);
        // Not batched yet: withdraw it. Batched: stop waiting; the report tells what happened.
        if (!pending.accepted && !pending.settled) this.#settleFailure(pending, error);
        reject(error);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      pending.promise.then(
        (meta) => {
          signal.removeEventListener("abort", onAbort);
          resolve(meta);
        },
        (error: PolywireError) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
    bounded.catch(noop);
    return bounded;
  }

  // ---- intake: metadata, partitioning, limits, buffer room

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#runIntake().finally(() => {
      this.#pumping = false;
      if (this.#intake.length > 0) this.#pump();
    });
  }

  #sealAll(): number {
    for (const states of this.#partitions.values()) {
      for (const ps of states) if (ps !== undefined && ps.open !== undefined) this.#seal(ps);
    }
    return this.#ordinal;
  }

  // Takes the intake's head record off the queue (or off its group).
  #advance(): void {
    const head = this.#intake.peek();
    if (head?.kind === "group" && ++head.next < head.pendings.length) return;
    this.#intake.shift();
  }

  async #runIntake(): Promise<void> {
    // Topic metadata and the batch limit of the last partition, looked up in
    // this synchronous stretch; dropped at every await, where they may change.
    let seen = new Map<string, TopicInfo>();
    let limitTopic: string | undefined;
    let limitPartition = -1;
    let lastLimit = 0;
    for (let head = this.#intake.peek(); head !== undefined; head = this.#intake.peek()) {
      if (head.kind === "marker") {
        this.#intake.shift();
        head.reached(this.#sealAll());
        continue;
      }
      if (head.kind === "group" && !head.checked) {
        seen = new Map();
        limitTopic = undefined;
        if (!(await this.#check(head))) {
          this.#intake.shift();
          continue;
        }
      }
      const p = head.kind === "group" ? head.pendings[head.next] as Pending : head;
      if (p.settled) {
        this.#advance();
        continue;
      }
      if (this.#failure !== undefined) {
        this.#advance();
        this.#settleFailure(p, this.#failure);
        continue;
      }
      const { topic } = p.record;
      let info = seen.get(topic) ?? this.#ctx.metadata.cached(topic);
      let partition: number;
      let limit: number;
      try {
        if (info === undefined || (p.record.partition !== undefined && p.record.partition >= info.partitions.length)) {
          seen = new Map();
          limitTopic = undefined;
          info = await this.#ctx.metadata.lookup(topic, this.#stop.signal);
          if (p.settled) continue;
        }
        seen.set(topic, info);
        partition = this.#partitioner.choose(p.record, info);
        if (topic !== limitTopic || partition !== limitPartition) {
          lastLimit = this.#recordLimit(topic, partition);
          limitTopic = topic;
          limitPartition = partition;
        }
        limit = lastLimit;
        if (p.record.aloneBatchSize > limit) throw this.#tooLarge(p.record, topic, partition);
      } catch (error) {
        const failure = PolywireError.from(error);
        this.#advance();
        this.#ctx.stats.error(failure.code);
        this.#settleFailure(p, failure);
        continue;
      }
      if (this.#buffered > 0 && this.#buffered + p.record.size > this.#maxBuffered) {
        seen = new Map();
        limitTopic = undefined;
        await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
        continue;
      }
      this.#advance();
      p.partition = partition;
      p.accepted = true;
      this.#buffered += p.record.size;
      this.#append(p, info.partitions.length, limit);
    }
  }

  #tooLarge(record: PreparedRecord, topic: string, partition: number): PolywireError {
    return recordTooLarge(record.aloneBatchSize, this.#limits(topic, partition));
  }

  /** Every limit on a batch to a partition that the producer knows (for error messages). */
  #limits(topic: string, partition: number): BatchLimits {
    const connection = this.#ctx.leaderNow(topic, partition)?.connection;
    const topicLimit = this.#topicLimits.get(topic);
    const known = { topic, maxMessageBytes: this.#maxMessageBytes, ...(topicLimit === undefined ? {} : { topicLimit }) };
    if (connection === undefined) return known;
    const { maxBatchSize, maxFrameSize } = connection.limits;
    return { ...known, broker: { maxBatchSize, maxFrameSize, frameRoom: this.#frameRoom(topic, maxFrameSize) } };
  }

  // The frame holds the header, the ProduceRequest message and a possible checksum around the batch.
  #frameRoom(topic: string, maxFrameSize: number): number {
    let topicBytes = this.#topicBytes.get(topic);
    if (topicBytes === undefined) {
      topicBytes = encoder.encode(topic).byteLength;
      this.#topicBytes.set(topic, topicBytes);
    }
    return maxFrameSize - frameSize(PRODUCE_REQUEST_FIXED + topicBytes, 0, true);
  }

  /** The largest batch that may go to a partition: the smallest of {@link #limits}, without building them. */
  #recordLimit(topic: string, partition: number): number {
    let limit = this.#maxMessageBytes;
    const connection = this.#ctx.leaderNow(topic, partition)?.connection;
    if (connection !== undefined) {
      const l = connection.limits;
      limit = Math.min(limit, l.maxBatchSize, this.#frameRoom(topic, l.maxFrameSize));
    }
    const learned = this.#topicLimits.get(topic);
    return learned === undefined ? limit : Math.min(limit, learned);
  }

  #partition(topic: string, partition: number, count: number): PartitionState {
    let states = this.#partitions.get(topic);
    if (states === undefined) {
      states = [];
      this.#partitions.set(topic, states);
    }
    let ps = states[partition];
    if (ps === undefined) {
      ps = new PartitionState(topic, partition, count);
      states[partition] = ps;
    }
    ps.count = count;
    return ps;
  }

  #append(p: Pending, count: number, limit: number): void {
    const ps = this.#partition(p.record.topic, p.partition, count);
    let open = ps.open;
    if (open !== undefined && open.bytes + p.record.size > limit) {
      this.#seal(ps);
      open = undefined;
    }
    if (open === undefined) {
      open = new Batch(this.#ordinal++);
      ps.open = open;
      ps.linger = this.#lingerMs === 0 ? deferred(() => this.#lingered(ps)) : setTimeout(() => this.#lingered(ps), this.#lingerMs);
    }
    open.records.push(p);
    open.bytes += p.record.size;
    if (open.bytes >= Math.min(this.#batchBytes, limit)) this.#seal(ps);
  }

  #lingered(ps: PartitionState): void {
    ps.linger = undefined;
    if (ps.open !== undefined) this.#seal(ps);
  }

  #seal(ps: PartitionState): void {
    if (ps.linger !== undefined) {
      clearTimeout(ps.linger);
      ps.linger = undefined;
    }
    const open = ps.open;
    if (open === undefined) return;
    ps.open = undefined;
    ps.queue.push(open);
    this.#partitioner.sealed(ps.topic, ps.partition, ps.count);
    this.#drive(ps);
  }

  // ---- sending

  #inFlightLimit(ps: PartitionState): number {
    if (!this.#idempotent) return this.#maxInFlight;
    const window = this.#ctx.leaderNow(ps.topic, ps.partition)?.connection?.limits.idempotenceWindow ?? 5;
    return Math.min(this.#maxInFlight, window);
  }

  #drive(ps: PartitionState): void {
    if (this.#failure !== undefined || ps.recovering) return;
    if (this.#idempotent && this.#identity === undefined) {
      this.#initIdentity();
      return;
    }
    const max = this.#inFlightLimit(ps);
    while (ps.queue.length > 0 && ps.inFlight.size < max) {
      const batch = ps.queue[0] as Batch;
      // During a sequence reset only batches already sent in the old epoch go out.
      if (this.#idempotent && this.#resetting && !batch.sent) return;
      ps.queue.shift();
      this.#dispatch(ps, batch);
    }
  }

  #driveAll(): void {
    for (const states of this.#partitions.values()) for (const ps of states) if (ps !== undefined) this.#drive(ps);
  }

  #initIdentity(): void {
    if (this.#identityPending) return;
    this.#identityPending = true;
    this.#ctx.request(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n, producerEpoch: -1 }, { signal: this.#stop.signal }).then(
      ({ message }) => {
        if (message.errorCode !== ErrorCode.UNSPECIFIED) throw new PolywireError(errorCodeName(message.errorCode), "InitProducer failed", { wireCode: message.errorCode });
        this.#identity = { producerId: message.producerId, producerEpoch: message.producerEpoch };
      },
    ).catch((error: unknown) => {
      const failure = PolywireError.from(error);
      if (failure.code === "FEATURE_NOT_NEGOTIATED" && !this.#explicitIdempotence) {
        this.#idempotent = false;
        return;
      }
      this.#fatal(failure);
    }).finally(() => {
      this.#identityPending = false;
      this.#driveAll();
    });
  }

  #dispatch(ps: PartitionState, batch: Batch): void {
    if (batch.encoded === undefined) {
      const identity = this.#idempotent ? this.#identity : undefined;
      const baseSequence = identity === undefined ? -1 : ps.nextSequence;
      try {
        batch.encoded = encodeBatch(batch.records.map((p) => p.record), identity === undefined
          ? this.#encodeOptions
          : { ...this.#encodeOptions, producerId: identity.producerId, producerEpoch: identity.producerEpoch, baseSequence });
      } catch (error) {
        this.#reject(batch, PolywireError.from(error));
        return;
      }
      batch.baseSequence = baseSequence;
      if (identity !== undefined) ps.nextSequence = (ps.nextSequence + batch.records.length) % SEQUENCE_MODULO;
    }
    // Sent again after a failure: a retry, whether as the same bytes or renumbered (UNKNOWN_PRODUCER after a broker restart).
    if (batch.attempts > 0) this.#ctx.stats.retries++;
    batch.sent = true;
    batch.attempts++;
    ps.inFlight.add(batch);
    void this.#produce(ps, batch, batch.encoded);
  }

  #requestBytes(ps: PartitionState): Uint8Array {
    ps.requestBytes ??= toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { topic: ps.topic, partition: ps.partition, acks: this.#wireAcks, timeoutMs: this.#requestTimeoutMs }));
    return ps.requestBytes;
  }

  async #produce(ps: PartitionState, batch: Batch, bytes: Uint8Array): Promise<void> {
    try {
      const link = this.#ctx.leaderNow(ps.topic, ps.partition) ?? await this.#ctx.leader(ps.topic, ps.partition, this.#stop.signal);
      const connection = link.ready ?? await link.acquire(this.#stop.signal);
      if (this.#acks === "none") {
        await connection.request(FrameKind.PRODUCE_REQUEST, this.#requestBytes(ps), bytes, { expectResponse: false });
        // Nothing answers: hold the records in the buffer until the transport takes more, so a
        // peer that reads slowly slows `send` down instead of growing the socket's queue.
        await connection.writable();
        this.#acknowledged(ps, batch, -1n);
        return;
      }
      const { message } = await this.#ctx.call(connection, FrameKind.PRODUCE_REQUEST, {
        topic: ps.topic,
        partition: ps.partition,
        acks: this.#wireAcks,
        timeoutMs: this.#requestTimeoutMs,
      }, bytes, { timeoutMs: this.#requestTimeoutMs + 2_000 });
      if (message.errorCode !== ErrorCode.UNSPECIFIED) {
        throw new PolywireError(errorCodeName(message.errorCode), message.errorMessage || errorCodeName(message.errorCode), { wireCode: message.errorCode });
      }
      this.#acknowledged(ps, batch, message.baseOffset);
    } catch (error) {
      this.#failed(ps, batch, PolywireError.from(error));
    }
  }

  #acknowledged(ps: PartitionState, batch: Batch, baseOffset: bigint): void {
    ps.inFlight.delete(batch);
    batch.sent = false;
    const stats = this.#ctx.stats;
    stats.recordsSent += batch.records.length;
    stats.bytesSent += batch.encoded?.byteLength ?? 0;
    stats.batchesSent++;
    // The freed in-flight slot goes to the next batch before this one's
    // records are settled: the broker works on it meanwhile.
    this.#settled(ps);
    let offset = baseOffset;
    for (let i = 0; i < batch.records.length; i++) {
      const p = batch.records[i] as Pending;
      this.#settle(p, new StoredRecord(ps.topic, ps.partition, baseOffset < 0n ? -1n : offset++, p.record.timestamp));
    }
    batch.finish();
  }

  /**
   * A produce failed. Without idempotence it is never retried (PW-ERR-002).
   * With idempotence: retriable failures resend the same bytes
   * (PW-IDEM-007) once nothing else of the partition is in flight; a batch
   * the broker rejected leaves a sequence gap, so the batches sent after it
   * (known not stored) and everything queued are renumbered in a new epoch
   * (PW-IDEM-001) once every batch still in doubt is resolved.
   */
  #failed(ps: PartitionState, batch: Batch, error: PolywireError): void {
    ps.inFlight.delete(batch);
    batch.lastError = error;
    if (this.#failure !== undefined) {
      this.#reject(batch, this.#recordError(ps, batch, error));
      return;
    }
    const code = error.code;
    if (code === "UNKNOWN_TOPIC" || code === "UNKNOWN_PARTITION") this.#ctx.metadata.invalidate(ps.topic);
    if (code === "BATCH_TOO_LARGE" && error.limit !== undefined) this.#learnLimit(ps.topic, Number(error.limit));
    if (!this.#idempotent) {
      this.#reject(batch, this.#recordError(ps, batch, error));
    } else if (code === "PRODUCER_FENCED") {
      // Another producer took over this id (PW-IDEM-001): nothing more can be sent as it.
      this.#reject(batch, error);
      this.#fatal(error);
      return;
    } else if (ps.gapOrdinal !== undefined && batch.ordinal > ps.gapOrdinal) {
      this.#requeue(ps, batch, true);
    } else if (code === "OUT_OF_ORDER_SEQUENCE" && this.#unresolvedBefore(ps, batch) && batch.attempts < this.#retry.maxAttempts) {
      // A predecessor is still in doubt: once it is stored, these same bytes are next in sequence.
      this.#requeue(ps, batch, false);
    } else if (code === "OUT_OF_ORDER_SEQUENCE" || code === "UNKNOWN_PRODUCER") {
      // Not stored (PW-IDEM-004, PW-IDEM-005), but our sequence state no longer matches the broker's.
      this.#requeue(ps, batch, true);
      this.#startReset(code === "UNKNOWN_PRODUCER");
    } else if (this.#retry.shouldRetry(error, batch.attempts)) {
      this.#requeue(ps, batch, false);
    } else if (error.retriable) {
      // Retries are over and the batch may or may not be stored: report it failed, renumber what follows.
      this.#reject(batch, error);
      this.#startReset(false);
    } else if (code === "BATCH_TOO_LARGE" && batch.records.length > 1 && error.limit !== undefined) {
      // Too large for the topic's max.message.bytes (PW-ADMIN-021): split it and renumber.
      this.#markGap(ps, batch.ordinal);
      this.#split(ps, batch);
      this.#startReset(false);
    } else {
      // Rejected: nothing of it was stored (PW-LOG-001).
      this.#reject(batch, this.#recordError(ps, batch, error));
      this.#markGap(ps, batch.ordinal);
      this.#startReset(false);
    }
    this.#settled(ps);
  }

  #recordError(ps: PartitionState, batch: Batch, error: PolywireError): PolywireError {
    if (error.code !== "BATCH_TOO_LARGE" || batch.records.length !== 1) return error;
    const size = (batch.records[0] as Pending).record.aloneBatchSize;
    // #failed has learned the topic's limit from the answer, so the message can name it.
    if (size > this.#recordLimit(ps.topic, ps.partition)) return recordTooLarge(size, this.#limits(ps.topic, ps.partition), error);
    return new PolywireError("RECORD_TOO_LARGE", `a record of ${size} bytes (encoded as a batch of one) does not fit in a batch the broker accepts: ${error.message}`, { cause: error, ...(error.limit === undefined ? {} : { limit: error.limit }) });
  }

  #learnLimit(topic: string, limit: number): void {
    if (!(limit > BATCH_HEADER_SIZE)) return;
    const known = this.#topicLimits.get(topic);
    if (known === undefined || limit < known) this.#topicLimits.set(topic, limit);
  }

  /** True when a batch of the partition sent before `batch` is still in flight or waiting to be resent. */
  #unresolvedBefore(ps: PartitionState, batch: Batch): boolean {
    for (const b of ps.inFlight) if (b.ordinal < batch.ordinal) return true;
    return ps.retries.some((b) => b.sent && b.ordinal < batch.ordinal);
  }

  /** Puts `batch` aside to go again (as the same bytes, or renumbered when `fresh`) once nothing is in flight. */
  #requeue(ps: PartitionState, batch: Batch, fresh: boolean): void {
    if (fresh) batch.fresh();
    ps.retries.push(batch);
    ps.recovering = true;
  }

  #markGap(ps: PartitionState, ordinal: number): void {
    ps.gapOrdinal = ps.gapOrdinal === undefined ? ordinal : Math.min(ps.gapOrdinal, ordinal);
    const gap = ps.gapOrdinal;
    for (const b of ps.retries) if (b.sent && b.ordinal > gap) b.fresh();
  }

  #split(ps: PartitionState, batch: Batch): void {
    const limit = this.#recordLimit(ps.topic, ps.partition);
    const groups: Pending[][] = [[]];
    let bytes = BATCH_HEADER_SIZE;
    for (const p of batch.records) {
      const current = groups[groups.length - 1] as Pending[];
      if (current.length > 0 && bytes + p.record.size > limit) {
        groups.push([p]);
        bytes = BATCH_HEADER_SIZE + p.record.size;
      } else {
        current.push(p);
        bytes += p.record.size;
      }
    }
    if (groups.length === 1) {
      // The size bound says it fits, the broker says it does not: halve it.
      const all = groups[0] as Pending[];
      groups.splice(0, 1, all.slice(0, all.length >> 1), all.slice(all.length >> 1));
    }
    const width = batch.width / groups.length;
    groups.forEach((records, i) => {
      const part = new Batch(batch.ordinal + i * width, width);
      for (const p of records) {
        part.records.push(p);
        part.bytes += p.record.size;
      }
      ps.retries.push(part);
    });
    ps.recovering = true;
    // The old batch's records now belong to the parts; flush() waits on those.
    batch.finish();
  }

  #settled(ps: PartitionState): void {
    if (ps.recovering && ps.inFlight.size === 0 && ps.backoff === undefined) {
      const resent = ps.retries.filter((b) => b.sent);
      let delay = 0;
      for (const b of resent) delay = Math.max(delay, this.#retry.delay(b.attempts, b.lastError));
      ps.queue = [...ps.retries, ...ps.queue].sort((a, b) => a.ordinal - b.ordinal);
      ps.retries = [];
      if (delay > 0) {
        ps.backoff = setTimeout(() => {
          ps.backoff = undefined;
          ps.recovering = false;
          this.#drive(ps);
          this.#maybeReset();
        }, delay);
      } else {
        ps.recovering = false;
      }
    }
    this.#drive(ps);
    this.#maybeReset();
  }

  #startReset(newId: boolean): void {
    this.#resetting = true;
    this.#resetNewId ||= newId;
  }

  /** Starts a new epoch once no batch of the old one is in doubt anywhere; sequences restart at 0 (PW-IDEM-002). */
  #maybeReset(): void {
    if (!this.#resetting || this.#resetRunning || this.#failure !== undefined) return;
    for (const states of this.#partitions.values()) {
      for (const ps of states) {
        if (ps === undefined) continue;
        if (ps.inFlight.size > 0 || ps.queue.some((b) => b.sent) || ps.retries.some((b) => b.sent)) return;
      }
    }
    this.#resetRunning = true;
    const current = this.#identity;
    const init = (producerId: bigint, producerEpoch: number) => this.#ctx.request(FrameKind.INIT_PRODUCER_REQUEST, { producerId, producerEpoch }, { signal: this.#stop.signal });
    const bump = this.#resetNewId || current === undefined || current.producerEpoch >= MAX_EPOCH ? init(-1n, -1) : init(current.producerId, current.producerEpoch).catch((error: unknown) => {
      // PW-IDEM-008: the broker forgot the id; start over with a new one.
      if (PolywireError.from(error).code === "UNKNOWN_PRODUCER") return init(-1n, -1);
      throw error;
    });
    bump.then(({ message }) => {
      if (message.errorCode !== ErrorCode.UNSPECIFIED) throw new PolywireError(errorCodeName(message.errorCode), "InitProducer failed", { wireCode: message.errorCode });
      this.#identity = { producerId: message.producerId, producerEpoch: message.producerEpoch };
      for (const states of this.#partitions.values()) {
        for (const ps of states) {
          if (ps === undefined) continue;
          ps.nextSequence = 0;
          ps.gapOrdinal = undefined;
          for (const b of ps.queue) b.fresh();
        }
      }
      this.#resetting = false;
      this.#resetNewId = false;
    }).catch((error: unknown) => this.#fatal(PolywireError.from(error))).finally(() => {
      this.#resetRunning = false;
      this.#driveAll();
    });
  }

  // ---- outcomes

  #reject(batch: Batch, error: PolywireError): void {
    for (const p of batch.records) this.#settleFailure(p, error);
    batch.finish();
  }

  #settle(p: Pending, meta: RecordMetadata): void {
    if (p.settled) return;
    p.settled = true;
    p.resolve(meta);
    if (this.#onDelivery === undefined && this.#streams.size === 0) {
      this.#release(p);
      return;
    }
    this.#report(p, result({ record: p.input, topic: meta.topic, partition: meta.partition, offset: meta.offset, timestamp: meta.timestamp }, ["record"]));
  }

  #settleFailure(p: Pending, error: PolywireError): void {
    if (p.settled) return;
    p.settled = true;
    // Outcomes also reach onDelivery, reports() and the stats: an ignored
    // promise must not crash the process. Handled here, on the failure path
    // only, so that acknowledged records cost no extra promise.
    p.promise.catch(noop);
    p.reject(error);
    this.#report(p, result({ record: p.input, topic: p.record.topic, partition: p.partition, offset: -1n, timestamp: p.record.timestamp, error }, ["record"]));
    // A record withdrawn from the intake may be what the intake waits behind.
    if (!p.accepted) this.#wakeIntake();
  }

  #report(p: Pending, report: DeliveryReport): void {
    if (this.#onDelivery !== undefined) {
      try {
        this.#onDelivery(report);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (this.#streams.size === 0) {
      this.#release(p);
      return;
    }
    const hold: ReportHold = { remaining: this.#streams.size, release: () => this.#release(p) };
    for (const s of [...this.#streams]) s.push(report, hold);
  }

  #release(p: Pending): void {
    if (!p.accepted) return;
    p.accepted = false;
    this.#buffered -= p.record.size;
    this.#wakeIntake();
    if (this.#closing !== undefined && this.#buffered === 0) for (const s of this.#streams) s.end();
  }

  #wakeIntake(): void {
    if (this.#spaceWaiters.length === 0) return;
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of waiters) w();
  }

  /** Fails every record not yet settled and every later send with `error`. */
  #fatal(error: PolywireError): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    for (const entry of this.#intake.drain()) {
      if (entry.kind === "marker") entry.reached(this.#ordinal);
      else if (entry.kind === "group") for (const p of entry.pendings) this.#settleFailure(p, error);
      else this.#settleFailure(entry, error);
    }
    for (const states of this.#partitions.values()) {
      for (const ps of states) {
        if (ps === undefined) continue;
        if (ps.linger !== undefined) clearTimeout(ps.linger);
        if (ps.backoff !== undefined) clearTimeout(ps.backoff);
        ps.linger = undefined;
        ps.backoff = undefined;
        // Batches in flight settle with their own answer: they may be stored.
        for (const b of [...(ps.open === undefined ? [] : [ps.open]), ...ps.queue, ...ps.retries]) this.#reject(b, error);
        ps.open = undefined;
        ps.queue = [];
        ps.retries = [];
      }
    }
    this.#wakeIntake();
  }
}
