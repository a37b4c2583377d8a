import type { TopicSettings } from "./config.js";
import { readBatches, findTimestamp } from "./disk-reader.js";
import { recoverActiveSegment, scanPartition } from "./disk-recovery.js";
import { DiskSegment, segmentName } from "./disk-segment.js";
import { DiskWriter } from "./disk-writer.js";
import { StorageError } from "./errors.js";
import type { FilePool } from "./file-pool.js";
import type { PartitionEngine, StoredBatches } from "./partition-engine.js";
import { CHEAP_REPLAY_BYTES, ProducerSnapshots, recoverProducers } from "./producer-snapshots.js";
import { ProducerStateTable } from "./producer-state.js";
import { SegmentList } from "./segment-list.js";
import type { AppendHeader, AppendResult, PartitionStats, TimestampOffset } from "./storage.js";
import { DataWaiters } from "./waiters.js";

/** Everything a disk partition needs to open. */
export interface DiskPartitionOptions {
  readonly directory: string;
  readonly topic: string;
  readonly partition: number;
  readonly settings: TopicSettings;
  readonly indexInterval: number;
  readonly idempotenceWindow: number;
  /** The storage was closed cleanly last time: trust the index files and skip CRC checks of the tail. */
  readonly clean: boolean;
  /** Where every file descriptor comes from. */
  readonly pool: FilePool;
}

/** What a partition starts from: recovered from its directory, or empty. */
interface Recovered {
  readonly segments: DiskSegment[];
  readonly producers: ProducerStateTable;
  readonly snapshots: ProducerSnapshots;
  readonly activeCreatedMs: number;
  /** Its directory and active log exist (an empty partition creates them with its first append). */
  readonly onDisk: boolean;
}

/**
 * A partition of the disk engine: a directory of segments, created with the
 * first write (an empty partition costs no file, no descriptor and no
 * I/O, so a topic of 100 000 partitions is created and reopened in
 * moments). This class opens and recovers the partition, places batches
 * (rolling segments by `segment.bytes` and `segment.ms`), applies
 * retention and closes; its {@link DiskWriter} writes and fsyncs, and
 * reads come from `disk-reader.ts`. Descriptors come from the storage's
 * {@link FilePool} for each use.
 */
export class DiskPartition implements PartitionEngine {
  readonly #options: DiskPartitionOptions;
  #settings: TopicSettings;
  readonly #segments: SegmentList;
  readonly #producers: ProducerStateTable;
  readonly #snapshots: ProducerSnapshots;
  /** Started by the first write or roll: a partition only read (or empty) holds none. */
  #writer: DiskWriter | null = null;
  /** The partition's directory and active log existed when it was opened. */
  readonly #onDisk: boolean;
  readonly #waiters = new DataWaiters();
  /** Offset the next placed batch gets (queued writes included). */
  #nextOffset: number;
  /** Bytes of the active segment counting queued writes, for roll decisions. */
  #pendingActiveBytes: number;
  #activeCreatedMs: number;
  #open = true;

  private constructor(options: DiskPartitionOptions, recovered: Recovered) {
    this.#options = options;
    this.#settings = options.settings;
    this.#segments = new SegmentList(recovered.segments);
    this.#producers = recovered.producers;
    this.#snapshots = recovered.snapshots;
    const active = this.#segments.active;
    this.#nextOffset = active.endOffset;
    this.#pendingActiveBytes = active.size;
    this.#activeCreatedMs = recovered.activeCreatedMs;
    this.#onDisk = recovered.onDisk;
  }

  /** The writer, started now if it was not: 100 000 partitions that are never written cost no writer each. */
  get #writing(): DiskWriter {
    this.#writer ??= new DiskWriter(this.#options, this.#settings, this.#segments, this.#snapshots, this.#waiters, this.#onDisk);
    return this.#writer;
  }

  get topic(): string {
    return this.#options.topic;
  }

  get partition(): number {
    return this.#options.partition;
  }

  get producers(): ProducerStateTable {
    return this.#producers;
  }

  get nextOffset(): number {
    return this.#nextOffset;
  }

  get failure(): StorageError | null {
    return this.#writer?.failure ?? null;
  }

  /** A new, empty partition: nothing on disk until its first write. */
  static empty(options: DiskPartitionOptions): DiskPartition {
    const segment = DiskSegment.fresh(options.pool, options.directory, 0, options.indexInterval);
    const producers = new ProducerStateTable(options.idempotenceWindow);
    return new DiskPartition(options, { segments: [segment], producers, snapshots: new ProducerSnapshots(options.directory, options.pool), activeCreatedMs: 0, onDisk: false });
  }

  /** Opens and recovers a partition directory; a missing or empty one is an empty partition. */
  static async open(options: DiskPartitionOptions): Promise<DiskPartition> {
    const { directory, pool, indexInterval } = options;
    const files = await scanPartition(pool, directory);
    const { logs } = files;
    if (logs.length === 0) return DiskPartition.empty(options);
    const segments: DiskSegment[] = [];
    for (let i = 0; i < logs.length - 1; i++) {
      const segment = await DiskSegment.sealedOnDisk(pool, directory, logs[i] as number, logs[i + 1] as number, indexInterval);
      // A sealed segment is never empty; an empty one is a leftover of an
      // interrupted roll and holds nothing.
      if (segment.size === 0) await segment.remove();
      else segments.push(segment);
    }
    const active = new DiskSegment(pool, directory, logs[logs.length - 1] as number, indexInterval);
    const report = await recoverActiveSegment(active, pool, options.clean, files);
    const previous = segments[segments.length - 1];
    if (previous !== undefined && previous.endOffset !== active.baseOffset) {
      throw new StorageError("STORAGE", `partition ${directory}: segment ${segmentName(active.baseOffset)} does not follow the previous segment`);
    }
    segments.push(active);
    const activeCreatedMs = active.size === 0 ? 0 : report.birthtimeMs > 0 ? report.birthtimeMs : Date.now();
    const { state, snapshots } = await recoverProducers(pool, directory, options.idempotenceWindow, segments, files.snapshots);
    return new DiskPartition(options, { segments, producers: state, snapshots, activeCreatedMs, onDisk: true });
  }

  logStart(): number {
    return this.#segments.logStart;
  }

  highWatermark(): number {
    return this.#segments.highWatermark;
  }

  configure(settings: TopicSettings): void {
    this.#settings = settings;
    if (this.#writer !== null) this.#writer.settings = settings;
  }

  place(batch: Uint8Array, header: AppendHeader, baseOffset: number, appendTimeMs: number, synced: boolean): Promise<AppendResult> {
    this.#nextOffset = baseOffset + header.recordCount;
    if (
      this.#pendingActiveBytes > 0 &&
      (this.#pendingActiveBytes + batch.byteLength > this.#settings.segmentBytes || appendTimeMs - this.#activeCreatedMs >= this.#settings.segmentMs)
    ) {
      // A failed roll has failed the writer already, and everything queued with it.
      this.#queueRoll(baseOffset).catch(() => undefined);
    }
    if (this.#pendingActiveBytes === 0) this.#activeCreatedMs = appendTimeMs;
    this.#pendingActiveBytes += batch.byteLength;
    // After the roll took its snapshot: the state as of `baseOffset` excludes this batch.
    if (header.producerId >= 0n) this.#producers.record(header.producerId, header.producerEpoch, header.baseSequence, header.recordCount, baseOffset);
    return this.#writing.write(batch, header, baseOffset, appendTimeMs, synced);
  }

  /** Queues a roll at `baseOffset`, snapshotting the producer state as of there. */
  #queueRoll(baseOffset: number): Promise<void> {
    this.#pendingActiveBytes = 0;
    return this.#writing.roll(baseOffset, this.#producers.encode());
  }

  read(offset: number, maxBytes: number): Promise<StoredBatches> {
    return readBatches(this.#segments, offset, maxBytes);
  }

  offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    return findTimestamp(this.#segments, timestampMs);
  }

  waitFor(offset: number, signal?: AbortSignal): Promise<boolean> {
    return this.#waiters.wait(offset, signal);
  }

  sync(): Promise<void> {
    // Nothing written since opening: nothing to make durable.
    return this.#writer?.sync() ?? Promise.resolve();
  }

  stats(): PartitionStats {
    const segments = this.#segments;
    return { logStartOffset: BigInt(segments.logStart), highWatermark: BigInt(segments.highWatermark), sizeBytes: segments.sizeBytes, segments: segments.length };
  }

  async applyRetention(nowMs: number): Promise<void> {
    const { retentionMs, retentionBytes } = this.#settings;
    if (retentionMs > 0) {
      const expired = (segment: DiskSegment): boolean => segment.maxTimestamp < nowMs - retentionMs;
      await this.#dropHead(expired);
      const active = this.#segments.active;
      if (this.#segments.length === 1 && active.size > 0 && expired(active) && this.#pendingActiveBytes > 0) {
        await this.#queueRoll(this.#nextOffset);
        await this.#dropHead(expired);
      }
    }
    if (retentionBytes > 0) {
      let total = this.#segments.sizeBytes;
      await this.#dropHead((segment) => {
        if (total - segment.size < retentionBytes) return false;
        total -= segment.size;
        return true;
      });
    }
  }

  /** Deletes whole segments from the head while `expendable` says so; never the active one (PW-LOG-033). */
  async #dropHead(expendable: (segment: DiskSegment) => boolean): Promise<void> {
    let removed = false;
    while (this.#segments.length > 1 && this.#open) {
      const head = this.#segments.head;
      await head.loadIndexes();
      if (this.#segments.head !== head || !expendable(head)) break;
      this.#segments.dropHead();
      await head.remove();
      removed = true;
    }
    if (removed) await this.#options.pool.syncDirectory(this.#options.directory);
  }

  /**
   * Whether rebuilding producer state at the next open would replay at most
   * one read of the log: from the newest snapshot, or the log start, inside
   * a small active segment. Then a snapshot at close costs more than it saves.
   */
  #replayIsCheap(): boolean {
    const active = this.#segments.active;
    return active.size <= CHEAP_REPLAY_BYTES && (this.#snapshots.at >= active.baseOffset || this.#segments.length === 1);
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    const writer = this.#writer;
    await writer?.stop();
    this.#waiters.closeAll();
    try {
      // A partition unchanged since its last snapshot (or never written) writes nothing.
      if (this.failure === null && (writer?.onDisk ?? this.#onDisk)) {
        await writer?.sync();
        const hw = this.#segments.highWatermark;
        if (this.#snapshots.at !== hw && !this.#replayIsCheap()) await this.#snapshots.writeAtClose(hw, this.#producers.encode());
      }
    } finally {
      await writer?.idle();
      for (const segment of this.#segments.all) await segment.close();
    }
    if (this.failure !== null) throw this.failure;
  }

  async destroy(): Promise<void> {
    this.#open = false;
    const writer = this.#writer;
    await writer?.stop();
    this.#waiters.closeAll();
    await writer?.idle();
    for (const segment of this.#segments.all) await segment.close();
  }
}
