import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { openDiskStorage } from "../src/storage/disk.js";
import { GroupCommit } from "../src/storage/group-commit.js";
import { ProducerStateTable } from "../src/storage/producer-state.js";
import { OffsetIndex, TimeIndex } from "../src/storage/segment-index.js";
import type { AppendHeader } from "../src/storage/storage.js";
import { codecReady, tempDirectory } from "./storage-fixtures.js";
import { commit, offsetBook } from "./storage/contract/support.js";

beforeAll(() => codecReady);

function header(baseSequence: number, recordCount: number, producerEpoch = 0): AppendHeader {
  return { recordCount, firstTimestamp: 0, maxTimestamp: 0, producerId: 7n, producerEpoch, baseSequence };
}

const granted = (): number => 0;

describe("producer state", () => {
  it("PW-IDEM-002: sequences wrap from 2^31-1 to 0, and a batch spanning the wrap is deduplicated", () => {
    const table = new ProducerStateTable(5);
    table.record(7n, 0, 2 ** 31 - 2, 3, 100);
    expect(table.check(header(1, 1), granted)).toEqual({ duplicateOf: null });
    expect(() => table.check(header(0, 1), granted)).toThrow(expect.objectContaining({ code: "OUT_OF_ORDER_SEQUENCE" }));
    expect(table.check(header(2 ** 31 - 2, 3), granted)).toEqual({ duplicateOf: 100 });
    table.record(7n, 0, 1, 1, 103);
    expect(table.check(header(2, 4), granted)).toEqual({ duplicateOf: null });
  });

  it("PW-IDEM-006: snapshots round-trip and a damaged one is refused, never half-read", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 1, max: 12 })), { maxLength: 20 }), (producers) => {
        const table = new ProducerStateTable(5);
        let offset = 0;
        for (const [id, epoch, batches] of producers) {
          for (let b = 0; b < batches; b++) table.record(id, epoch, b * 10, 10, (offset += 10));
        }
        const bytes = table.encode();
        const copy = ProducerStateTable.decode(bytes, 5);
        expect(copy?.encode()).toEqual(bytes);
        if (bytes.byteLength > 8) {
          const damaged = bytes.slice();
          damaged[4] = damaged[4]! ^ 0xff;
          expect(ProducerStateTable.decode(damaged, 5)).toBeNull();
          expect(ProducerStateTable.decode(bytes.subarray(0, bytes.byteLength - 1), 5)).toBeNull();
        }
      }),
    );
  });
});

describe("group commit", () => {
  it("PW-LOG-006: callers share rounds, a caller during a round waits for the next one, rounds never overlap", async () => {
    let running = 0;
    let rounds = 0;
    let maxConcurrent = 0;
    const commit = new GroupCommit(async () => {
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      rounds++;
      await new Promise((r) => setTimeout(r, 10));
      running--;
    });
    const firstRound = commit.sync();
    const order: string[] = [];
    const waiting = Array.from({ length: 50 }, (_, i) => commit.sync().then(() => order.push(`w${i}`)));
    await firstRound.then(() => order.push("first"));
    await Promise.all(waiting);
    expect(rounds).toBe(2);
    expect(maxConcurrent).toBe(1);
    expect(order[0]).toBe("first");
    await commit.sync();
    expect(rounds).toBe(3);
  });

  it("a failed round rejects its callers and the next round still runs", async () => {
    let fail = true;
    const commit = new GroupCommit(async () => {
      await new Promise((r) => setTimeout(r, 1));
      if (fail) {
        fail = false;
        throw new Error("disk on fire");
      }
    });
    const a = commit.sync();
    const b = commit.sync();
    await expect(a).rejects.toThrow("disk on fire");
    await expect(b).resolves.toBeUndefined();
  });
});

describe("segment indexes", () => {
  it("offset index files keep only their plausible prefix (torn, zero-filled or out-of-range entries dropped)", () => {
    const index = new OffsetIndex();
    index.add(3, 4100);
    index.add(9, 8300);
    index.add(15, 12500);
    const bytes = index.encode(0, 3);
    expect(OffsetIndex.decode(bytes, 20_000)).toMatchObject({ intact: true });
    expect(OffsetIndex.decode(bytes, 20_000).index.lookup(10)).toBe(8300);
    expect(OffsetIndex.decode(bytes, 20_000).index.lookup(2)).toBe(0);
    const torn = OffsetIndex.decode(bytes.subarray(0, 21), 20_000);
    expect([torn.intact, torn.index.length]).toEqual([false, 2]);
    const zeros = OffsetIndex.decode(new Uint8Array([...bytes, ...new Uint8Array(16)]), 20_000);
    expect([zeros.intact, zeros.index.length]).toEqual([false, 3]);
    expect(OffsetIndex.decode(bytes, 10_000).index.length).toBe(2);
  });

  it("index rows grow past every capacity keeping each row, and a lower length drops the rows past it", () => {
    const times = new TimeIndex();
    for (let i = 0; i < 1000; i++) times.add(1_700_000_000_000 + i * 7, i * 3);
    expect(times.length).toBe(1000);
    expect([times.timestampAt(0), times.relativeAt(0), times.timestampAt(999), times.relativeAt(999)]).toEqual([1_700_000_000_000, 0, 1_700_000_006_993, 2997]);
    expect(times.lastBelow(1_700_000_000_000 + 500 * 7)).toBe(499 * 3);
    times.length = 10;
    expect(times.lastTimestamp).toBe(1_700_000_000_063);
    times.add(1_800_000_000_000, 5000);
    expect([times.length, times.relativeAt(10)]).toEqual([11, 5000]);
    // A second index shares nothing with the first.
    expect(new TimeIndex().lastTimestamp).toBe(-Infinity);
  });

  it("PW-LOG-021: the time index finds the last entry below a timestamp", () => {
    const times = new TimeIndex();
    times.add(100, 0);
    times.add(250, 7);
    times.add(900, 30);
    expect(times.lastBelow(50)).toBe(-1);
    expect(times.lastBelow(100)).toBe(-1);
    expect(times.lastBelow(101)).toBe(0);
    expect(times.lastBelow(900)).toBe(7);
    expect(times.lastBelow(5000)).toBe(30);
    const decoded = TimeIndex.decode(times.encode(0, 3), 31);
    expect([decoded.intact, decoded.index.lastTimestamp]).toEqual([true, 900]);
    expect(TimeIndex.decode(times.encode(0, 3), 30).index.length).toBe(2);
  });
});

describe("committed offset journal", () => {
  it("compacts a journal of superseded commits and keeps every current offset across reopen", async () => {
    await using dir = await tempDirectory();
    let storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    const metadata = "m".repeat(1000);
    const book = offsetBook(storage);
    // Concurrent commits: compaction runs while later ones are written and not yet acknowledged.
    await Promise.all(Array.from({ length: 3000 }, (_, i) => book.write(commit("g", [["t", i % 3, BigInt(i), metadata]]))));
    await book.write(commit("h", [["u", 0, 1n, ""]]));
    await book.write({ kind: "delete-topic", topic: "gone" });
    await storage.close();
    const journal = join(dir.path, "group-offsets.log");
    // 3,000 records of over 1 KB were written; compaction left far fewer.
    expect((await stat(journal)).size).toBeLessThan(2 << 20);
    storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    try {
      const reopened = offsetBook(storage);
      expect(reopened.all("g").map((o) => [o.partition, o.offset])).toEqual([
        [0, 2997n],
        [1, 2998n],
        [2, 2999n],
      ]);
      expect([...reopened.groups()]).toEqual(["g", "h"]);
    } finally {
      await storage.close();
    }
    // A journal record that is not JSON is damage the store refuses to guess about.
    const { crc32c } = await import("@polywire/wasm-codec");
    const payload = new TextEncoder().encode("not json");
    const frame = Buffer.alloc(8 + payload.byteLength);
    frame.writeUInt32BE(payload.byteLength, 0);
    frame.writeUInt32BE(crc32c(payload), 4);
    frame.set(payload, 8);
    await writeFile(journal, Buffer.concat([await readFile(journal), frame]));
    await expect(openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 })).rejects.toMatchObject({ code: "STORAGE" });
  });
});
