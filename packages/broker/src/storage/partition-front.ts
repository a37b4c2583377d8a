import { BATCH_HEADER_SIZE, setBaseOffset } from "@polywire/wasm-codec";
import type { TopicSettings } from "./config.js";
import { StorageError } from "./errors.js";
import type { PartitionEngine } from "./partition-engine.js";
import type { ActivityNote, EpochLookup, ProducerStateTable } from "./producer-state.js";
import type { AppendHeader, AppendOptions, AppendResult, PartitionLog, PartitionStats, ReadResult, TimestampOffset } from "./storage.js";

/** A bigint offset as the engines' numbers (offsets stay below 2^53; -1 and below are all "before the log"). */
function toOffset(offset: bigint): number {
  return offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : offset < -1n ? -1 : Number(offset);
}

/**
 * One partition as protocol code sees it: the {@link PartitionLog} contract
 * over any engine. The front holds the rules every engine shares, in one
 * place: the partition's state (deleted, closed, fenced by a failure), the
 * whole-batch and `max.message.bytes` checks (PW-ADMIN-021), the
 * idempotence checks and the answer to a duplicate (PW-IDEM-001..005,
 * PW-IDEM-011), offset assignment (PW-LOG-002, PW-LOG-007) and the read
 * bounds (PW-LOG-012, PW-LOG-015). The engine below only places and serves
 * bytes. The catalog uses the extra methods; protocol code only the
 * contract's.
 */
export class PartitionFront implements PartitionLog {
  readonly #engine: PartitionEngine;
  #settings: TopicSettings;
  readonly #epochs: EpochLookup;
  readonly #touch: ActivityNote;
  #state: "open" | "closed" | "deleted" = "open";

  /**
   * @param epochs the epoch each producer id holds (the producer registry)
   * @param touch where an accepted idempotent batch is noted as activity (PW-IDEM-011)
   */
  constructor(engine: PartitionEngine, settings: TopicSettings, epochs: EpochLookup, touch: ActivityNote) {
    this.#engine = engine;
    this.#settings = settings;
    this.#epochs = epochs;
    this.#touch = touch;
    // A snapshot or the log may still name ids the registry forgot
    // (PW-IDEM-011); their state must not come back.
    engine.producers.retainKnown((id) => epochs(id) !== undefined);
  }

  get topic(): string {
    return this.#engine.topic;
  }

  get partition(): number {
    return this.#engine.partition;
  }

  /** The idempotent-producer state, for inspection (tests of PW-IDEM-011); only the engine changes it. */
  get producers(): ProducerStateTable {
    return this.#engine.producers;
  }

  /** Why the partition answers nothing now: deleted or closed. */
  #stopped(): StorageError | null {
    if (this.#state === "deleted") return new StorageError("UNKNOWN_TOPIC", `topic ${this.topic} was deleted`);
    if (this.#state === "closed") return new StorageError("SHUTTING_DOWN", "storage is closed");
    return null;
  }

  /** Why the partition takes no append now: stopped, or fenced by an I/O failure. */
  #unavailable(): StorageError | null {
    return this.#stopped() ?? this.#engine.failure;
  }

  append(batch: Uint8Array, header: AppendHeader, options?: AppendOptions): Promise<AppendResult> {
    if (this.#state !== "open" || this.#engine.failure !== null) return Promise.reject(this.#unavailable());
    const limit = this.#settings.maxMessageBytes;
    if (batch.byteLength > limit) {
      return Promise.reject(new StorageError("BATCH_TOO_LARGE", `batch of ${batch.byteLength} bytes exceeds max.message.bytes ${limit} of topic ${this.topic}`, { limit }));
    }
    if (batch.byteLength < BATCH_HEADER_SIZE || !Number.isInteger(header.recordCount) || header.recordCount < 1) {
      return Promise.reject(new StorageError("INVALID_ARGUMENT", "append needs a whole validated batch with at least one record"));
    }
    const now = Date.now();
    const synced = options?.durability === "synced";
    if (header.producerId >= 0n) {
      let duplicateOf: number | null;
      try {
        duplicateOf = this.#engine.producers.check(header, this.#epochs).duplicateOf;
      } catch (error) {
        return Promise.reject(error);
      }
      this.#touch(header.producerId, now);
      if (duplicateOf !== null) return this.#answerDuplicate(duplicateOf, now, synced);
    }
    const baseOffset = this.#engine.nextOffset;
    setBaseOffset(batch, BigInt(baseOffset));
    return this.#engine.place(batch, header, baseOffset, now, synced);
  }

  /**
   * A retry inside the window (PW-IDEM-003) is answered as its original
   * would be: once the original is readable (PW-LOG-005), and durable when
   * the retry asks for it or the topic's policy is `always` (PW-LOG-006,
   * PW-ADMIN-022). The original may still be in flight.
   */
  async #answerDuplicate(baseOffset: number, now: number, synced: boolean): Promise<AppendResult> {
    if (this.#engine.highWatermark() <= baseOffset && !(await this.#engine.waitFor(baseOffset))) {
      throw this.#unavailable() ?? new StorageError("STORAGE", `partition ${this.topic}/${this.partition} stopped`);
    }
    if (synced || this.#settings.fsyncPolicy === "always") await this.#engine.sync();
    return { baseOffset: BigInt(baseOffset), appendTimeMs: now, logStartOffset: BigInt(this.#engine.logStart()), duplicate: true };
  }

  read(offset: bigint, maxBytes: number): Promise<ReadResult> {
    // A partition fenced by a write failure still serves what it stored.
    const stopped = this.#stopped();
    if (stopped !== null) return Promise.reject(stopped);
    // Taken in the same synchronous step as the engine's read, so the bytes
    // served never pass the high watermark reported with them (PW-LOG-012,
    // PW-LOG-016).
    const hw = this.#engine.highWatermark();
    const logStart = this.#engine.logStart();
    const highWatermark = BigInt(hw);
    const logStartOffset = BigInt(logStart);
    if (offset < logStartOffset || offset > highWatermark) {
      return Promise.reject(new StorageError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside [${logStart}, ${hw}] of ${this.topic}/${this.partition}`));
    }
    if (offset === highWatermark) return Promise.resolve({ chunks: [], size: 0, highWatermark, logStartOffset });
    return this.#engine.read(Number(offset), maxBytes).then(({ chunks, size }) => ({ chunks, size, highWatermark, logStartOffset }));
  }

  logStartOffset(): bigint {
    return BigInt(this.#engine.logStart());
  }

  highWatermark(): bigint {
    return BigInt(this.#engine.highWatermark());
  }

  offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    const stopped = this.#stopped();
    if (stopped !== null) return Promise.reject(stopped);
    return this.#engine.offsetForTimestamp(timestampMs);
  }

  waitForData(offset: bigint, signal?: AbortSignal): Promise<boolean> {
    if (this.#unavailable() !== null) return Promise.resolve(false);
    if (BigInt(this.#engine.highWatermark()) > offset) return Promise.resolve(true);
    return this.#engine.waitFor(toOffset(offset), signal);
  }

  sync(): Promise<void> {
    const unavailable = this.#unavailable();
    if (unavailable !== null) return Promise.reject(unavailable);
    return this.#engine.sync();
  }

  stats(): PartitionStats {
    return this.#engine.stats();
  }

  /** Applies changed topic config from now on. */
  configure(settings: TopicSettings): void {
    this.#settings = settings;
    this.#engine.configure(settings);
  }

  /** Deletes segments that retention no longer keeps (PW-LOG-033). */
  applyRetention(nowMs: number): Promise<void> {
    if (this.#unavailable() !== null) return Promise.resolve();
    return this.#engine.applyRetention(nowMs);
  }

  /** Drops idempotent-producer state of ids `known` no longer names (PW-IDEM-011). */
  forgetProducers(known: (producerId: bigint) => boolean): void {
    this.#engine.producers.retainKnown(known);
  }

  /** Flushes, fsyncs and releases files; the handle then answers SHUTTING_DOWN. */
  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closed";
    await this.#engine.close();
  }

  /** Stops the partition for topic deletion; the handle then answers UNKNOWN_TOPIC. Files are removed by the caller. */
  async destroy(): Promise<void> {
    if (this.#state === "deleted") return;
    this.#state = "deleted";
    await this.#engine.destroy();
  }
}
