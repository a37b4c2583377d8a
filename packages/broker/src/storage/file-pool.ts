import { constants } from "node:fs";
import { open, readdir, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { StorageError } from "./errors.js";

/** Default of `maxOpenFiles`: far below the common `ulimit -n` of 1024, leaving room for connections. */
export const DEFAULT_MAX_OPEN_FILES = 256;
const MIN_MAX_OPEN_FILES = 4;
/** Linux's default ceiling of any process's descriptor limit (`fs.nr_open`). */
const MAX_MAX_OPEN_FILES = 1_048_576;

/**
 * Descriptors the disk engine may hold beyond `maxOpenFiles`: recursive
 * removals (`fs.rm` of a deleted topic) read directories inside libuv's
 * thread pool, at most one per thread, 4 unless UV_THREADPOOL_SIZE says
 * otherwise. Every other file the engine opens goes through the pool.
 */
export const OPEN_FILES_MARGIN = 4;

/** Rejects a `maxOpenFiles` that is not an integer from 4 to 1 048 576, before any storage is opened. */
export function checkMaxOpenFiles(n: number | undefined): void {
  if (n === undefined) return;
  if (!Number.isInteger(n) || n < MIN_MAX_OPEN_FILES || n > MAX_MAX_OPEN_FILES) {
    throw new StorageError("INVALID_ARGUMENT", `maxOpenFiles must be an integer from ${MIN_MAX_OPEN_FILES} to ${MAX_MAX_OPEN_FILES}, got ${n}`);
  }
}

/**
 * Whether `error` is the pool's "out of file descriptors" (the process, not
 * the pool, ran out, and the pool had no idle file to close): a condition
 * that passes when sockets or other files close, unlike an I/O error.
 */
export function isOutOfDescriptors(error: unknown): boolean {
  if (!(error instanceof StorageError)) return false;
  const code = errno(error.cause);
  return code === "EMFILE" || code === "ENFILE";
}

/** Read-write, created if missing, never truncated (positional writes need no O_APPEND). */
const READ_WRITE_CREATE = constants.O_RDWR | constants.O_CREAT;

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/**
 * Every file descriptor the disk engine opens, bounded by `limit`: long-lived
 * files ({@link PooledFile}, the segment logs and the offsets journal) stay
 * open while idle and are closed least recently used first when a slot is
 * needed, the idle log of a partition's active segment after every other
 * idle file; short-lived ones (index files, snapshots, metadata, directory
 * syncs and reads) hold a slot only while in use. A caller waits when every
 * slot is in use. No caller ever asks for a second slot while holding one,
 * so waiting cannot deadlock.
 */
export class FilePool {
  readonly limit: number;
  /** Slots taken: descriptors open or being opened or closed. */
  #taken = 0;
  /** Idle open files in least-recently-used order (Sets keep insertion order). */
  readonly #idle = new Set<PooledFile>();
  readonly #idleKept = new Set<PooledFile>();
  readonly #waiting: (() => void)[] = [];
  /** Per directory: the fsync running, and the one queued behind it. */
  readonly #directorySyncs = new Map<string, Promise<void>>();
  readonly #directorySyncsQueued = new Map<string, Promise<void>>();

  constructor(limit: number) {
    checkMaxOpenFiles(limit);
    this.limit = limit;
  }

  /** Descriptors the pool holds now (open, opening or closing). */
  get open(): number {
    return this.#taken;
  }

  /** A long-lived file; nothing is opened until its first use. */
  file(path: string, options: { create?: boolean } = {}): PooledFile {
    return new PooledFile(this, path, options.create === true);
  }

  /** Runs `fn` with `path` opened with `flags`, then closes it. */
  async withFile<T>(path: string, flags: string | number, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    const handle = await this.openHandle(path, flags);
    try {
      return await fn(handle);
    } finally {
      await handle.close().finally(() => this.release());
    }
  }

  /** The file's bytes; empty if it does not exist. */
  async readOptional(path: string): Promise<Uint8Array> {
    try {
      return await this.withFile(path, "r", (handle) => handle.readFile());
    } catch (error) {
      if (errno(error) === "ENOENT") return new Uint8Array(0);
      throw error;
    }
  }

  /** The file's text, or null if it does not exist. */
  async readText(path: string): Promise<string | null> {
    try {
      return await this.withFile(path, "r", (handle) => handle.readFile("utf8"));
    } catch (error) {
      if (errno(error) === "ENOENT") return null;
      throw error;
    }
  }

  /** Replaces the file's content (not atomically). */
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.withFile(path, "w", (handle) => handle.writeFile(data));
  }

  /** Writes `bytes` at `position`, creating the file if missing. */
  writeAt(path: string, bytes: Uint8Array, position: number): Promise<void> {
    return this.withFile(path, READ_WRITE_CREATE, async (handle) => {
      await handle.write(bytes, 0, bytes.byteLength, position);
    });
  }

  /** fdatasyncs a file, creating it (empty) if missing. */
  syncFile(path: string): Promise<void> {
    return this.withFile(path, READ_WRITE_CREATE, (handle) => handle.datasync());
  }

  /**
   * fsyncs a directory so entries created, renamed or removed in it survive
   * a power loss. Concurrent calls for one directory share fsyncs (the
   * first partitions of a topic written at once sync its directory once):
   * a call is served by the next fsync that starts after it.
   */
  syncDirectory(path: string): Promise<void> {
    const queued = this.#directorySyncsQueued.get(path);
    if (queued !== undefined) return queued;
    const running = this.#directorySyncs.get(path);
    if (running === undefined) return this.#startDirectorySync(path);
    const next = running
      .catch(() => undefined)
      .then(() => {
        this.#directorySyncsQueued.delete(path);
        return this.#startDirectorySync(path);
      });
    this.#directorySyncsQueued.set(path, next);
    return next;
  }

  #startDirectorySync(path: string): Promise<void> {
    const round = this.withFile(path, "r", (handle) => handle.sync()).finally(() => {
      if (this.#directorySyncs.get(path) === round) this.#directorySyncs.delete(path);
    });
    this.#directorySyncs.set(path, round);
    return round;
  }

  /** A directory's entry names (reading a directory takes a descriptor too). */
  async readdir(path: string): Promise<string[]> {
    await this.#acquire();
    try {
      return await this.#retrying(path, () => readdir(path));
    } finally {
      this.release();
    }
  }

  /**
   * Replaces `path` with `data` atomically: write a temporary file, fsync it,
   * rename it over the target, fsync the directory. A crash leaves either the
   * old or the new content, never a mix.
   */
  async writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
    const temporary = `${path}.tmp`;
    try {
      await this.withFile(temporary, "w", async (handle) => {
        await handle.writeFile(data);
        await handle.sync();
      });
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await rename(temporary, path);
    await this.syncDirectory(dirname(path));
  }

  /** Opens a descriptor in a slot of its own; the caller closes it and calls {@link release}. */
  async openHandle(path: string, flags: string | number): Promise<FileHandle> {
    await this.#acquire();
    try {
      return await this.#retrying(path, () => open(path, flags));
    } catch (error) {
      this.release();
      throw error;
    }
  }

  /**
   * Runs `attempt` (which takes one descriptor) in a slot already held. Out
   * of descriptors (EMFILE, ENFILE: the process's limit is below
   * `maxOpenFiles` plus what connections use), idle files are closed to make
   * room before giving up with STORAGE.
   */
  async #retrying<T>(path: string, attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        const code = errno(error);
        if (code !== "EMFILE" && code !== "ENFILE") throw error;
        const victim = this.#oldestIdle();
        if (victim === undefined) {
          throw new StorageError("STORAGE", `out of file descriptors (${code}) opening ${path}: the process's limit (ulimit -n) is below storage.maxOpenFiles (${this.limit}) plus what connections use`, { cause: error });
        }
        // The victim's slot goes back; the one held is kept for the retry.
        await victim.evict();
        this.release();
      }
    }
  }

  /** Gives a slot back: to the longest waiter, or free. */
  release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#taken--;
  }

  async #acquire(): Promise<void> {
    if (this.#taken < this.limit) {
      this.#taken++;
      return;
    }
    const victim = this.#oldestIdle();
    if (victim !== undefined) {
      // The victim's slot passes to this caller once its descriptor is closed.
      await victim.evict();
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #oldestIdle(): PooledFile | undefined {
    for (const idle of [this.#idle, this.#idleKept]) {
      for (const file of idle) {
        idle.delete(file);
        return file;
      }
    }
    return undefined;
  }

  /** A pooled file's descriptor is free for others to reclaim (or is closed at once for a waiter). */
  idle(file: PooledFile): void {
    if (this.#waiting.length > 0) {
      void file.evict().then(() => this.release());
      return;
    }
    (file.keep ? this.#idleKept : this.#idle).add(file);
  }

  /** A pooled file is in use again, or closed: not a candidate for eviction. */
  busy(file: PooledFile): void {
    this.#idle.delete(file);
    this.#idleKept.delete(file);
  }
}

/**
 * A long-lived file of the pool (a segment log, the offsets journal): opened
 * on first use, kept open while idle, closed by the pool when it needs the
 * slot and reopened on the next use. Writes are positional, so a reopened
 * descriptor continues where the previous one left off.
 */
export class PooledFile {
  readonly path: string;
  readonly #pool: FilePool;
  #keep = false;
  #create: boolean;
  #handle: FileHandle | null = null;
  #opening: Promise<FileHandle> | null = null;
  #users = 0;

  constructor(pool: FilePool, path: string, create: boolean) {
    this.#pool = pool;
    this.path = path;
    this.#create = create;
  }

  /** Kept open in preference to other idle files (the log of a partition's active segment, the offsets journal). */
  get keep(): boolean {
    return this.#keep;
  }

  set keep(keep: boolean) {
    this.#keep = keep;
    if (this.#users === 0 && this.#handle !== null) {
      // Re-files an idle descriptor under its new preference.
      this.#pool.busy(this);
      this.#pool.idle(this);
    }
  }

  /** Runs `fn` with the open descriptor, which is not closed while `fn` runs. */
  async use<T>(fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    this.#users++;
    this.#pool.busy(this);
    try {
      return await fn(this.#handle ?? (await this.#open()));
    } finally {
      this.#users--;
      if (this.#users === 0 && this.#handle !== null) this.#pool.idle(this);
    }
  }

  #open(): Promise<FileHandle> {
    // A new file is created exclusively, so an existing one is never taken for it.
    this.#opening ??= this.#pool.openHandle(this.path, this.#create ? "wx+" : "r+").then(
      (handle) => {
        this.#handle = handle;
        this.#create = false;
        this.#opening = null;
        return handle;
      },
      (error: unknown) => {
        this.#opening = null;
        throw error;
      },
    );
    return this.#opening;
  }

  /** Closes the descriptor for the pool, keeping the slot for its caller. Only called while idle. */
  async evict(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close().catch(() => undefined);
  }

  /** Closes the descriptor, if open, and frees its slot; a later use opens it again. Call when no use is running. */
  async close(): Promise<void> {
    const handle = this.#handle ?? (this.#opening !== null ? await this.#opening.catch(() => null) : null);
    if (handle === null) return;
    this.#pool.busy(this);
    this.#handle = null;
    try {
      await handle.close();
    } finally {
      this.#pool.release();
    }
  }
}
