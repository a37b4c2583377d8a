import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { TopicSettings } from "./config.js";
import { DiskSegment } from "./disk-segment.js";
import { StorageError } from "./errors.js";
import { isOutOfDescriptors, type FilePool } from "./file-pool.js";
import { GroupCommit } from "./group-commit.js";
import { Mutex } from "./mutex.js";
import type { ProducerSnapshots } from "./producer-snapshots.js";
import type { SegmentList } from "./segment-list.js";
import type { AppendHeader, AppendResult } from "./storage.js";
import type { DataWaiters } from "./waiters.js";

/** Most batches and bytes gathered into one positional writev. */
const MAX_GATHER_BATCHES = 1024;
const MAX_GATHER_BYTES = 16 << 20;
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

/** The partition a writer writes (a disk partition's options fit). */
export interface WriterTarget {
  readonly topic: string;
  readonly partition: number;
  readonly directory: string;
  readonly pool: FilePool;
  readonly indexInterval: number;
}

/**
 * The write side of a disk partition: writes and segment rolls queued in
 * offset order, written by one loop that gathers queued batches into
 * positional `writev` calls; fsyncs run beside it as group-commit rounds,
 * which also bring the index files up to what is durable. The first I/O
 * failure fences the partition: everything queued fails with it.
 */
export class DiskWriter {
  readonly #target: WriterTarget;
  readonly #segments: SegmentList;
  readonly #snapshots: ProducerSnapshots;
  readonly #waiters: DataWaiters;
  #settings: TopicSettings;
  #queue: (WriteOp | RollOp)[] = [];
  #pumping: Promise<void> | null = null;
  readonly #commit = new GroupCommit(() => this.#syncRound());
  readonly #io = new Mutex();
  #intervalTimer: NodeJS.Timeout | null = null;
  /** The writer's next try while the process is out of descriptors. */
  #stalled: NodeJS.Timeout | null = null;
  /** A roll is past its first fsync: failing now leaves a half-made segment, so it cannot be retried. */
  #rolling = false;
  /** Cleared by {@link stop}: a write then fails rather than waits for descriptors. */
  #open = true;
  #failure: StorageError | null = null;
  #onDisk: boolean;
  /** The directory entries of the partition and its first log are durable. */
  #entriesSynced: boolean;
  /** Written since the last fsync round started. */
  #dirty = false;

  /**
   * @param settings the topic's settings now; the `settings` setter changes them
   * @param waiters woken as writes become readable, all released when the writer fails
   * @param onDisk the partition's directory and active log exist (an empty partition creates them with its first write)
   */
  constructor(target: WriterTarget, settings: TopicSettings, segments: SegmentList, snapshots: ProducerSnapshots, waiters: DataWaiters, onDisk: boolean) {
    this.#target = target;
    this.#segments = segments;
    this.#snapshots = snapshots;
    this.#waiters = waiters;
    this.#settings = settings;
    this.#onDisk = onDisk;
    this.#entriesSynced = onDisk;
  }

  set settings(settings: TopicSettings) {
    this.#settings = settings;
  }

  get failure(): StorageError | null {
    return this.#failure;
  }

  /** The partition has files: its first write created them. */
  get onDisk(): boolean {
    return this.#onDisk;
  }

  /** Queues a batch placed at `baseOffset`; resolves as `PartitionEngine.place` says. */
  write(batch: Uint8Array, header: AppendHeader, baseOffset: number, appendTimeMs: number, synced: boolean): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ kind: "write", batch, baseOffset, recordCount: header.recordCount, maxTimestamp: header.maxTimestamp, appendTimeMs, synced, resolve, reject });
      this.#kick();
    });
  }

  /** Queues a roll to a new segment at `baseOffset`, with the producer state as of there. */
  roll(baseOffset: number, snapshot: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind: "roll", baseOffset, snapshot, resolve, reject });
      this.#kick();
    });
  }

  /** Makes everything written so far durable; shares fsyncs with concurrent callers. */
  sync(): Promise<void> {
    return this.#commit.sync();
  }

  /** Resolves when no fsync round runs or is queued. */
  idle(): Promise<void> {
    return this.#commit.idle();
  }

  /**
   * Stops the writer: no more periodic fsyncs, and a writer waiting for
   * descriptors tries once more and then fails rather than waits; resolves
   * once it stopped writing.
   */
  async stop(): Promise<void> {
    this.#open = false;
    if (this.#stalled !== null) {
      clearTimeout(this.#stalled);
      this.#stalled = null;
      this.#kick();
    }
    while (this.#pumping !== null) await this.#pumping;
    if (this.#intervalTimer !== null) clearTimeout(this.#intervalTimer);
  }

  /** Records the first I/O failure and fails everything queued: offsets were assigned, so nothing after a failed write may land. */
  fail(error: unknown): StorageError {
    if (this.#failure === null) {
      const message = error instanceof Error ? error.message : String(error);
      this.#failure =
        error instanceof StorageError
          ? error
          : new StorageError("STORAGE", `partition ${this.#target.topic}/${this.#target.partition} failed (${message}); it takes no appends until the storage is reopened`, { cause: error });
      const queued = this.#queue;
      this.#queue = [];
      for (const op of queued) op.reject(this.#failure);
      this.#waiters.closeAll();
    }
    return this.#failure;
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
        const segment = this.#segments.active;
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
      if (isOutOfDescriptors(error) && !this.#rolling && this.#open) {
        this.#stalled = setTimeout(() => {
          this.#stalled = null;
          this.#kick();
        }, DESCRIPTOR_RETRY_MS);
        return;
      }
      this.fail(error);
    }
  }

  /** Creates the partition's directory and first log file, before its first write. */
  async #materialize(): Promise<void> {
    await mkdir(this.#target.directory, { recursive: true });
    await this.#segments.active.useLog(() => Promise.resolve());
    this.#onDisk = true;
  }

  /** Indexes written batches, moves the high watermark past them, and answers their appends (after an fsync where asked). */
  #completeWrites(segment: DiskSegment, ops: WriteOp[]): void {
    this.#dirty = true;
    let position = segment.size;
    for (const op of ops) {
      segment.noteBatch(position, op.baseOffset, op.batch.byteLength, op.recordCount, op.maxTimestamp);
      position += op.batch.byteLength;
    }
    const logStartOffset = BigInt(this.#segments.logStart);
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
    this.#waiters.advance(segment.endOffset);
    if (this.#settings.fsyncPolicy === "interval" && this.#intervalTimer === null) {
      this.#intervalTimer = setTimeout(() => {
        this.#intervalTimer = null;
        if (this.#open) this.#commit.sync().catch(() => undefined);
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
      const segment = this.#segments.active;
      const offsetEntries = segment.index.length;
      const timeEntries = segment.times.length;
      const { directory, pool } = this.#target;
      for (;;) {
        try {
          await segment.useLog((handle) => handle.datasync());
          if (!this.#entriesSynced) {
            await pool.syncDirectory(directory);
            await pool.syncDirectory(dirname(directory));
            this.#entriesSynced = true;
          }
          await segment.flushActiveIndexes(offsetEntries, timeEntries);
          return;
        } catch (error) {
          // Written but not yet durable: every step may be repeated.
          if (isOutOfDescriptors(error) && this.#open) {
            await new Promise((resolve) => setTimeout(resolve, DESCRIPTOR_RETRY_MS));
            continue;
          }
          throw this.fail(error);
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
    const { directory, pool, indexInterval } = this.#target;
    await this.#io.run(async () => {
      await this.#segments.active.sealAndSync();
      const fresh = await DiskSegment.create(pool, directory, baseOffset, indexInterval);
      // Also makes the new log's directory entry durable.
      await this.#snapshots.writeAtRoll(baseOffset, snapshot);
      this.#segments.push(fresh);
    });
    this.#rolling = false;
    await this.#snapshots.prune();
  }
}
