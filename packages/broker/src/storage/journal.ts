import { dirname } from "node:path";
import { crc32c } from "@polywire/wasm-codec";
import type { FilePool, PooledFile } from "./file-pool.js";
import { GroupCommit } from "./group-commit.js";

const FRAME = 8;

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.byteLength);
  view.setUint32(4, crc32c(payload));
  out.set(payload, FRAME);
  return out;
}

/**
 * A small durable journal: records framed as u32 length, u32 CRC-32C,
 * payload. Appends resolve once fsynced (concurrent appends share fsyncs);
 * opening replays the valid prefix and cuts a torn tail; `compact` swaps in
 * a rewritten file atomically. Its descriptor comes from the storage's
 * {@link FilePool}, so it counts against `maxOpenFiles` like any other.
 */
export class Journal {
  #chain: Promise<unknown> = Promise.resolve();
  readonly #commit: GroupCommit;
  readonly #path: string;
  readonly #pool: FilePool;
  readonly #file: PooledFile;
  #position: number;

  private constructor(path: string, pool: FilePool, position: number) {
    this.#path = path;
    this.#pool = pool;
    this.#file = pool.file(path);
    this.#file.keep = true;
    this.#position = position;
    this.#commit = new GroupCommit(() => this.#file.use((handle) => handle.datasync()));
  }

  /** Bytes in the file. */
  get size(): number {
    return this.#position;
  }

  /** Opens or creates the journal, returning it with the payloads of its valid records in order. */
  static async open(path: string, pool: FilePool): Promise<{ journal: Journal; records: Uint8Array[] }> {
    // "a+" creates a missing journal; the later positional writes use "r+".
    const bytes = await pool.withFile(path, "a+", (handle) => handle.readFile());
    const { records, at } = Journal.#validPrefix(bytes);
    if (at !== bytes.byteLength) {
      await pool.withFile(path, "r+", async (handle) => {
        await handle.truncate(at);
        await handle.sync();
      });
    }
    await pool.syncDirectory(dirname(path));
    return { journal: new Journal(path, pool, at), records };
  }

  /** The payloads of the valid records at the start of `bytes`, and where they end. */
  static #validPrefix(bytes: Uint8Array): { records: Uint8Array[]; at: number } {
    const records: Uint8Array[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at + FRAME <= bytes.byteLength) {
      const length = view.getUint32(at);
      if (at + FRAME + length > bytes.byteLength) break;
      const payload = bytes.subarray(at + FRAME, at + FRAME + length);
      if (crc32c(payload) !== view.getUint32(at + 4)) break;
      records.push(payload);
      at += FRAME + length;
    }
    return { records, at };
  }

  /** Appends one record; resolves once it is on stable storage. */
  append(payload: Uint8Array): Promise<void> {
    const bytes = frame(payload);
    const written = this.#chain.then(async () => {
      const at = this.#position;
      await this.#file.use((handle) => handle.write(bytes, 0, bytes.byteLength, at));
      this.#position = at + bytes.byteLength;
    });
    this.#chain = written.catch(() => undefined);
    return written.then(() => this.#commit.sync());
  }

  /**
   * Replaces the whole journal with the records `snapshot` returns, atomically.
   * `snapshot` runs after every earlier append is written, so it sees them.
   */
  compact(snapshot: () => readonly Uint8Array[]): Promise<void> {
    const done = this.#chain.then(async () => {
      const framed = snapshot().map(frame);
      await this.#commit.idle();
      // The next use opens the new file.
      await this.#file.close();
      await this.#pool.writeFileAtomic(this.#path, Buffer.concat(framed));
      this.#position = framed.reduce((n, f) => n + f.byteLength, 0);
    });
    this.#chain = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#commit.idle();
    await this.#file.close();
  }
}
