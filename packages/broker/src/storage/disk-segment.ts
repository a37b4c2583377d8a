import { stat, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { FilePool, PooledFile } from "./file-pool.js";
import { OFFSET_ENTRY_SIZE, OffsetIndex, TIME_ENTRY_SIZE, TimeIndex } from "./segment-index.js";
import { walkBatches } from "./log-walk.js";

/** Segment files are named by their base offset, zero-padded to 20 digits. */
export function segmentName(baseOffset: number): string {
  return baseOffset.toString().padStart(20, "0");
}

/** Chunk size for walks that rebuild an index. */
const REBUILD_CHUNK = 1 << 20;

/**
 * One segment of a partition: `<base>.log` holding stored batches back to
 * back, `<base>.index` and `<base>.timeindex`. The log's descriptor comes
 * from the storage's {@link FilePool}: opened on first use, closed when the
 * pool needs the slot, reopened by the next use. Sealed segments load their
 * indexes lazily, on first read; index files are created when first written.
 */
export class DiskSegment {
  /** Bytes of whole, visible batches. */
  size = 0;
  /** Offset after the segment's last batch (for sealed segments: the next segment's base). */
  endOffset: number;
  /** Largest batch max_timestamp so far; -Infinity while empty or not loaded. */
  maxTimestamp = -Infinity;
  readonly baseOffset: number;
  readonly #pool: FilePool;
  /** The partition's directory (the partition's own string: paths are built when used, not kept). */
  readonly #directory: string;
  #log: PooledFile | null = null;
  readonly #createLog: boolean;
  /** Preferred to other idle descriptors while active. */
  #active = true;
  readonly #indexInterval: number;
  /** Reads in progress; closing and removal wait for them. */
  #readers = 0;
  #retirement: "none" | "close" | "remove" = "none";
  #offsetIndex: OffsetIndex | null = null;
  #timeIndex: TimeIndex | null = null;
  #loading: Promise<void> | null = null;
  #indexFlushed = 0;
  #timeFlushed = 0;
  #lastIndexedPosition = 0;
  #lastTimedPosition = 0;
  #maxTimestampRelative = -1;

  constructor(pool: FilePool, directory: string, baseOffset: number, indexInterval: number, options: { create?: boolean } = {}) {
    this.baseOffset = baseOffset;
    this.endOffset = baseOffset;
    this.#pool = pool;
    this.#directory = directory;
    this.#indexInterval = indexInterval;
    this.#createLog = options.create === true;
  }

  get logPath(): string {
    return join(this.#directory, `${segmentName(this.baseOffset)}.log`);
  }

  get indexPath(): string {
    return join(this.#directory, `${segmentName(this.baseOffset)}.index`);
  }

  get timeIndexPath(): string {
    return join(this.#directory, `${segmentName(this.baseOffset)}.timeindex`);
  }

  /**
   * An empty active segment whose log file does not exist yet: its first
   * use creates it (and fails if it exists). Index files follow with their
   * first entries.
   */
  static fresh(pool: FilePool, directory: string, baseOffset: number, indexInterval: number): DiskSegment {
    const segment = new DiskSegment(pool, directory, baseOffset, indexInterval, { create: true });
    segment.#offsetIndex = new OffsetIndex();
    segment.#timeIndex = new TimeIndex();
    return segment;
  }

  /** Creates an empty active segment's log file now (it must not exist). */
  static async create(pool: FilePool, directory: string, baseOffset: number, indexInterval: number): Promise<DiskSegment> {
    const segment = DiskSegment.fresh(pool, directory, baseOffset, indexInterval);
    await segment.useLog(() => Promise.resolve());
    return segment;
  }

  /** A sealed segment found on disk; its size is the log file's. */
  static async sealedOnDisk(pool: FilePool, directory: string, baseOffset: number, endOffset: number, indexInterval: number): Promise<DiskSegment> {
    const segment = new DiskSegment(pool, directory, baseOffset, indexInterval);
    segment.size = (await stat(segment.logPath)).size;
    segment.endOffset = endOffset;
    segment.#active = false;
    return segment;
  }

  /** Runs `fn` with the log file's descriptor (opened if the pool closed it); `fn` must not open other files. */
  useLog<T>(fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    if (this.#log === null) {
      this.#log = this.#pool.file(this.logPath, { create: this.#createLog });
      this.#log.keep = this.#active;
    }
    return this.#log.use(fn);
  }

  get index(): OffsetIndex {
    if (this.#offsetIndex === null) throw new Error(`index of ${this.logPath} used before loading`);
    return this.#offsetIndex;
  }

  get times(): TimeIndex {
    if (this.#timeIndex === null) throw new Error(`time index of ${this.logPath} used before loading`);
    return this.#timeIndex;
  }

  /**
   * Loads a sealed segment's indexes. A sealed segment's index files were
   * fsynced when it was sealed; if they are damaged anyway they are rebuilt
   * from the log.
   */
  loadIndexes(): Promise<void> {
    if (this.#offsetIndex !== null) return Promise.resolve();
    this.#loading ??= this.#readIndexes();
    return this.#loading;
  }

  async #readIndexes(): Promise<void> {
    const offsets = OffsetIndex.decode(await this.#pool.readOptional(this.indexPath), this.size);
    const times = TimeIndex.decode(await this.#pool.readOptional(this.timeIndexPath), this.endOffset - this.baseOffset);
    if (offsets.intact && times.intact && times.index.length > 0) {
      this.#offsetIndex = offsets.index;
      this.#timeIndex = times.index;
      this.maxTimestamp = times.index.lastTimestamp;
      this.#indexFlushed = offsets.index.length;
      this.#timeFlushed = times.index.length;
      return;
    }
    await this.#rebuildIndexes(this.size);
    await this.rewriteIndexes();
  }

  /** Rebuilds both indexes by walking `[0, to)` (structure only: the bytes were validated when written). */
  async #rebuildIndexes(to: number): Promise<void> {
    this.resetIndexes(new OffsetIndex(), new TimeIndex());
    await this.useLog((handle) =>
      walkBatches(handle, 0, to, { wantBytes: false, chunkSize: REBUILD_CHUNK }, (batch, position) => {
        this.noteBatch(position, batch.baseOffset, batch.size, batch.recordCount, batch.maxTimestamp);
        return true;
      }),
    );
    this.#seal();
  }

  /**
   * Installs recovered indexes of the active segment and the walk state that
   * continues them from `resumePosition`; `flushed` entries of each are
   * already in the index files.
   */
  resetIndexes(offsets: OffsetIndex, times: TimeIndex, resumePosition = 0, flushed = { offsets: 0, times: 0 }): void {
    this.#offsetIndex = offsets;
    this.#timeIndex = times;
    this.#indexFlushed = flushed.offsets;
    this.#timeFlushed = flushed.times;
    this.#lastIndexedPosition = offsets.length > 0 ? offsets.positionAt(offsets.length - 1) : 0;
    this.#lastTimedPosition = resumePosition;
    this.maxTimestamp = times.lastTimestamp;
    this.#maxTimestampRelative = times.length > 0 ? times.relativeAt(times.length - 1) : -1;
  }

  /**
   * Accounts for a batch now stored at `position`: sparse index entries every
   * `indexInterval` bytes, a time entry when the running max timestamp grows
   * (sparsely too), size and end offset.
   */
  noteBatch(position: number, baseOffset: number, size: number, recordCount: number, maxTimestamp: number): void {
    const relative = baseOffset - this.baseOffset;
    if (position > 0 && position - this.#lastIndexedPosition >= this.#indexInterval) {
      this.index.add(relative, position);
      this.#lastIndexedPosition = position;
    }
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.#maxTimestampRelative = relative;
      if (this.times.length === 0 || position - this.#lastTimedPosition >= this.#indexInterval) {
        this.times.add(maxTimestamp, relative);
        this.#lastTimedPosition = position;
      }
    }
    this.size = position + size;
    this.endOffset = baseOffset + recordCount;
  }

  /** Writes index entries [flushed, counts) to the index files (entries must point at durable data). */
  async flushIndexes(offsetCount: number, timeCount: number): Promise<void> {
    if (offsetCount > this.#indexFlushed) {
      await this.#pool.writeAt(this.indexPath, this.index.encode(this.#indexFlushed, offsetCount), this.#indexFlushed * OFFSET_ENTRY_SIZE);
      this.#indexFlushed = offsetCount;
    }
    if (timeCount > this.#timeFlushed) {
      await this.#pool.writeAt(this.timeIndexPath, this.times.encode(this.#timeFlushed, timeCount), this.#timeFlushed * TIME_ENTRY_SIZE);
      this.#timeFlushed = timeCount;
    }
  }

  /**
   * The active segment's flush: as {@link flushIndexes}, but nothing while
   * the segment has no offset entry, since recovery then walks it from its
   * start whatever its time index says (a small partition gets no index
   * file until it is sealed or grows).
   */
  async flushActiveIndexes(offsetCount: number, timeCount: number): Promise<void> {
    if (offsetCount > 0) await this.flushIndexes(offsetCount, timeCount);
  }

  /** Rewrites both index files from memory (after recovery changed them). */
  async rewriteIndexes(): Promise<void> {
    await this.#pool.writeFile(this.indexPath, this.index.encode(0, this.index.length));
    await this.#pool.writeFile(this.timeIndexPath, this.times.encode(0, this.times.length));
    this.#indexFlushed = this.index.length;
    this.#timeFlushed = this.times.length;
  }

  /** Records the final running max in the time index so a sealed segment's max is its last entry. */
  #seal(): void {
    if (this.#maxTimestampRelative >= 0 && this.maxTimestamp > this.times.lastTimestamp) {
      this.times.add(this.maxTimestamp, this.#maxTimestampRelative);
    }
    // Only reads use it from now on: its descriptor goes before active ones.
    this.#active = false;
    if (this.#log !== null) this.#log.keep = false;
  }

  /** Seals the active segment: final time entry, every index entry written and fsynced. The log must already be fsynced. */
  async sealAndSync(): Promise<void> {
    this.#seal();
    await this.flushIndexes(this.index.length, this.times.length);
    // Creates the files of a segment too small for any index entry but its last.
    await this.#pool.syncFile(this.indexPath);
    await this.#pool.syncFile(this.timeIndexPath);
  }

  /** True once the segment is being closed or removed: reads must not start on it. */
  get retiring(): boolean {
    return this.#retirement !== "none";
  }

  /** Marks a read as using the segment, so closing or removal waits for it. */
  beginRead(): void {
    this.#readers++;
  }

  async endRead(): Promise<void> {
    this.#readers--;
    if (this.#readers === 0 && this.#retirement !== "none") await this.#retire(this.#retirement);
  }

  /** Closes the file now, or after the last read in progress. */
  close(): Promise<void> {
    return this.#retire("close");
  }

  /** Deletes the segment's files now, or after the last read in progress. */
  remove(): Promise<void> {
    return this.#retire("remove");
  }

  async #retire(how: "close" | "remove"): Promise<void> {
    if (this.#retirement !== "remove") this.#retirement = how;
    if (this.#readers > 0) return;
    await this.#log?.close();
    if (this.#retirement === "remove") {
      await rm(this.logPath, { force: true });
      await rm(this.indexPath, { force: true });
      await rm(this.timeIndexPath, { force: true });
    }
  }
}
