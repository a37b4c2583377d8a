import type { TopicSettings } from "./config.js";
import type { StorageError } from "./errors.js";
import type { ProducerStateTable } from "./producer-state.js";
import type { AppendHeader, AppendResult, PartitionStats, TimestampOffset } from "./storage.js";

/** Whole stored batches, as a read serves them. */
export interface StoredBatches {
  /** Concatenated, the batches; views the caller must not modify. */
  readonly chunks: readonly Uint8Array[];
  /** Total bytes of `chunks`. */
  readonly size: number;
}

/**
 * One partition of a storage engine, below its {@link PartitionFront}
 * (Kafka's LocalLog below its UnifiedLog). The front applies the protocol's
 * rules to an append (state, `max.message.bytes`, idempotence, the
 * duplicate answer, offsets); the engine only places the batches it is
 * given, keeps them with their indexes and serves them back. Offsets are
 * numbers here (below 2^53); the front speaks the contract's bigints.
 *
 * `test/storage/engine-contract.ts` runs every engine through the
 * {@link Storage} contract.
 */
export interface PartitionEngine {
  readonly topic: string;
  readonly partition: number;
  /**
   * Idempotent-producer state of the stored batches (PW-IDEM-002..006): an
   * index of the log the engine keeps, recording every idempotent batch it
   * places and rebuilding the state when it recovers (PW-IDEM-006). The
   * front checks batches against it.
   */
  readonly producers: ProducerStateTable;
  /** Offset the next placed batch starts at: the end of everything placed, writes still in progress included. */
  readonly nextOffset: number;
  /** The I/O failure that fenced the engine: it places nothing more until the storage is reopened (reads go on). Null while healthy. */
  readonly failure: StorageError | null;

  /** The first offset still stored (PW-LOG-020, PW-LOG-033). */
  logStart(): number;
  /** Everything below is stored and readable (PW-LOG-012). */
  highWatermark(): number;

  /**
   * Stores `batch` (its header fields in `header`) at `baseOffset`, which
   * the front wrote into its `base_offset` and is always `nextOffset`;
   * `nextOffset` moves past it before this returns, so batches land in call
   * order (PW-LOG-007); an idempotent batch is recorded in `producers`.
   * Resolves once the batch is readable and, if `synced` (the append asked
   * for durability) or the topic's `fsync.policy` is `always`, durable
   * (PW-LOG-005, PW-LOG-006, PW-ADMIN-022), with `appendTimeMs` (broker
   * time of the append) in the result. An I/O failure rejects it, and
   * everything placed after it, with `STORAGE`, and sets `failure`.
   * (Arguments rather than an options object: this runs for every batch.)
   */
  place(batch: Uint8Array, header: AppendHeader, baseOffset: number, appendTimeMs: number, synced: boolean): Promise<AppendResult>;

  /**
   * Whole batches from the one holding `offset`, which is in
   * [logStart, highWatermark) when called, never passing the high
   * watermark of that moment: the first batch whole even above `maxBytes`,
   * then more whole batches while the total stays within it (PW-LOG-011,
   * PW-LOG-013). The engine reads its bounds in the same synchronous step
   * as the caller, so both see the same high watermark (PW-LOG-016).
   */
  read(offset: number, maxBytes: number): Promise<StoredBatches>;

  /** The first record stamped at or after `timestampMs`, or null (PW-LOG-021). */
  offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null>;

  /** Resolves true once the high watermark passes `offset`, false when `signal` aborts or the engine stops or fails (PW-LOG-014). */
  waitFor(offset: number, signal?: AbortSignal): Promise<boolean>;

  /** Makes everything placed so far durable; concurrent callers share fsyncs. */
  sync(): Promise<void>;

  stats(): PartitionStats;

  /** Applies changed topic config (fsync policy, segment and retention limits) from now on. */
  configure(settings: TopicSettings): void;

  /** Deletes whole head segments that retention no longer keeps, never the active one (PW-LOG-033). */
  applyRetention(nowMs: number): Promise<void>;

  /** Flushes, fsyncs and releases files; a write failure since opening rejects it. */
  close(): Promise<void>;

  /** Stops for topic deletion, releasing files without flushing; the caller removes them. */
  destroy(): Promise<void>;
}
