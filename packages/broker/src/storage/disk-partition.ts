import { mkdir, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { setBaseOffset } from "@polywire/wasm-codec";
import { BATCH_HEADER_SIZE } from "./batch-layout.js";
import type { TopicSettings } from "./config.js";
import { CHEAP_REPLAY_BYTES, recoverActiveSegment, recoverProducers, scanPartition, snapshotPath } from "./disk-recovery.js";
import { DiskSegment, segmentName } from "./disk-segment.js";
import { StorageError } from "./errors.js";
import { isOutOfDescriptors, type FilePool } from "./file-pool.js";
import { GroupCommit } from "./group-commit.js";
import { walkBatches } from "./log-walk.js";
import { Mutex } from "./mutex.js";
import type { PartitionEngine } from "./partition-engine.js";
import { ProducerStateTable, type ActivityNote, type EpochLookup } from "./producer-state.js";
import type { AppendHeader, AppendOptions, AppendResult, PartitionStats, ReadResult, TimestampOffset } from "./storage.js";
import { firstRecordAtOrAfter } from "./timestamp-search.js";
import { DataWaiters } from "./waiters.js";

/** Most batches and bytes gathered into one positional writev. */
const MAX_GATHER_BATCHES = 1024;
const MAX_GATHER_BYTES = 16 << 20;
/** Chunk size of log walks finding a batch near an index entry. */
const LOCATE_CHUNK = 64 << 10;
/** Producer-state snapshots kept per partition. */
const SNAPSHOTS_KEPT = 2;
/**
 * How often a write or fsync that found the process out of file
 * descriptors tries again. It waits as long as the partition is open: the
 * appends were given offsets, so failing them would fence the partition
 * until a restart, while descriptors come back as connections close.
 */
const DESCRIPTOR_RETRY_MS = 100;

interface WriteOp {
  readonly kind: "write";
  readonly batch: Uint8Array;
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly maxTimestamp: number;
  readonly appendTimeMs: number;
  readonly synced: boolean;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

interface RollOp {
  readonly kind: "roll";
  readonly baseOffset: number;
  /** Producer state as of `baseOffset`, taken when the roll was queued. */
  readonly snapshot: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Everything a disk partition needs to open. */
export interface DiskPartitionOptions {
  readonly directory: string;
  readonly topic: string;
  readonly partition: number;
  readonly settings: TopicSettings;
  readonly indexInterval: number;
  readonly idempotenceWindow: number;
  readonly epochs: EpochLookup;
  /** Where an idempotent batch's activity is noted (PW-IDEM-011). */
  readonly touch: ActivityNote;
  /** The storage was closed cleanly last time: trust the index files and skip CRC checks of the tail. */
  readonly clean: boolean;
  /** Where every file descriptor comes from. */
  readonly pool: FilePool;
}

/** What a partition starts from: recovered from its directory, or empty. */
interface Recovered {
  readonly segments: DiskSegment[];
  readonly producers: ProducerStateTable;
  readonly activeCreatedMs: number;
  /** Its directory and active log exist (an empty partition creates them with its first append). */
  readonly onDisk: boolean;
  /** Offset of the newest usable producer-state snapshot on disk, -1 for none. */
  readonly snapshotAt: number;
  /** Offsets of the snapshot files, descending. */
  readonly snapshots: number[];
}

function toOffset(offset: bigint): number {
  return offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : offset < -1n ? -1 : Number(offset);
}

/**
 * A partition of the disk engine: a directory of segments, created with the
 * first append (an empty partition costs no file, no descriptor and no
 * I/O, so a topic of 100 000 partitions is created and reopened in
 * moments). Appends are assigned offsets synchronously, queued, and written
 * by one writer loop that gathers queued batches into positional `writev`
 * calls; fsyncs run beside it through {@link GroupCommit}. Reads take stored
 * bytes straight from the segment files. Descriptors come from the
 * storage's {@link FilePool} for each use.
 */
export class DiskPartition implements PartitionEngine {
  readonly #options: DiskPartitionOptions;
  #settings: TopicSettings;
  #segments: DiskSegment[];
  readonly #producers: ProducerStateTable;
  /** Offset the next append gets (includes queued appends). */
  #nextOffset: number;
  /** High watermark: everything below is written and readable. */
  #hw: number;
  #queue: (WriteOp | RollOp)[] = [];
  #pumping: Promise<void> | null = null;
  /** Bytes of the active segment counting queued appends, for roll decisions. */
  #pendingActiveBytes: number;
  #activeCreatedMs: number;
  readonly #commit = new GroupCommit(() => this.#syncRound());
  readonly #io = new Mutex();
  readonly #waiters = new DataWaiters();
  #intervalTimer: NodeJS.Timeout | null = null;
  /** The writer's next try while the process is out of descriptors. */
  #stalled: NodeJS.Timeout | null = null;
  /** A roll is past its first fsync: failing now leaves a half-made segment, so it cannot be retried. */
  #rolling = false;
  #state: "open" | "closed" | "deleted" = "open";
  #failure: StorageError | null = null;
  #onDisk: boolean;
  /** The directory entries of the partition and its first log are durable. */
  #entriesSynced: boolean;
  /** Written since the last fsync round started. */
  #dirty = false;
  #snapshotAt: number;
  #snapshots: number[];

  private constructor(options: DiskPartitionOptions, recovered: Recovered) {
    this.#options = options;
    this.#settings = options.settings;
    this.#segments = recovered.segments;
    this.#producers = recovered.producers;
    this.#onDisk = recovered.onDisk;
    this.#entriesSynced = recovered.onDisk;
    this.#snapshotAt = recovered.snapshotAt;
    this.#snapshots = recovered.snapshots;
    const active = this.#active;
    this.#nextOffset = active.endOffset;
    this.#hw = active.endOffset;
    this.#pendingActiveBytes = active.size;
    this.#activeCreatedMs = recovered.activeCreatedMs;
  }

  get topic(): string {
    return this.#options.topic;
  }

  get partition(): number {
    return this.#options.partition;
  }

  /** The idempotent-producer state, for inspection (tests of PW-IDEM-011); only the partition changes it. */
  get producers(): ProducerStateTable {
    return this.#producers;
  }

  get #directory(): string {
    return this.#options.directory;
  }

  get #pool(): FilePool {
    return this.#options.pool;
  }

  get #active(): DiskSegment {
    return this.#segments[this.#segments.length - 1] as DiskSegment;
  }

  /** A new, empty partition: nothing on disk until its first append. */
  static empty(options: DiskPartitionOptions): DiskPartition {
    return new DiskPartition(options, DiskPartition.#nothing(options));
  }

  static #nothing(options: DiskPartitionOptions): Recovered {
    const segment = DiskSegment.fresh(options.pool, options.directory, 0, options.indexInterval);
    return { segments: [segment], producers: new ProducerStateTable(options.idempotenceWindow), activeCreatedMs: 0, onDisk: false, snapshotAt: -1, snapshots: [] };
  }

  /** Opens and recovers a partition directory; a missing or empty one is an empty partition. */
  static async open(options: DiskPartitionOptions): Promise<DiskPartition> {
    const { directory, pool, indexInterval } = options;
    const files = await scanPartition(pool, directory);
    const { logs, snapshots } = files;
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
    const { state, snapshotAt, kept } = await recoverProducers(pool, directory, options.idempotenceWindow, segments, snapshots);
    // A snapshot or the log may still name ids the registry forgot
    // (PW-IDEM-011); their state must not come back.
    state.retainKnown((id) => options.epochs(id) !== undefined);
    return new DiskPartition(options, { segments, producers: state, activeCreatedMs, onDisk: true, snapshotAt, snapshots: kept });
  }

  configure(settings: TopicSettings): void {
    this.#settings = settings;
  }

  #unavailable(): StorageError | null {
    if (this.#state === "deleted") return new StorageError("UNKNOWN_TOPIC", `topic ${this.topic} was deleted`);
    if (this.#state === "closed") return new StorageError("SHUTTING_DOWN", "storage is closed");
    return this.#failure;
  }

  append(batch: Uint8Array, header: AppendHeader, options?: AppendOptions): Promise<AppendResult> {
    const unavailable = this.#unavailable();
    if (unavailable !== null) return Promise.reject(unavailable);
    if (batch.byteLength > this.#settings.maxMessageBytes) {
      return Promise.reject(new StorageError("BATCH_TOO_LARGE", `batch of ${batch.byteLength} bytes exceeds max.message.bytes ${this.#settings.maxMessageBytes} of topic ${this.topic}`, { limit: this.#settings.maxMessageBytes }));
    }
    if (batch.byteLength < BATCH_HEADER_SIZE || !Number.isInteger(header.recordCount) || header.recordCount < 1) {
      return Promise.reject(new StorageError("INVALID_ARGUMENT", "append needs a whole validated batch with at least one record"));
    }
    const now = Date.now();
    const synced = options?.durability === "synced";
    const idempotent = header.producerId >= 0n;
    if (idempotent) {
      let duplicateOf: number | null;
      try {
        duplicateOf = this.#producers.check(header, this.#options.epochs).duplicateOf;
      } catch (error) {
        return Promise.reject(error);
      }
      this.#options.touch(header.producerId, now);
      if (duplicateOf !== null) return this.#answerDuplicate(duplicateOf, now, synced);
    }

    const baseOffset = this.#nextOffset;
    setBaseOffset(batch, BigInt(baseOffset));
    this.#nextOffset = baseOffset + header.recordCount;
    if (
      this.#pendingActiveBytes > 0 &&
      (this.#pendingActiveBytes + batch.byteLength > this.#settings.segmentBytes || now - this.#activeCreatedMs >= this.#settings.segmentMs)
    ) {
      this.#queueRoll(baseOffset, () => undefined, (error) => this.#fail(error));
    }
    if (this.#pendingActiveBytes === 0) this.#activeCreatedMs = now;
    this.#pendingActiveBytes += batch.byteLength;
    if (idempotent) this.#producers.record(header.producerId, header.producerEpoch, header.baseSequence, header.recordCount, baseOffset);

    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ kind: "write", batch, baseOffset, recordCount: header.recordCount, maxTimestamp: header.maxTimestamp, appendTimeMs: now, synced, resolve, reject });
      this.#kick();
    });
  }

  /** A retry inside the window: answer with the original offset once the original is visible (and durable if asked). */
  async #answerDuplicate(baseOffset: number, now: number, synced: boolean): Promise<AppendResult> {
    if (this.#hw <= baseOffset && !(await this.#waiters.wait(baseOffset, undefined))) {
      throw this.#unavailable() ?? new StorageError("STORAGE", `partition ${this.topic}/${this.partition} stopped`);
    }
    if (synced || this.#settings.fsyncPolicy === "always") await this.#commit.sync();
    return { baseOffset: BigInt(baseOffset), appendTimeMs: now, logStartOffset: BigInt(this.#logStart), duplicate: true };
  }

  #queueRoll(baseOffset: number, resolve: () => void, reject: (error: unknown) => void): void {
    this.#queue.push({ kind: "roll", baseOffset, snapshot: this.#producers.encode(), resolve, reject });
    this.#pendingActiveBytes = 0;
  }

  #kick(): void {
    // A stalled writer tries again on its timer, not with every append.
    if (this.#pumping !== null || this.#stalled !== null) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = null;
      if (this.#queue.length > 0 && this.#failure === null) this.#kick();
    });
  }

  /** The writer loop: rolls and gathered writes, in queue order. */
  async #pump(): Promise<void> {
    try {
      if (!this.#onDisk) await this.#materialize();
      while (this.#queue.length > 0 && this.#failure === null) {
        const head = this.#queue[0] as WriteOp | RollOp;
        if (head.kind === "roll") {
          await this.#roll(head.baseOffset, head.snapshot);
          this.#queue.shift();
          head.resolve();
          continue;
        }
        let count = 0;
        let bytes = 0;
        while (count < this.#queue.length && count < MAX_GATHER_BATCHES && bytes < MAX_GATHER_BYTES) {
          const op = this.#queue[count] as WriteOp | RollOp;
          if (op.kind !== "write") break;
          bytes += op.batch.byteLength;
          count++;
        }
        const ops = this.#queue.slice(0, count) as WriteOp[];
        const segment = this.#active;
        const { bytesWritten } = await segment.useLog((handle) =>
          handle.writev(
            ops.map((op) => op.batch),
            segment.size,
          ),
        );
        if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes`);
        this.#queue.splice(0, count);
        this.#completeWrites(segment, ops);
      }
    } catch (error) {
      // Nothing of the failed write reached the file: it failed opening it.
      if (isOutOfDescriptors(error) && !this.#rolling && this.#state === "open") {
        this.#stalled = setTimeout(() => {
          this.#stalled = null;
          this.#kick();
        }, DESCRIPTOR_RETRY_MS);
        return;
      }
      this.#fail(error);
    }
  }

  /** Creates the partition's directory and first log file, before its first write. */
  async #materialize(): Promise<void> {
    await mkdir(this.#directory, { recursive: true });
    await this.#active.useLog(() => Promise.resolve());
    this.#onDisk = true;
  }

  #completeWrites(segment: DiskSegment, ops: WriteOp[]): void {
    this.#dirty = true;
    let position = segment.size;
    for (const op of ops) {
      segment.noteBatch(position, op.baseOffset, op.batch.byteLength, op.recordCount, op.maxTimestamp);
      position += op.batch.byteLength;
    }
    this.#hw = segment.endOffset;
    const logStartOffset = BigInt(this.#logStart);
    const always = this.#settings.fsyncPolicy === "always";
    let durable: Promise<void> | null = null;
    for (const op of ops) {
      const result: AppendResult = { baseOffset: BigInt(op.baseOffset), appendTimeMs: op.appendTimeMs, logStartOffset, duplicate: false };
      if (always || op.synced) {
        durable ??= this.#commit.sync();
        durable.then(() => op.resolve(result), op.reject);
      } else {
        op.resolve(result);
      }
    }
    this.#waiters.advance(this.#hw);
    if (this.#settings.fsyncPolicy === "interval" && this.#intervalTimer === null) {
      this.#intervalTimer = setTimeout(() => {
        this.#intervalTimer = null;
        if (this.#state === "open") this.#commit.sync().catch(() => undefined);
      }, this.#settings.fsyncIntervalMs);
      this.#intervalTimer.unref();
    }
  }

  /**
   * One group-commit round: fsync the active segment (and, the first time,
   * the directory entries that make a new partition's files findable), then
   * record index entries for what is now durable. A round with nothing
   * written since the last one touches no file.
   */
  #syncRound(): Promise<void> {
    return this.#io.run(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      const segment = this.#active;
      const offsetEntries = segment.index.length;
      const timeEntries = segment.times.length;
      for (;;) {
        try {
          await segment.useLog((handle) => handle.datasync());
          if (!this.#entriesSynced) {
            await this.#pool.syncDirectory(this.#directory);
            await this.#pool.syncDirectory(dirname(this.#directory));
            this.#entriesSynced = true;
          }
          await segment.flushActiveIndexes(offsetEntries, timeEntries);
          return;
        } catch (error) {
          // Written but not yet durable: every step may be repeated.
          if (isOutOfDescriptors(error) && this.#state === "open") {
            await new Promise((resolve) => setTimeout(resolve, DESCRIPTOR_RETRY_MS));
            continue;
          }
          throw this.#fail(error);
        }
      }
    });
  }

  /**
   * Seals the active segment (fsynced data, complete fsynced indexes) before
   * creating the next one, so a crash never leaves a damaged segment anywhere
   * but at the end of the log.
   */
  async #roll(baseOffset: number, snapshot: Uint8Array): Promise<void> {
    await this.#commit.sync();
    this.#rolling = true;
    await this.#io.run(async () => {
      await this.#active.sealAndSync();
      const fresh = await DiskSegment.create(this.#pool, this.#directory, baseOffset, this.#options.indexInterval);
      // Also makes the new log's directory entry durable.
      await this.#pool.writeFileAtomic(snapshotPath(this.#directory, baseOffset), snapshot);
      this.#noteSnapshot(baseOffset);
      this.#segments = [...this.#segments, fresh];
    });
    this.#rolling = false;
    await this.#pruneSnapshots();
  }

  /**
   * Whether rebuilding producer state at the next open would replay at most
   * one read of the log: from the newest snapshot, or the log start, inside
   * a small active segment. Then a snapshot at close costs more than it saves.
   */
  #replayIsCheap(): boolean {
    const active = this.#active;
    return active.size <= CHEAP_REPLAY_BYTES && (this.#snapshotAt >= active.baseOffset || this.#segments.length === 1);
  }

  #noteSnapshot(offset: number): void {
    this.#snapshotAt = offset;
    if (!this.#snapshots.includes(offset)) this.#snapshots = [offset, ...this.#snapshots].sort((a, b) => b - a);
  }

  async #pruneSnapshots(): Promise<void> {
    for (const offset of this.#snapshots.splice(SNAPSHOTS_KEPT)) {
      await rm(snapshotPath(this.#directory, offset), { force: true });
    }
  }

  /** Records the first I/O failure and fails everything queued: offsets were assigned, so nothing after a failed write may land. */
  #fail(error: unknown): StorageError {
    if (this.#failure === null) {
      const message = error instanceof Error ? error.message : String(error);
      this.#failure =
        error instanceof StorageError
          ? error
          : new StorageError("STORAGE", `partition ${this.topic}/${this.partition} failed (${message}); it takes no appends until the storage is reopened`, { cause: error });
      const queued = this.#queue;
      this.#queue = [];
      for (const op of queued) op.reject(this.#failure);
      this.#waiters.closeAll();
    }
    return this.#failure;
  }

  get #logStart(): number {
    return (this.#segments[0] as DiskSegment).baseOffset;
  }

  logStartOffset(): bigint {
    return BigInt(this.#logStart);
  }

  highWatermark(): bigint {
    return BigInt(this.#hw);
  }

  /** Index of the segment holding `offset` (the last whose base is at or below it). */
  #segmentFor(segments: readonly DiskSegment[], offset: number): number {
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((segments[mid] as DiskSegment).baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async read(offset: bigint, maxBytes: number): Promise<ReadResult> {
    const unavailable = this.#unavailable();
    if (unavailable !== null && unavailable.code !== "STORAGE") throw unavailable;
    // Captured together so the bytes served never pass the high watermark
    // reported with them (PW-LOG-012, PW-LOG-016).
    const hw = this.#hw;
    const active = this.#active;
    const activeEnd = active.size;
    const logStart = this.#logStart;
    const highWatermark = BigInt(hw);
    const logStartOffset = BigInt(logStart);
    if (offset < logStartOffset || offset > highWatermark) {
      throw new StorageError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside [${logStart}, ${hw}] of ${this.topic}/${this.partition}`);
    }
    const target = Number(offset);
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (target === hw) return { chunks, size, highWatermark, logStartOffset };
    const segments = this.#segments;
    for (let i = this.#segmentFor(segments, target); i < segments.length; i++) {
      const segment = segments[i] as DiskSegment;
      const end = segment === active ? activeEnd : segment.size;
      const first = chunks.length === 0;
      const budget = maxBytes - size;
      if (!first && budget < BATCH_HEADER_SIZE) break;
      if (segment.retiring) {
        if (first) throw new StorageError("OFFSET_OUT_OF_RANGE", `offset ${offset} was removed by retention while being read`);
        break;
      }
      segment.beginRead();
      let chunk: Uint8Array;
      let start = 0;
      try {
        if (first) start = await this.#locate(segment, target, end);
        chunk = await segment.useLog((handle) => readWholeBatches(handle, segment.logPath, start, end, budget, first));
      } finally {
        await segment.endRead();
      }
      if (chunk.byteLength > 0) {
        chunks.push(chunk);
        size += chunk.byteLength;
      }
      if (start + chunk.byteLength < end) break;
    }
    return { chunks, size, highWatermark, logStartOffset };
  }

  /** File position of the batch containing `offset`: the sparse index, then a short walk. */
  async #locate(segment: DiskSegment, offset: number, end: number): Promise<number> {
    await segment.loadIndexes();
    const from = segment.index.lookup(offset - segment.baseOffset);
    let found = -1;
    await segment.useLog((handle) =>
      walkBatches(handle, from, end, { wantBytes: false, chunkSize: LOCATE_CHUNK }, (batch, position) => {
        if (batch.baseOffset + batch.recordCount > offset) {
          found = position;
          return false;
        }
        return true;
      }),
    );
    if (found < 0) throw new StorageError("STORAGE", `offset ${offset} not found in segment ${segment.logPath}`);
    return found;
  }

  async offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    const unavailable = this.#unavailable();
    if (unavailable !== null && unavailable.code !== "STORAGE") throw unavailable;
    for (const segment of this.#segments) {
      segment.beginRead();
      try {
        await segment.loadIndexes();
        if (segment.maxTimestamp < timestampMs) continue;
        const after = segment.times.lastBelow(timestampMs);
        const from = after < 0 ? 0 : segment.index.lookup(after);
        let found: Uint8Array | null = null;
        await segment.useLog((handle) =>
          walkBatches(handle, from, segment.size, { wantBytes: true, chunkSize: LOCATE_CHUNK }, (batch, _p, _v, _a, whole) => {
            if (batch.maxTimestamp < timestampMs) return true;
            found = (whole as Uint8Array).slice();
            return false;
          }),
        );
        if (found !== null) return firstRecordAtOrAfter(found, timestampMs);
      } finally {
        await segment.endRead();
      }
    }
    return null;
  }

  waitForData(offset: bigint, signal?: AbortSignal): Promise<boolean> {
    if (this.#unavailable() !== null) return Promise.resolve(false);
    if (BigInt(this.#hw) > offset) return Promise.resolve(true);
    return this.#waiters.wait(toOffset(offset), signal);
  }

  async sync(): Promise<void> {
    const unavailable = this.#unavailable();
    if (unavailable !== null) throw unavailable;
    await this.#commit.sync();
  }

  stats(): PartitionStats {
    let sizeBytes = 0;
    for (const segment of this.#segments) sizeBytes += segment.size;
    return { logStartOffset: BigInt(this.#logStart), highWatermark: BigInt(this.#hw), sizeBytes, segments: this.#segments.length };
  }

  async applyRetention(nowMs: number): Promise<void> {
    if (this.#unavailable() !== null) return;
    const { retentionMs, retentionBytes } = this.#settings;
    if (retentionMs > 0) {
      const expired = (segment: DiskSegment): boolean => segment.maxTimestamp < nowMs - retentionMs;
      await this.#dropHead(expired);
      const active = this.#active;
      if (this.#segments.length === 1 && active.size > 0 && expired(active) && this.#pendingActiveBytes > 0) {
        await new Promise<void>((resolve, reject) => {
          this.#queueRoll(this.#nextOffset, resolve, reject);
          this.#kick();
        });
        await this.#dropHead(expired);
      }
    }
    if (retentionBytes > 0) {
      let total = this.stats().sizeBytes;
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
    while (this.#segments.length > 1 && this.#state === "open") {
      const head = this.#segments[0] as DiskSegment;
      await head.loadIndexes();
      if (this.#segments[0] !== head || !expendable(head)) break;
      this.#segments = this.#segments.slice(1);
      await head.remove();
      removed = true;
    }
    if (removed) await this.#pool.syncDirectory(this.#directory);
  }

  /**
   * Waits for the writer to stop. A writer waiting for descriptors tries
   * once more (the state is no longer open, so it fails rather than waits).
   */
  async #drain(): Promise<void> {
    if (this.#stalled !== null) {
      clearTimeout(this.#stalled);
      this.#stalled = null;
      this.#kick();
    }
    while (this.#pumping !== null) await this.#pumping;
  }

  forgetProducers(known: (producerId: bigint) => boolean): void {
    this.#producers.retainKnown(known);
  }

  async close(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closed";
    await this.#drain();
    if (this.#intervalTimer !== null) clearTimeout(this.#intervalTimer);
    this.#waiters.closeAll();
    try {
      // A partition unchanged since its last snapshot (or never written) writes nothing.
      if (this.#failure === null && this.#onDisk) {
        await this.#commit.sync();
        if (this.#snapshotAt !== this.#hw && !this.#replayIsCheap()) {
          // Neither fsynced nor renamed into place: a snapshot only saves
          // replaying the log, so one lost or torn in a power loss (refused
          // by its CRC) costs a longer replay, never a wrong state.
          await this.#pool.writeFile(snapshotPath(this.#directory, this.#hw), this.#producers.encode());
          this.#noteSnapshot(this.#hw);
          await this.#pruneSnapshots();
        }
      }
    } finally {
      await this.#commit.idle();
      for (const segment of this.#segments) await segment.close();
    }
    if (this.#failure !== null) throw this.#failure;
  }

  async destroy(): Promise<void> {
    if (this.#state === "deleted") return;
    this.#state = "deleted";
    await this.#drain();
    if (this.#intervalTimer !== null) clearTimeout(this.#intervalTimer);
    this.#waiters.closeAll();
    await this.#commit.idle();
    for (const segment of this.#segments) await segment.close();
  }
}

/**
 * Reads whole batches from `start` (a batch boundary) up to `end`: at most
 * `budget` bytes, except that with `atLeastOne` the first batch is returned
 * whole even when larger (PW-LOG-013).
 */
async function readWholeBatches(handle: FileHandle, path: string, start: number, end: number, budget: number, atLeastOne: boolean): Promise<Uint8Array> {
  const available = end - start;
  const want = Math.min(available, Math.max(budget, atLeastOne ? BATCH_HEADER_SIZE : 0));
  if (want <= 0) return new Uint8Array(0);
  const buffer = Buffer.allocUnsafe(want);
  const { bytesRead } = await handle.read(buffer, 0, want, start);
  const view = new DataView(buffer.buffer, buffer.byteOffset, bytesRead);
  let cut = 0;
  while (cut + 12 <= bytesRead) {
    const size = 12 + view.getUint32(cut + 8);
    if (cut + size > bytesRead) break;
    cut += size;
  }
  if (cut === 0 && atLeastOne && bytesRead >= 12) {
    const size = 12 + view.getUint32(8);
    const whole = Buffer.allocUnsafe(size);
    const { bytesRead: got } = await handle.read(whole, 0, size, start);
    if (got !== size) throw new StorageError("STORAGE", `short read of ${got} of ${size} bytes in ${path}`);
    return whole;
  }
  return buffer.subarray(0, cut);
}
