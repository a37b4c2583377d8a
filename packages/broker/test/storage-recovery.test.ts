import { spawn } from "node:child_process";
import { cp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openDiskStorage } from "../src/storage/disk.js";
import { StorageError } from "../src/storage/errors.js";
import type { Storage } from "../src/storage/storage.js";
import { codecReady, makeBatch, recordsOf, tempDirectory } from "./storage-fixtures.js";
import { commit, offsetBook } from "./storage/contract/support.js";

beforeAll(() => codecReady);

const SEGMENT = "00000000000000000000";

function partitionDir(root: string, topic = "t", partition = 0): string {
  return join(root, "topics", topic, String(partition));
}

function open(directory: string, indexIntervalBytes = 4096): Promise<Storage> {
  return openDiskStorage({ directory, retentionCheckIntervalMs: 0, indexIntervalBytes });
}

/** Marks the last shutdown as a crash: recovery then checks CRCs and spot-checks indexes. */
async function forgetCleanShutdown(root: string): Promise<void> {
  await rm(join(root, "clean-shutdown"));
}

/** Writes `count` batches of `per` records ("b<i>.<j>") and closes; returns each batch's start position and size. */
async function seed(root: string, count: number, per: number, options: { indexIntervalBytes?: number; config?: Record<string, string> } = {}): Promise<{ start: number; size: number }[]> {
  const storage = await open(root, options.indexIntervalBytes);
  await storage.createTopic("t", { partitions: 1, config: { "retention.ms": "-1", ...options.config } });
  const log = storage.partition("t", 0);
  const positions: { start: number; size: number }[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const b = makeBatch({ values: Array.from({ length: per }, (_, j) => `b${i}.${j}`), timestamp: 1_000 + i * 10 });
    await log.append(b.bytes, b.header);
    positions.push({ start: at, size: b.bytes.byteLength });
    at += b.bytes.byteLength;
  }
  await storage.close();
  return positions;
}

function expectedRecords(batches: number, per: number): [bigint, string][] {
  const out: [bigint, string][] = [];
  for (let i = 0; i < batches; i++) for (let j = 0; j < per; j++) out.push([BigInt(i * per + j), `b${i}.${j}`]);
  return out;
}

/** Reopens, checks the log holds exactly the first `batches` batches, that appends continue right after them, and closes. */
async function expectPrefix(root: string, batches: number, per: number): Promise<void> {
  const storage = await open(root);
  try {
    const log = storage.partition("t", 0);
    expect(log.highWatermark()).toBe(BigInt(batches * per));
    expect(recordsOf(await log.read(0n, 1 << 20))).toEqual(expectedRecords(batches, per));
    const next = makeBatch({ values: ["after"] });
    expect((await log.append(next.bytes, next.header)).baseOffset).toBe(BigInt(batches * per));
    expect(recordsOf(await log.read(BigInt(batches * per), 1 << 20))).toEqual([[BigInt(batches * per), "after"]]);
  } finally {
    await storage.close();
  }
}

describe("disk storage recovery", () => {
  it("PW-IDEM-006: after a crash producer state is rebuilt from the log when no snapshot is usable", async () => {
    await using dir = await tempDirectory();
    let storage = await open(dir.path);
    await storage.createTopic("t", { partitions: 1 });
    const { producerId, producerEpoch } = await storage.initProducer(-1n, -1);
    const offsets: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      const b = makeBatch({ values: [`a${i}`, `b${i}`], producerId, producerEpoch, baseSequence: i * 2 });
      offsets.push((await storage.partition("t", 0).append(b.bytes, b.header)).baseOffset);
    }
    await storage.close();
    await forgetCleanShutdown(dir.path);
    for (const name of await readdir(partitionDir(dir.path))) {
      if (name.endsWith(".snapshot")) await rm(join(partitionDir(dir.path), name));
    }
    storage = await open(dir.path);
    try {
      const log = storage.partition("t", 0);
      for (let i = 3; i < 8; i++) {
        const retry = makeBatch({ values: ["x", "y"], producerId, producerEpoch, baseSequence: i * 2 });
        expect(await log.append(retry.bytes, retry.header)).toMatchObject({ baseOffset: offsets[i], duplicate: true });
      }
      const tooOld = makeBatch({ values: ["x", "y"], producerId, producerEpoch, baseSequence: 4 });
      await expect(log.append(tooOld.bytes, tooOld.header)).rejects.toMatchObject({ code: "OUT_OF_ORDER_SEQUENCE" });
      const next = makeBatch({ values: ["n"], producerId, producerEpoch, baseSequence: 16 });
      expect((await log.append(next.bytes, next.header)).baseOffset).toBe(16n);
    } finally {
      await storage.close();
    }
  });

  it("PW-LOG-030 PW-LOG-031: a tail torn at every byte of the last batch is cut back to exactly the valid prefix", async () => {
    await using dir = await tempDirectory();
    await using pristine = await tempDirectory();
    const positions = await seed(pristine.path, 5, 3);
    const last = positions[4]!;
    const logFile = join(partitionDir(dir.path), `${SEGMENT}.log`);
    for (let cut = last.start; cut < last.start + last.size; cut++) {
      await rm(dir.path, { recursive: true, force: true });
      await cp(pristine.path, dir.path, { recursive: true });
      await truncate(logFile, cut);
      if (cut % 2 === 0) await forgetCleanShutdown(dir.path);
      await expectPrefix(dir.path, 4, 3);
      // The torn bytes are gone: the file is the valid prefix plus the batch appended after recovery.
      expect((await stat(logFile)).size).toBe(last.start + makeBatch({ values: ["after"] }).bytes.byteLength);
    }
  });

  it("PW-LOG-030 PW-LOG-031: a byte flipped anywhere in the last batch is caught (CRC, length, magic, offset) and that batch dropped", async () => {
    await using dir = await tempDirectory();
    await using pristine = await tempDirectory();
    const positions = await seed(pristine.path, 5, 3);
    const last = positions[4]!;
    const logFile = join(partitionDir(dir.path), `${SEGMENT}.log`);
    for (let at = last.start; at < last.start + last.size; at++) {
      await rm(dir.path, { recursive: true, force: true });
      await cp(pristine.path, dir.path, { recursive: true });
      await forgetCleanShutdown(dir.path);
      const bytes = await readFile(logFile);
      bytes[at] = bytes[at]! ^ 0x5a;
      await writeFile(logFile, bytes);
      await expectPrefix(dir.path, 4, 3);
    }
  });

  it("a batch length damaged on disk after opening is a STORAGE error on read, not a buffer of that size", async () => {
    await using dir = await tempDirectory();
    await seed(dir.path, 3, 2);
    const storage = await open(dir.path);
    try {
      // The batch length field (bytes 8..11) of the first batch, as a disk fault or another process might leave it.
      const path = join(partitionDir(dir.path), `${SEGMENT}.log`);
      const bytes = await readFile(path);
      bytes.writeInt32BE(0x7fff_fff0, 8);
      await writeFile(path, bytes);
      const read = storage.partition("t", 0).read(0n, 1);
      await expect(read).rejects.toBeInstanceOf(StorageError);
      await expect(read).rejects.toMatchObject({ code: "STORAGE" });
    } finally {
      await storage.close();
    }
  });

  it("PW-LOG-030: garbage after the last batch (a zero-filled or partial write) is cut off", async () => {
    await using dir = await tempDirectory();
    await seed(dir.path, 3, 2);
    const logFile = join(partitionDir(dir.path), `${SEGMENT}.log`);
    await forgetCleanShutdown(dir.path);
    await writeFile(logFile, Buffer.concat([await readFile(logFile), Buffer.alloc(4096)]));
    await expectPrefix(dir.path, 3, 2);
  });

  it("PW-LOG-030: damage in the middle of the unsynced part of the active segment keeps the batches before it", async () => {
    await using dir = await tempDirectory();
    const positions = await seed(dir.path, 40, 2, { indexIntervalBytes: 256 });
    const part = partitionDir(dir.path);
    // As after a crash before any index entry was flushed: recovery must walk
    // the whole active segment.
    await writeFile(join(part, `${SEGMENT}.index`), new Uint8Array(0));
    await writeFile(join(part, `${SEGMENT}.timeindex`), new Uint8Array(0));
    await forgetCleanShutdown(dir.path);
    const logFile = join(part, `${SEGMENT}.log`);
    const bytes = await readFile(logFile);
    bytes[positions[25]!.start + 40] = bytes[positions[25]!.start + 40]! ^ 1;
    await writeFile(logFile, bytes);
    await expectPrefix(dir.path, 25, 2);
  });

  it("PW-LOG-021: damaged index files are rebuilt and reads and timestamp lookups stay exact", async () => {
    await using dir = await tempDirectory();
    await seed(dir.path, 200, 2, { indexIntervalBytes: 256, config: { "segment.bytes": "4096" } });
    const part = partitionDir(dir.path);
    for (const name of await readdir(part)) {
      const path = join(part, name);
      if (name.endsWith(".index")) await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([0, 0, 0])]));
      if (name.endsWith(".timeindex")) await writeFile(path, Buffer.from((await readFile(path)).subarray(0, 20).reverse()));
    }
    await forgetCleanShutdown(dir.path);
    const storage = await open(dir.path, 256);
    try {
      const log = storage.partition("t", 0);
      expect(log.stats().segments).toBeGreaterThan(3);
      for (let offset = 0; offset < 400; offset += 7) {
        const records = recordsOf(await log.read(BigInt(offset), 1), BigInt(offset));
        expect(records[0]).toEqual([BigInt(offset), `b${Math.floor(offset / 2)}.${offset % 2}`]);
      }
      for (let i = 0; i < 200; i += 13) {
        expect(await log.offsetForTimestamp(1_000 + i * 10)).toEqual({ offset: BigInt(i * 2), timestampMs: 1_000 + i * 10 });
      }
    } finally {
      await storage.close();
    }
  });

  it("PW-LOG-032: a crash between the steps of a segment roll loses nothing", async () => {
    await using dir = await tempDirectory();
    await seed(dir.path, 10, 1);
    const part = partitionDir(dir.path);
    // The next segment was created, the previous one's index files never
    // written (a segment this small may have had none yet).
    await writeFile(join(part, `${"10".padStart(20, "0")}.log`), new Uint8Array(0));
    await rm(join(part, `${SEGMENT}.index`), { force: true });
    await rm(join(part, `${SEGMENT}.timeindex`), { force: true });
    await forgetCleanShutdown(dir.path);
    const storage = await open(dir.path);
    try {
      const log = storage.partition("t", 0);
      expect(log.stats()).toMatchObject({ highWatermark: 10n, segments: 2 });
      expect(recordsOf(await log.read(3n, 1 << 20), 3n)[0]).toEqual([3n, "b3.0"]);
      expect(await log.offsetForTimestamp(1_050)).toEqual({ offset: 5n, timestampMs: 1_050 });
      const next = makeBatch({ values: ["x"] });
      expect((await log.append(next.bytes, next.header)).baseOffset).toBe(10n);
    } finally {
      await storage.close();
    }
  });

  it("PW-GROUP-040: committed offsets survive a torn journal tail", async () => {
    await using dir = await tempDirectory();
    let storage = await open(dir.path);
    let book = offsetBook(storage);
    for (let i = 0; i < 10; i++) await book.write(commit("g", [["t", i % 2, BigInt(i), ""]]));
    await storage.close();
    const journal = join(dir.path, "group-offsets.log");
    const bytes = await readFile(journal);
    await writeFile(journal, bytes.subarray(0, bytes.byteLength - 3));
    storage = await open(dir.path);
    try {
      book = offsetBook(storage);
      expect(book.all("g").map((o) => [o.partition, o.offset])).toEqual([
        [0, 8n],
        [1, 7n],
      ]);
      await book.write(commit("g", [["t", 1, 100n, ""]]));
    } finally {
      await storage.close();
    }
    storage = await open(dir.path);
    try {
      expect(offsetBook(storage).get("g", "t", 1)?.offset).toBe(100n);
    } finally {
      await storage.close();
    }
  });


  it("refuses a data directory another open storage holds", async () => {
    await using dir = await tempDirectory();
    const storage = await open(dir.path);
    try {
      await expect(open(dir.path)).rejects.toSatisfy((e: unknown) => e instanceof StorageError && e.code === "STORAGE");
    } finally {
      await storage.close();
    }
    const again = await open(dir.path);
    await again.close();
  });

  it("takes over a lock left by a killed process its parent has not reaped yet (a zombie)", async () => {
    await using dir = await tempDirectory();
    await (await open(dir.path)).close();
    // The shell starts a child that exits at once, then becomes `sleep`,
    // which never reaps it: the child stays a zombie until sleep ends.
    const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const zombiePid = Number.parseInt(String(await new Promise<Buffer>((resolve) => parent.stdout.once("data", resolve))), 10);
      await expect.poll(async () => (await readFile(`/proc/${zombiePid}/stat`, "utf8")).split(") ")[1]?.[0]).toBe("Z");
      await writeFile(join(dir.path, "lock"), String(zombiePid));
      const storage = await open(dir.path);
      await storage.close();
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("refuses a data directory of another layout version", async () => {
    await using dir = await tempDirectory();
    await (await open(dir.path)).close();
    await writeFile(join(dir.path, "storage.json"), JSON.stringify({ format: 99 }));
    await expect(open(dir.path)).rejects.toMatchObject({ code: "STORAGE" });
  });
});
