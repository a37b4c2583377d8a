import type { OffsetLog, OffsetLogEntry } from "../groups/offset-book.js";

/**
 * The storage contract of the reference broker. Protocol code talks only to
 * these interfaces, so a replicated or remote backend can replace the
 * embedded engines (`openDiskStorage`, `openMemoryStorage`) without changes
 * above this line. Offsets are `bigint` (spec i64); timestamps and sizes are
 * `number` (Unix ms, bytes).
 */

/**
 * When a partition fsyncs on its own: after every append (`always`), at most
 * `fsync.interval.ms` after a write (`interval`), or only when asked and at
 * segment roll and close (`never`). An append with durability `"synced"` is
 * fsynced whatever the policy.
 */
export type FsyncPolicy = "always" | "interval" | "never";

/**
 * How far an append must have gone before its promise resolves: `"visible"`
 * means written to the log and readable by fetches (ACKS_LEADER, PW-LOG-005),
 * plus fsynced if the topic's policy is `always`; `"synced"` means it and
 * everything before it in the partition is on stable storage (ACKS_ALL,
 * PW-LOG-006). Concurrent `"synced"` appends share fsyncs (group commit).
 */
export type Durability = "visible" | "synced";

/**
 * The batch header fields storage needs, as returned by the codec's
 * `verifyBatch` (a `BatchHeader` fits). Storage trusts them: the caller has
 * validated the batch (PW-LOG-001) before appending.
 */
export interface AppendHeader {
  readonly recordCount: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  /** -1n for a non-idempotent batch. */
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

/** Options of {@link PartitionLog.append}. */
export interface AppendOptions {
  /** Default `"visible"`. */
  readonly durability?: Durability;
}

/** Where an appended batch landed (the fields of ProduceResponse). */
export interface AppendResult {
  /** Offset of the batch's first record; for a duplicate, that of the original append. */
  readonly baseOffset: bigint;
  /** Broker time of the append, Unix ms (for a duplicate: the time of the retry). */
  readonly appendTimeMs: number;
  readonly logStartOffset: bigint;
  /** True when the batch repeated one inside the idempotence window and was not appended again (PW-IDEM-003). */
  readonly duplicate: boolean;
}

/**
 * Whole stored batches, byte for byte as appended (base offset assigned),
 * starting with the batch that contains the requested offset (PW-LOG-011).
 * `chunks` concatenated are the fetch section; they are views the caller may
 * write to a socket but must not modify.
 */
export interface ReadResult {
  readonly chunks: readonly Uint8Array[];
  /** Total bytes of `chunks`. */
  readonly size: number;
  /** The partition's values when the read was formed (PW-LOG-016). */
  readonly highWatermark: bigint;
  readonly logStartOffset: bigint;
}

/** A record found by {@link PartitionLog.offsetForTimestamp}. */
export interface TimestampOffset {
  readonly offset: bigint;
  readonly timestampMs: number;
}

/** A partition's size, for admin DescribeTopic. */
export interface PartitionStats {
  readonly logStartOffset: bigint;
  readonly highWatermark: bigint;
  readonly sizeBytes: number;
  readonly segments: number;
}

/**
 * One partition's log. Handles stay valid until the topic is deleted or the
 * storage closed; after that every method throws `UNKNOWN_TOPIC` or
 * `SHUTTING_DOWN`.
 */
export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;

  /**
   * Appends one validated batch. Offsets are assigned synchronously in call
   * order (PW-LOG-002, PW-LOG-007): the batch's `base_offset` field is
   * rewritten in place, so `batch` must not be reused by the caller.
   * Idempotent batches are checked against the producer's state first
   * (PW-IDEM-001..005): a duplicate resolves with the original offset and
   * `duplicate: true`; a bad sequence or epoch rejects with
   * `OUT_OF_ORDER_SEQUENCE`, `PRODUCER_FENCED` or `UNKNOWN_PRODUCER` and
   * appends nothing. A batch above the topic's `max.message.bytes` rejects
   * with `BATCH_TOO_LARGE` (PW-ADMIN-021). An I/O failure rejects with `STORAGE` and fences
   * the partition until the storage is reopened.
   */
  append(batch: Uint8Array, header: AppendHeader, options?: AppendOptions): Promise<AppendResult>;

  /**
   * Reads whole batches from the one containing `offset`, never at or past
   * the high watermark (PW-LOG-012): the first batch whole even if larger than
   * `maxBytes`, then further whole batches while the total stays within
   * `maxBytes` (PW-LOG-013). `offset` equal to the high watermark gives no
   * bytes; below the log start offset or above the high watermark rejects
   * with `OFFSET_OUT_OF_RANGE` (PW-LOG-015).
   */
  read(offset: bigint, maxBytes: number): Promise<ReadResult>;

  /** The first offset still stored (PW-LOG-020, PW-LOG-033). */
  logStartOffset(): bigint;

  /** The offset the next appended record gets; everything below is readable (PW-LOG-012, PW-LOG-032). */
  highWatermark(): bigint;

  /**
   * The smallest offset whose record timestamp is at or after `timestampMs`,
   * with that record's timestamp, or null if there is none (PW-LOG-021).
   */
  offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null>;

  /**
   * Resolves true as soon as the high watermark is above `offset` (at once if
   * it already is), false when `signal` aborts or the partition goes away
   * (topic deleted, storage closed). Never rejects; for long-poll fetch
   * (PW-LOG-014).
   */
  waitForData(offset: bigint, signal?: AbortSignal): Promise<boolean>;

  /** Makes everything appended so far durable; shares fsyncs with concurrent callers. */
  sync(): Promise<void>;

  stats(): PartitionStats;
}

/** A topic as storage knows it. */
export interface TopicInfo {
  readonly name: string;
  readonly partitions: number;
  /** Effective configuration, broker defaults included (TopicDescription.config). */
  readonly config: Readonly<Record<string, string>>;
  /** The keys set on this topic, differing from broker defaults. */
  readonly overrides: Readonly<Record<string, string>>;
}

/** Options of {@link Storage.createTopic}. */
export interface CreateTopicOptions {
  /** At least 1. */
  readonly partitions: number;
  /** Config keys (see `TOPIC_CONFIG_KEYS`) differing from the broker defaults. */
  readonly config?: Readonly<Record<string, string>>;
}

/** Options of {@link Storage.alterTopic}; absent fields change nothing. */
export interface AlterTopicOptions {
  readonly set?: Readonly<Record<string, string>>;
  /** Keys to return to the broker default. */
  readonly reset?: readonly string[];
  /** New partition count, not below the current one (partitions only grow). */
  readonly partitions?: number;
}

/** A producer id and epoch granted by {@link Storage.initProducer}. */
export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

/**
 * Where the committed offsets of consumer groups are made durable (spec
 * §8.4). The groups plane's OffsetBook holds the offsets, the one copy
 * readers see; storage keeps only the changes, to give them back after a
 * restart. `append` resolves once the entry would be replayed after a
 * crash (fsynced on disk).
 */
export interface GroupOffsetLog extends OffsetLog {
  /** The entries written before this storage was opened, in order; empty for memory storage. */
  recovered(): readonly OffsetLogEntry[];
  /** How to read the current offsets, so the log can rewrite itself compactly once most of it is superseded. */
  compactWith(snapshot: () => readonly OffsetLogEntry[]): void;
}

/** What happened to a topic: {@link Storage.onTopicChange}. */
export type TopicChange = "created" | "grown" | "deleted";
export type TopicListener = (topic: string, change: TopicChange) => void;

/** Disk usage, for admin GetHealth's StorageInfo. */
export interface StorageUsage {
  readonly usedBytes: number;
  readonly freeBytes: number;
}

/**
 * A broker's storage: topics, their partition logs, idempotent-producer ids
 * and the log of committed group offsets. `close()` (or `await using`) flushes
 * everything and leaves the data in a clean state.
 */
export interface Storage extends AsyncDisposable {
  /** "disk" or "memory" (StorageInfo.engine). */
  readonly engine: string;
  /** The data directory, "" for memory storage. */
  readonly directory: string;
  /** Where committed offsets of consumer groups are made durable. */
  readonly groupOffsets: GroupOffsetLog;

  /** Rejects with `TOPIC_ALREADY_EXISTS`, `INVALID_TOPIC`, `INVALID_CONFIG` or `INVALID_ARGUMENT`. */
  createTopic(name: string, options: CreateTopicOptions): Promise<TopicInfo>;
  /** Changes config and grows partitions; `UNKNOWN_TOPIC` (`INVALID_TOPIC` for a malformed name), `INVALID_CONFIG`, `INVALID_ARGUMENT` (shrinking). */
  alterTopic(name: string, options: AlterTopicOptions): Promise<TopicInfo>;
  /** Deletes the topic and its data; open handles of its partitions stop working. */
  deleteTopic(name: string): Promise<void>;
  /**
   * Calls `listener` after each topic is created, grows or is deleted (once
   * the change is durable), for planes that follow partition counts; the
   * returned function stops it.
   */
  onTopicChange(listener: TopicListener): () => void;
  /** Every topic, sorted by name. */
  listTopics(): TopicInfo[];
  /** Throws `UNKNOWN_TOPIC`, or `INVALID_TOPIC` for a malformed name (PW-LOG-040). */
  topic(name: string): TopicInfo;
  /** Throws `UNKNOWN_TOPIC`, `INVALID_TOPIC` for a malformed name (PW-LOG-040) or `UNKNOWN_PARTITION` (PW-LOG-003). */
  partition(topic: string, partition: number): PartitionLog;

  /**
   * InitProducer (PW-IDEM-001): `producerId` -1n allocates a new id with
   * epoch 0; the current id and epoch bump the epoch (fencing older ones).
   * An unknown id rejects with `UNKNOWN_PRODUCER`, an old epoch with
   * `PRODUCER_FENCED`. Resolves once the grant is durable.
   */
  initProducer(producerId: bigint, producerEpoch: number): Promise<ProducerIdentity>;

  /** Applies `retention.ms` and `retention.bytes` now (it also runs periodically). */
  runRetention(nowMs?: number): Promise<void>;

  /**
   * Forgets producer ids idle (no append, no InitProducer) for longer than
   * the producer-id expiration period as of `nowMs`, with their state on
   * every partition (PW-IDEM-011); resolves with how many it forgot. It also
   * runs with every periodic retention run.
   */
  expireProducers(nowMs?: number): Promise<number>;

  /** How many producer ids the broker remembers now. */
  producerCount(): number;

  usage(): Promise<StorageUsage>;

  /** Flushes and fsyncs every partition, stops timers, releases files. Idempotent. */
  close(): Promise<void>;
}

/** Options both engines take. */
export interface StorageOptions {
  /** Broker-wide topic config defaults, overriding the built-in ones (see `TOPIC_CONFIG_DEFAULTS`). */
  readonly topicDefaults?: Readonly<Record<string, string>>;
  /** Batches remembered per producer and partition for duplicate detection (PW-IDEM-003); default 5 (PW-LIM-005). */
  readonly idempotenceWindow?: number;
  /** How often retention and producer-id expiry run on their own, ms; default 60 000; 0 disables the timer. */
  readonly retentionCheckIntervalMs?: number;
  /**
   * A producer id that has neither appended nor been granted by InitProducer
   * for this long, ms, is forgotten with its idempotence state (PW-IDEM-011);
   * default 86 400 000 (one day); -1 never forgets.
   */
  readonly producerIdExpirationMs?: number;
}

/** Options of `openDiskStorage`. */
export interface DiskStorageOptions extends StorageOptions {
  /** Data directory; created if missing. One storage at a time may open it. */
  readonly directory: string;
  /** Bytes of log between two sparse index entries; default 4096. */
  readonly indexIntervalBytes?: number;
  /**
   * Most file descriptors the engine holds at once, 4 to 1 048 576; default
   * 256. Segment logs stay open while idle and are closed least recently
   * used first when a descriptor is needed (the active segments of
   * partitions being written last), and reopened on their next use; index
   * files, snapshots and metadata are opened only while read or written. At
   * most 4 more are open at any moment (`fs.rm` reading directories in
   * libuv's thread pool when a topic is deleted). Keep it well below the
   * process's `ulimit -n`, which connections share.
   */
  readonly maxOpenFiles?: number;
}
