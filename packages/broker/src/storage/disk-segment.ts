import { open, readFile, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
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
 * back, `<base>.index` and `<base>.timeindex`. Sealed segments load their
 * indexes and open their file lazily, on first read.
 */
export class DiskSegment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Bytes of whole, visible batches. */
  size = 0;
  /** Offset after the segment's last batch (for sealed segments: the next segment's base). */
  endOffset: number;
  /** Largest batch max_timestamp so far; -Infinity while empty or not loaded. */
  maxTimestamp = -Infinity;
  /** When the segment got its first batch, for `segment.ms`. */
  createdMs = 0;
  sealed = false;
  /** Reads in progress; closing and removal wait for them. */
  private readers = 0;
  private retirement: "none" | "close" | "remove" = "none";

  private handle: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;
  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  private loading: Promise<void> | null = null;
  private indexFlushed = 0;
  private timeFlushed = 0;
  private lastIndexedPosition = 0;
  private lastTimedPosition = 0;
  private maxTimestampRelative = -1;

  constructor(
    directory: string,
    readonly baseOffset: number,
    private readonly indexInterval: number,
  ) {
    const name = segmentName(baseOffset);
    this.logPath = join(directory, `${name}.log`);
    this.indexPath = join(directory, `${name}.index`);
    this.timeIndexPath = join(directory, `${name}.timeindex`);
    this.endOffset = baseOffset;
  }

  /** Creates an empty active segment (its files must not exist). */
  static async create(directory: string, baseOffset: number, indexInterval: number): Promise<DiskSegment> {
    const segment = new DiskSegment(directory, baseOffset, indexInterval);
    segment.handle = await open(segment.logPath, "wx+");
    segment.offsetIndex = new OffsetIndex();
    segment.timeIndex = new TimeIndex();
    await writeFile(segment.indexPath, new Uint8Array(0));
    await writeFile(segment.timeIndexPath, new Uint8Array(0));
    return segment;
  }

  /** A sealed segment found on disk; its size is the log file's. */
  static async sealedOnDisk(directory: string, baseOffset: number, endOffset: number, indexInterval: number): Promise<DiskSegment> {
    const segment = new DiskSegment(directory, baseOffset, indexInterval);
    segment.size = (await stat(segment.logPath)).size;
    segment.endOffset = endOffset;
    segment.sealed = true;
    return segment;
  }

  /** The log file handle, opened on first use. */
  file(): Promise<FileHandle> {
    if (this.handle !== null) return Promise.resolve(this.handle);
    this.opening ??= open(this.logPath, "r+").then((h) => {
      this.handle = h;
      return h;
    });
    return this.opening;
  }

  get index(): OffsetIndex {
    if (this.offsetIndex === null) throw new Error(`index of ${this.logPath} used before loading`);
    return this.offsetIndex;
  }

  get times(): TimeIndex {
    if (this.timeIndex === null) throw new Error(`time index of ${this.logPath} used before loading`);
    return this.timeIndex;
  }

  /**
   * Loads a sealed segment's indexes. A sealed segment's index files were
   * fsynced when it was sealed; if they are damaged anyway they are rebuilt
   * from the log.
   */
  loadIndexes(): Promise<void> {
    if (this.offsetIndex !== null) return Promise.resolve();
    this.loading ??= this.readIndexes();
    return this.loading;
  }

  private async readIndexes(): Promise<void> {
    const offsets = OffsetIndex.decode(await readOptional(this.indexPath), this.size);
    const times = TimeIndex.decode(await readOptional(this.timeIndexPath), this.endOffset - this.baseOffset);
    if (offsets.intact && times.intact && times.index.length > 0) {
      this.offsetIndex = offsets.index;
      this.timeIndex = times.index;
      this.maxTimestamp = times.index.lastTimestamp;
      this.indexFlushed = offsets.index.length;
      this.timeFlushed = times.index.length;
      return;
    }
    await this.rebuildIndexes(this.size);
    await writeFile(this.indexPath, this.index.encode(0, this.index.length));
    await writeFile(this.timeIndexPath, this.times.encode(0, this.times.length));
    this.indexFlushed = this.index.length;
    this.timeFlushed = this.times.length;
  }

  /** Rebuilds both indexes by walking `[0, to)` (structure only: the bytes were validated when written). */
  private async rebuildIndexes(to: number): Promise<void> {
    this.resetIndexes(new OffsetIndex(), new TimeIndex());
    const handle = await this.file();
    await walkBatches(handle, 0, to, { wantBytes: false, chunkSize: REBUILD_CHUNK }, (batch, position) => {
      this.noteBatch(position, batch.baseOffset, batch.size, batch.recordCount, batch.maxTimestamp);
      return true;
    });
    this.seal();
  }

  /** Installs recovered indexes of the active segment and the walk state that continues them from `resumePosition`. */
  resetIndexes(offsets: OffsetIndex, times: TimeIndex, resumePosition = 0): void {
    this.offsetIndex = offsets;
    this.timeIndex = times;
    this.indexFlushed = 0;
    this.timeFlushed = 0;
    this.lastIndexedPosition = offsets.length > 0 ? offsets.positionAt(offsets.length - 1) : 0;
    this.lastTimedPosition = resumePosition;
    this.maxTimestamp = times.lastTimestamp;
    this.maxTimestampRelative = times.length > 0 ? times.relativeAt(times.length - 1) : -1;
  }

  /**
   * Accounts for a batch now stored at `position`: sparse index entries every
   * `indexInterval` bytes, a time entry when the running max timestamp grows
   * (sparsely too), size and end offset.
   */
  noteBatch(position: number, baseOffset: number, size: number, recordCount: number, maxTimestamp: number): void {
    const relative = baseOffset - this.baseOffset;
    if (position > 0 && position - this.lastIndexedPosition >= this.indexInterval) {
      this.index.add(relative, position);
      this.lastIndexedPosition = position;
    }
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.maxTimestampRelative = relative;
      if (this.times.length === 0 || position - this.lastTimedPosition >= this.indexInterval) {
        this.times.add(maxTimestamp, relative);
        this.lastTimedPosition = position;
      }
    }
    this.size = position + size;
    this.endOffset = baseOffset + recordCount;
  }

  /** Writes index entries [flushed, counts) to the index files (entries must point at durable data). */
  async flushIndexes(offsetCount: number, timeCount: number): Promise<void> {
    if (offsetCount > this.indexFlushed) {
      await appendAt(this.indexPath, this.index.encode(this.indexFlushed, offsetCount), this.indexFlushed * OFFSET_ENTRY_SIZE);
      this.indexFlushed = offsetCount;
    }
    if (timeCount > this.timeFlushed) {
      await appendAt(this.timeIndexPath, this.times.encode(this.timeFlushed, timeCount), this.timeFlushed * TIME_ENTRY_SIZE);
      this.timeFlushed = timeCount;
    }
  }

  /** Rewrites both index files from memory (after recovery changed them). */
  async rewriteIndexes(): Promise<void> {
    await writeFile(this.indexPath, this.index.encode(0, this.index.length));
    await writeFile(this.timeIndexPath, this.times.encode(0, this.times.length));
    this.indexFlushed = this.index.length;
    this.timeFlushed = this.times.length;
  }

  /** Records the final running max in the time index so a sealed segment's max is its last entry. */
  private seal(): void {
    if (this.maxTimestampRelative >= 0 && this.maxTimestamp > this.times.lastTimestamp) {
      this.times.add(this.maxTimestamp, this.maxTimestampRelative);
    }
    this.sealed = true;
  }

  /** Seals the active segment: final time entry, every index entry written and fsynced. The log must already be fsynced. */
  async sealAndSync(): Promise<void> {
    this.seal();
    await this.flushIndexes(this.index.length, this.times.length);
    await syncFile(this.indexPath);
    await syncFile(this.timeIndexPath);
  }

  /** True once the segment is being closed or removed: reads must not start on it. */
  get retiring(): boolean {
    return this.retirement !== "none";
  }

  /** Marks a read as using the segment, so closing or removal waits for it. */
  beginRead(): void {
    this.readers++;
  }

  async endRead(): Promise<void> {
    this.readers--;
    if (this.readers === 0 && this.retirement !== "none") await this.retire(this.retirement);
  }

  /** Closes the file now, or after the last read in progress. */
  close(): Promise<void> {
    return this.retire("close");
  }

  /** Deletes the segment's files now, or after the last read in progress. */
  remove(): Promise<void> {
    return this.retire("remove");
  }

  private async retire(how: "close" | "remove"): Promise<void> {
    if (this.retirement !== "remove") this.retirement = how;
    if (this.readers > 0) return;
    const handle = this.handle ?? (this.opening !== null ? await this.opening.catch(() => null) : null);
    this.handle = null;
    this.opening = null;
    await handle?.close();
    if (this.retirement === "remove") {
      await rm(this.logPath, { force: true });
      await rm(this.indexPath, { force: true });
      await rm(this.timeIndexPath, { force: true });
    }
  }
}

async function readOptional(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Uint8Array(0);
    throw error;
  }
}

async function appendAt(path: string, bytes: Uint8Array, position: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.write(bytes, 0, bytes.byteLength, position);
  } finally {
    await handle.close();
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
