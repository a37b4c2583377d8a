import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setBaseOffset } from "@polywire/wasm-codec";
import { BATCH_HEADER_SIZE, readProducerFields } from "./batch-layout.js";
import { syncDirectory, writeFileAtomic } from "./atomic-file.js";
import type { TopicSettings } from "./config.js";
import { recoverActiveSegment } from "./disk-recovery.js";
import { DiskSegment, segmentName } from "./disk-segment.js";
import { StorageError } from "./errors.js";
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
/** Chunk sizes of log walks: finding a batch near an index entry, and replaying producer state. */
const LOCATE_CHUNK = 64 << 10;
const REPLAY_CHUNK = 1 << 20;
/** Producer-state snapshots kept per partition. */
const SNAPSHOTS_KEPT = 2;

const FILE_NAME = /^(\d{20})\.(log|index|timeindex|snapshot)$/;

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
}

function snapshotPath(directory: string, offset: number): string {
  return join(directory, `${segmentName(offset)}.snapshot`);
}

function toOffset(offset: bigint): number {
  return offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : offset < -1n ? -1 : Number(offset);
}

/**
 * A partition of the disk engine: a directory of segments. Appends are
 * assigned offsets synchronously, queued, and written by one writer loop that
 * gathers queued batches into positional `writev` calls; fsyncs run beside
 * it through {@link GroupCommit}. Reads take stored bytes straight from the
 * segment files.
 */
export class DiskPartition implements PartitionEngine {
  private segments: DiskSegment[];
  /** Offset the next append gets (includes queued appends). */
  private nextOffset: number;
  /** High watermark: everything below is written and readable. */
  private hw: number;
  private queue: (WriteOp | RollOp)[] = [];
  private pumping: Promise<void> | null = null;
  /** Bytes of the active segment counting queued appends, for roll decisions. */
  private pendingActiveBytes: number;
  private activeCreatedMs: number;
  private readonly commit = new GroupCommit(() => this.syncRound());
  private readonly io = new Mutex();
  private readonly waiters = new DataWaiters();
  private intervalTimer: NodeJS.Timeout | null = null;
  private state: "open" | "closed" | "deleted" = "open";
  private failure: StorageError | null = null;

  private constructor(
    private readonly options: DiskPartitionOptions,
    private settings: TopicSettings,
    segments: DiskSegment[],
    private readonly producers: ProducerStateTable,
    activeCreatedMs: number,
  ) {
    this.segments = segments;
    const active = segments[segments.length - 1] as DiskSegment;
    this.nextOffset = active.endOffset;
    this.hw = active.endOffset;
    this.pendingActiveBytes = active.size;
    this.activeCreatedMs = activeCreatedMs;
  }

  get topic(): string {
    return this.options.topic;
  }

  get partition(): number {
    return this.options.partition;
  }

  private get directory(): string {
    return this.options.directory;
  }

  private get active(): DiskSegment {
    return this.segments[this.segments.length - 1] as DiskSegment;
  }

  /** Opens (creating if needed) and recovers a partition directory. */
  static async open(options: DiskPartitionOptions): Promise<DiskPartition> {
    const { directory } = options;
    await mkdir(directory, { recursive: true });
    const logs: number[] = [];
    const snapshots: number[] = [];
    const others = new Map<number, string[]>();
    for (const name of await readdir(directory)) {
      if (name.endsWith(".tmp")) {
        await rm(join(directory, name), { force: true });
        continue;
      }
      const match = FILE_NAME.exec(name);
      if (match === null) continue;
      const base = Number(match[1]);
      if (match[2] === "log") logs.push(base);
      else if (match[2] === "snapshot") snapshots.push(base);
      else others.set(base, [...(others.get(base) ?? []), name]);
    }
    logs.sort((a, b) => a - b);
    for (const [base, names] of others) {
      if (!logs.includes(base)) for (const name of names) await rm(join(directory, name), { force: true });
    }

    const segments: DiskSegment[] = [];
    let activeCreatedMs = 0;
    if (logs.length === 0) {
      segments.push(await DiskSegment.create(directory, 0, options.indexInterval));
      await syncDirectory(directory);
    } else {
      for (let i = 0; i < logs.length - 1; i++) {
        const segment = await DiskSegment.sealedOnDisk(directory, logs[i] as number, logs[i + 1] as number, options.indexInterval);
        // A sealed segment is never empty; an empty one is a leftover of an
        // interrupted roll and holds nothing.
        if (segment.size === 0) await segment.remove();
        else segments.push(segment);
      }
      const active = new DiskSegment(directory, logs[logs.length - 1] as number, options.indexInterval);
      await recoverActiveSegment(active, options.clean);
      const previous = segments[segments.length - 1];
      if (previous !== undefined && previous.endOffset !== active.baseOffset) {
        throw new StorageError("STORAGE", `partition ${directory}: segment ${segmentName(active.baseOffset)} does not follow the previous segment`);
      }
      segments.push(active);
      if (active.size > 0) {
        const info = await stat(active.logPath);
        activeCreatedMs = info.birthtimeMs > 0 ? info.birthtimeMs : Date.now();
      }
    }
    const producers = await DiskPartition.recoverProducers(options, segments, snapshots);
    return new DiskPartition(options, options.settings, segments, producers, activeCreatedMs);
  }

  /**
   * Rebuilds idempotent-producer state (PW-IDEM-006): the newest intact
   * snapshot at or below the high watermark, then every later batch's
   * producer fields replayed from the log.
   */
  private static async recoverProducers(options: DiskPartitionOptions, segments: DiskSegment[], snapshots: number[]): Promise<ProducerStateTable> {
    const logStart = (segments[0] as DiskSegment).baseOffset;
    const hw = (segments[segments.length - 1] as DiskSegment).endOffset;
    let table: ProducerStateTable | null = null;
    let from = logStart;
    for (const offset of snapshots.sort((a, b) => b - a)) {
      const path = snapshotPath(options.directory, offset);
      if (offset > hw || table !== null) {
        if (offset > hw) await rm(path, { force: true });
        continue;
      }
      table = ProducerStateTable.decode(await readFile(path), options.idempotenceWindow);
      if (table !== null) from = Math.max(offset, logStart);
    }
    table ??= new ProducerStateTable(options.idempotenceWindow);
    const state = table;
    for (const segment of segments) {
      if (segment.endOffset <= from) continue;
      let position = 0;
      if (segment.baseOffset < from) {
        await segment.loadIndexes();
        position = segment.index.lookup(from - segment.baseOffset);
      }
      await walkBatches(await segment.file(), position, segment.size, { wantBytes: false, chunkSize: REPLAY_CHUNK }, (batch, _p, view, at) => {
        if (batch.baseOffset >= from) {
          const fields = readProducerFields(view, at);
          if (fields.producerId >= 0n) state.record(fields.producerId, fields.producerEpoch, fields.baseSequence, batch.recordCount, batch.baseOffset);
        }
        return true;
      });
    }
    // A snapshot or the log may still name ids the registry forgot
    // (PW-IDEM-011); their state must not come back.
    state.retainKnown((id) => options.epochs(id) !== undefined);
    return state;
  }

  configure(settings: TopicSettings): void {
    this.settings = settings;
  }

  private unavailable(): StorageError | null {
    if (this.state === "deleted") return new StorageError("UNKNOWN_TOPIC", `topic ${this.topic} was deleted`);
    if (this.state === "closed") return new StorageError("SHUTTING_DOWN", "storage is closed");
    return this.failure;
  }

  append(batch: Uint8Array, header: AppendHeader, options?: AppendOptions): Promise<AppendResult> {
    const unavailable = this.unavailable();
    if (unavailable !== null) return Promise.reject(unavailable);
    if (batch.byteLength > this.settings.maxMessageBytes) {
      return Promise.reject(new StorageError("BATCH_TOO_LARGE", `batch of ${batch.byteLength} bytes exceeds max.message.bytes ${this.settings.maxMessageBytes} of topic ${this.topic}`, { limit: this.settings.maxMessageBytes }));
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
        duplicateOf = this.producers.check(header, this.options.epochs).duplicateOf;
      } catch (error) {
        return Promise.reject(error);
      }
      this.options.touch(header.producerId, now);
      if (duplicateOf !== null) return this.answerDuplicate(duplicateOf, now, synced);
    }

    const baseOffset = this.nextOffset;
    setBaseOffset(batch, BigInt(baseOffset));
    this.nextOffset = baseOffset + header.recordCount;
    if (
      this.pendingActiveBytes > 0 &&
      (this.pendingActiveBytes + batch.byteLength > this.settings.segmentBytes || now - this.activeCreatedMs >= this.settings.segmentMs)
    ) {
      this.queueRoll(baseOffset, () => undefined, (error) => this.fail(error));
    }
    if (this.pendingActiveBytes === 0) this.activeCreatedMs = now;
    this.pendingActiveBytes += batch.byteLength;
    if (idempotent) this.producers.record(header.producerId, header.producerEpoch, header.baseSequence, header.recordCount, baseOffset);

    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ kind: "write", batch, baseOffset, recordCount: header.recordCount, maxTimestamp: header.maxTimestamp, appendTimeMs: now, synced, resolve, reject });
      this.kick();
    });
  }

  /** A retry inside the window: answer with the original offset once the original is visible (and durable if asked). */
  private async answerDuplicate(baseOffset: number, now: number, synced: boolean): Promise<AppendResult> {
    if (this.hw <= baseOffset && !(await this.waiters.wait(baseOffset, undefined))) {
      throw this.unavailable() ?? new StorageError("STORAGE", `partition ${this.topic}/${this.partition} stopped`);
    }
    if (synced || this.settings.fsyncPolicy === "always") await this.commit.sync();
    return { baseOffset: BigInt(baseOffset), appendTimeMs: now, logStartOffset: BigInt(this.logStart), duplicate: true };
  }

  private queueRoll(baseOffset: number, resolve: () => void, reject: (error: unknown) => void): void {
    this.queue.push({ kind: "roll", baseOffset, snapshot: this.producers.encode(), resolve, reject });
    this.pendingActiveBytes = 0;
  }

  private kick(): void {
    if (this.pumping !== null) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.queue.length > 0 && this.failure === null) this.kick();
    });
  }

  /** The writer loop: rolls and gathered writes, in queue order. */
  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === null) {
        const head = this.queue[0] as WriteOp | RollOp;
        if (head.kind === "roll") {
          await this.roll(head.baseOffset, head.snapshot);
          this.queue.shift();
          head.resolve();
          continue;
        }
        let count = 0;
        let bytes = 0;
        while (count < this.queue.length && count < MAX_GATHER_BATCHES && bytes < MAX_GATHER_BYTES) {
          const op = this.queue[count] as WriteOp | RollOp;
          if (op.kind !== "write") break;
          bytes += op.batch.byteLength;
          count++;
        }
        const ops = this.queue.slice(0, count) as WriteOp[];
        const segment = this.active;
        const handle = await segment.file();
        const { bytesWritten } = await handle.writev(
          ops.map((op) => op.batch),
          segment.size,
        );
        if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes`);
        this.queue.splice(0, count);
        this.completeWrites(segment, ops);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private completeWrites(segment: DiskSegment, ops: WriteOp[]): void {
    let position = segment.size;
    for (const op of ops) {
      segment.noteBatch(position, op.baseOffset, op.batch.byteLength, op.recordCount, op.maxTimestamp);
      position += op.batch.byteLength;
    }
    this.hw = segment.endOffset;
    const logStartOffset = BigInt(this.logStart);
    const always = this.settings.fsyncPolicy === "always";
    let durable: Promise<void> | null = null;
    for (const op of ops) {
      const result: AppendResult = { baseOffset: BigInt(op.baseOffset), appendTimeMs: op.appendTimeMs, logStartOffset, duplicate: false };
      if (always || op.synced) {
        durable ??= this.commit.sync();
        durable.then(() => op.resolve(result), op.reject);
      } else {
        op.resolve(result);
      }
    }
    this.waiters.advance(this.hw);
    if (this.settings.fsyncPolicy === "interval" && this.intervalTimer === null) {
      this.intervalTimer = setTimeout(() => {
        this.intervalTimer = null;
        if (this.state === "open") this.commit.sync().catch(() => undefined);
      }, this.settings.fsyncIntervalMs);
      this.intervalTimer.unref();
    }
  }

  /** One group-commit round: fsync the active segment, then record index entries for what is now durable. */
  private syncRound(): Promise<void> {
    return this.io.run(async () => {
      const segment = this.active;
      const offsetEntries = segment.index.length;
      const timeEntries = segment.times.length;
      try {
        await (await segment.file()).datasync();
        await segment.flushIndexes(offsetEntries, timeEntries);
      } catch (error) {
        throw this.fail(error);
      }
    });
  }

  /**
   * Seals the active segment (fsynced data, complete fsynced indexes) before
   * creating the next one, so a crash never leaves a damaged segment anywhere
   * but at the end of the log.
   */
  private async roll(baseOffset: number, snapshot: Uint8Array): Promise<void> {
    await this.commit.sync();
    await this.io.run(async () => {
      await this.active.sealAndSync();
      const fresh = await DiskSegment.create(this.directory, baseOffset, this.options.indexInterval);
      await writeFileAtomic(snapshotPath(this.directory, baseOffset), snapshot);
      this.segments = [...this.segments, fresh];
    });
    await this.pruneSnapshots();
  }

  private async pruneSnapshots(): Promise<void> {
    const offsets: number[] = [];
    for (const name of await readdir(this.directory)) {
      const match = FILE_NAME.exec(name);
      if (match?.[2] === "snapshot") offsets.push(Number(match[1]));
    }
    for (const offset of offsets.sort((a, b) => b - a).slice(SNAPSHOTS_KEPT)) {
      await rm(snapshotPath(this.directory, offset), { force: true });
    }
  }

  /** Records the first I/O failure and fails everything queued: offsets were assigned, so nothing after a failed write may land. */
  private fail(error: unknown): StorageError {
    if (this.failure === null) {
      const message = error instanceof Error ? error.message : String(error);
      this.failure =
        error instanceof StorageError
          ? error
          : new StorageError("STORAGE", `partition ${this.topic}/${this.partition} failed (${message}); it takes no appends until the storage is reopened`, { cause: error });
      const queued = this.queue;
      this.queue = [];
      for (const op of queued) op.reject(this.failure);
      this.waiters.closeAll();
    }
    return this.failure;
  }

  private get logStart(): number {
    return (this.segments[0] as DiskSegment).baseOffset;
  }

  logStartOffset(): bigint {
    return BigInt(this.logStart);
  }

  highWatermark(): bigint {
    return BigInt(this.hw);
  }

  /** Index of the segment holding `offset` (the last whose base is at or below it). */
  private segmentFor(segments: readonly DiskSegment[], offset: number): number {
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
    const unavailable = this.unavailable();
    if (unavailable !== null && unavailable.code !== "STORAGE") throw unavailable;
    // Captured together so the bytes served never pass the high watermark
    // reported with them (PW-LOG-012, PW-LOG-016).
    const hw = this.hw;
    const active = this.active;
    const activeEnd = active.size;
    const logStart = this.logStart;
    const highWatermark = BigInt(hw);
    const logStartOffset = BigInt(logStart);
    if (offset < logStartOffset || offset > highWatermark) {
      throw new StorageError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside [${logStart}, ${hw}] of ${this.topic}/${this.partition}`);
    }
    const target = Number(offset);
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (target === hw) return { chunks, size, highWatermark, logStartOffset };
    const segments = this.segments;
    for (let i = this.segmentFor(segments, target); i < segments.length; i++) {
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
        if (first) start = await this.locate(segment, target, end);
        chunk = await readWholeBatches(segment, start, end, budget, first);
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
  private async locate(segment: DiskSegment, offset: number, end: number): Promise<number> {
    await segment.loadIndexes();
    const from = segment.index.lookup(offset - segment.baseOffset);
    let found = -1;
    await walkBatches(await segment.file(), from, end, { wantBytes: false, chunkSize: LOCATE_CHUNK }, (batch, position) => {
      if (batch.baseOffset + batch.recordCount > offset) {
        found = position;
        return false;
      }
      return true;
    });
    if (found < 0) throw new StorageError("STORAGE", `offset ${offset} not found in segment ${segment.logPath}`);
    return found;
  }

  async offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    const unavailable = this.unavailable();
    if (unavailable !== null && unavailable.code !== "STORAGE") throw unavailable;
    for (const segment of this.segments) {
      segment.beginRead();
      try {
        await segment.loadIndexes();
        if (segment.maxTimestamp < timestampMs) continue;
        const after = segment.times.lastBelow(timestampMs);
        const from = after < 0 ? 0 : segment.index.lookup(after);
        let found: Uint8Array | null = null;
        await walkBatches(await segment.file(), from, segment.size, { wantBytes: true, chunkSize: LOCATE_CHUNK }, (batch, _p, _v, _a, whole) => {
          if (batch.maxTimestamp < timestampMs) return true;
          found = (whole as Uint8Array).slice();
          return false;
        });
        if (found !== null) return firstRecordAtOrAfter(found, timestampMs);
      } finally {
        await segment.endRead();
      }
    }
    return null;
  }

  waitForData(offset: bigint, signal?: AbortSignal): Promise<boolean> {
    if (this.unavailable() !== null) return Promise.resolve(false);
    if (BigInt(this.hw) > offset) return Promise.resolve(true);
    return this.waiters.wait(toOffset(offset), signal);
  }

  async sync(): Promise<void> {
    const unavailable = this.unavailable();
    if (unavailable !== null) throw unavailable;
    await this.commit.sync();
  }

  stats(): PartitionStats {
    let sizeBytes = 0;
    for (const segment of this.segments) sizeBytes += segment.size;
    return { logStartOffset: BigInt(this.logStart), highWatermark: BigInt(this.hw), sizeBytes, segments: this.segments.length };
  }

  async applyRetention(nowMs: number): Promise<void> {
    if (this.unavailable() !== null) return;
    const { retentionMs, retentionBytes } = this.settings;
    if (retentionMs > 0) {
      const expired = (segment: DiskSegment): boolean => segment.maxTimestamp < nowMs - retentionMs;
      await this.dropHead(expired);
      const active = this.active;
      if (this.segments.length === 1 && active.size > 0 && expired(active) && this.pendingActiveBytes > 0) {
        await new Promise<void>((resolve, reject) => {
          this.queueRoll(this.nextOffset, resolve, reject);
          this.kick();
        });
        await this.dropHead(expired);
      }
    }
    if (retentionBytes > 0) {
      let total = this.stats().sizeBytes;
      await this.dropHead((segment) => {
        if (total - segment.size < retentionBytes) return false;
        total -= segment.size;
        return true;
      });
    }
  }

  /** Deletes whole segments from the head while `expendable` says so; never the active one (PW-LOG-033). */
  private async dropHead(expendable: (segment: DiskSegment) => boolean): Promise<void> {
    let removed = false;
    while (this.segments.length > 1 && this.state === "open") {
      const head = this.segments[0] as DiskSegment;
      await head.loadIndexes();
      if (this.segments[0] !== head || !expendable(head)) break;
      this.segments = this.segments.slice(1);
      await head.remove();
      removed = true;
    }
    if (removed) await syncDirectory(this.directory);
  }

  private async drain(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
  }

  forgetProducers(known: (producerId: bigint) => boolean): void {
    this.producers.retainKnown(known);
  }

  async close(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "closed";
    await this.drain();
    if (this.intervalTimer !== null) clearTimeout(this.intervalTimer);
    this.waiters.closeAll();
    try {
      if (this.failure === null) {
        await this.commit.sync();
        await writeFileAtomic(snapshotPath(this.directory, this.hw), this.producers.encode());
        await this.pruneSnapshots();
      }
    } finally {
      await this.commit.idle();
      for (const segment of this.segments) await segment.close();
    }
    if (this.failure !== null) throw this.failure;
  }

  async destroy(): Promise<void> {
    if (this.state === "deleted") return;
    this.state = "deleted";
    await this.drain();
    if (this.intervalTimer !== null) clearTimeout(this.intervalTimer);
    this.waiters.closeAll();
    await this.commit.idle();
    for (const segment of this.segments) await segment.close();
  }
}

/**
 * Reads whole batches from `start` (a batch boundary) up to `end`: at most
 * `budget` bytes, except that with `atLeastOne` the first batch is returned
 * whole even when larger (PW-LOG-013).
 */
async function readWholeBatches(segment: DiskSegment, start: number, end: number, budget: number, atLeastOne: boolean): Promise<Uint8Array> {
  const available = end - start;
  const want = Math.min(available, Math.max(budget, atLeastOne ? BATCH_HEADER_SIZE : 0));
  if (want <= 0) return new Uint8Array(0);
  const handle = await segment.file();
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
    if (got !== size) throw new StorageError("STORAGE", `short read of ${got} of ${size} bytes in ${segment.logPath}`);
    return whole;
  }
  return buffer.subarray(0, cut);
}
