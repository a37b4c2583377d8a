import { open, type FileHandle } from "node:fs/promises";
import { crc32c } from "@polywire/wasm-codec";
import { syncDirectory, writeFileAtomic } from "./atomic-file.js";
import { GroupCommit } from "./group-commit.js";
import { dirname } from "node:path";

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
 * a rewritten file atomically.
 */
export class RecordLog {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly commit: GroupCommit;

  private constructor(
    private readonly path: string,
    private handle: FileHandle,
    private position: number,
  ) {
    this.commit = new GroupCommit(() => this.handle.datasync());
  }

  /** Bytes in the file. */
  get size(): number {
    return this.position;
  }

  /** Opens or creates the journal, returning it with the payloads of its valid records in order. */
  static async open(path: string): Promise<{ log: RecordLog; records: Uint8Array[] }> {
    const handle = await open(path, "a+").then(async (h) => {
      await h.close();
      return open(path, "r+");
    });
    const bytes = await handle.readFile();
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
    if (at !== bytes.byteLength) {
      await handle.truncate(at);
      await handle.sync();
    }
    await syncDirectory(dirname(path));
    return { log: new RecordLog(path, handle, at), records };
  }

  /** Appends one record; resolves once it is on stable storage. */
  append(payload: Uint8Array): Promise<void> {
    const bytes = frame(payload);
    const written = this.chain.then(async () => {
      const at = this.position;
      await this.handle.write(bytes, 0, bytes.byteLength, at);
      this.position = at + bytes.byteLength;
    });
    this.chain = written.catch(() => undefined);
    return written.then(() => this.commit.sync());
  }

  /**
   * Replaces the whole journal with the records `snapshot` returns, atomically.
   * `snapshot` runs after every earlier append is written, so it sees them.
   */
  compact(snapshot: () => readonly Uint8Array[]): Promise<void> {
    const done = this.chain.then(async () => {
      const framed = snapshot().map(frame);
      await this.commit.idle();
      await this.handle.close();
      await writeFileAtomic(this.path, Buffer.concat(framed));
      this.handle = await open(this.path, "r+");
      this.position = framed.reduce((n, f) => n + f.byteLength, 0);
    });
    this.chain = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.commit.idle();
    await this.handle.close();
  }
}
