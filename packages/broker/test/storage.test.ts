import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { readBatchHeader } from "@polywire/wasm-codec";
import { StorageError } from "../src/storage/errors.js";
import type { Storage } from "../src/storage/storage.js";
import { codecReady, engines, makeBatch, recordsOf, tempDirectory, type Engine } from "./storage-fixtures.js";

beforeAll(() => codecReady);

/** Runs `body` with a fresh storage of `engine` in a temp directory, closing and cleaning up after. */
async function withStorage(engine: Engine, body: (storage: Storage, directory: string) => Promise<void>, options?: Parameters<Engine["open"]>[1]): Promise<void> {
  await using dir = await tempDirectory();
  const storage = await engine.open(dir.path, options);
  try {
    await body(storage, dir.path);
  } finally {
    await storage.close();
  }
}

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe(code);
    return;
  }
  throw new Error(`expected StorageError ${code}, but it succeeded`);
}

describe.each(engines)("storage contract ($name engine)", (engine) => {
  it("PW-LOG-002 PW-LOG-030: appends get dense consecutive offsets from the high watermark, written into base_offset", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 2 });
      const log = storage.partition("t", 1);
      expect(log.highWatermark()).toBe(0n);
      const first = makeBatch({ values: ["a", "b", "c"] });
      const second = makeBatch({ values: ["d"] });
      const r1 = await log.append(first.bytes, first.header);
      const r2 = await log.append(second.bytes, second.header);
      expect([r1.baseOffset, r2.baseOffset]).toEqual([0n, 3n]);
      expect(r1.duplicate).toBe(false);
      expect(readBatchHeader(second.bytes).baseOffset).toBe(3n);
      expect(log.highWatermark()).toBe(4n);
      expect(log.logStartOffset()).toBe(0n);
      expect(storage.partition("t", 0).highWatermark()).toBe(0n);
      expect(recordsOf(await log.read(0n, 1 << 20))).toEqual([
        [0n, "a"],
        [1n, "b"],
        [2n, "c"],
        [3n, "d"],
      ]);
    });
  });

  it("PW-LOG-007: concurrent appends to one partition land in call order", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => makeBatch({ values: [`v${i}`, `w${i}`] })).map((b) => log.append(b.bytes, b.header)));
      expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i * 2)));
      const records = recordsOf(await log.read(0n, 1 << 24));
      expect(records.length).toBe(400);
      expect(records[399]).toEqual([399n, "w199"]);
    });
  });

  it("PW-LOG-011 PW-LOG-013: reads return whole batches from the one holding the offset, the first even above max bytes", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const batches = [makeBatch({ values: ["a", "b", "c"] }), makeBatch({ values: ["d", "e"] }), makeBatch({ values: ["f"] })];
      for (const b of batches) await log.append(b.bytes, b.header);
      const sizes = batches.map((b) => b.bytes.byteLength);

      const middle = await log.read(1n, 1 << 20);
      expect(recordsOf(middle)[0]).toEqual([0n, "a"]);
      expect(recordsOf(middle, 1n)[0]).toEqual([1n, "b"]);
      expect(middle.size).toBe(sizes[0]! + sizes[1]! + sizes[2]!);
      expect(middle.highWatermark).toBe(6n);
      expect(middle.logStartOffset).toBe(0n);

      const tiny = await log.read(4n, 1);
      expect(tiny.size).toBe(sizes[1]);
      expect(recordsOf(tiny)).toEqual([
        [3n, "d"],
        [4n, "e"],
      ]);

      const two = await log.read(0n, sizes[0]! + sizes[1]! + sizes[2]! - 1);
      expect(two.size).toBe(sizes[0]! + sizes[1]!);
    });
  });

  it("PW-LOG-031 PW-COMP-009: stored batches are served byte for byte as appended, compressed ones included", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const plain = makeBatch({ values: ["x".repeat(100)] });
      const zipped = makeBatch({ values: Array.from({ length: 50 }, (_, i) => `record ${i} `.repeat(20)), compression: "gzip" });
      expect(zipped.header.compression).toBe("gzip");
      await log.append(plain.bytes, plain.header);
      await log.append(zipped.bytes, zipped.header);
      const read = await log.read(0n, 1 << 20);
      const bytes = Buffer.concat(read.chunks.map((c) => Buffer.from(c)));
      expect(bytes.equals(Buffer.concat([Buffer.from(plain.bytes), Buffer.from(zipped.bytes)]))).toBe(true);
      expect(recordsOf(read)[50]).toEqual([50n, `record 49 `.repeat(20)]);
    });
  });

  it("PW-LOG-012 PW-LOG-015: a read at the high watermark is empty; outside [log start, high watermark] is OFFSET_OUT_OF_RANGE", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const empty = await log.read(0n, 100);
      expect(empty.size).toBe(0);
      const b = makeBatch({ values: ["a", "b"] });
      await log.append(b.bytes, b.header);
      expect((await log.read(2n, 100)).chunks).toEqual([]);
      await expectCode(log.read(3n, 100), "OFFSET_OUT_OF_RANGE");
      await expectCode(log.read(-1n, 100), "OFFSET_OUT_OF_RANGE");
    });
  });

  it("PW-LOG-021: offset for timestamp is the first record at or after it, inside batches and across them", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      expect(await log.offsetForTimestamp(0)).toBeNull();
      const a = makeBatch({ values: ["a", "b", "c"], timestamps: [1000, 3000, 2000] });
      const b = makeBatch({ values: ["d", "e"], timestamps: [2500, 5000] });
      await log.append(a.bytes, a.header);
      await log.append(b.bytes, b.header);
      expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0n, timestampMs: 1000 });
      expect(await log.offsetForTimestamp(1500)).toEqual({ offset: 1n, timestampMs: 3000 });
      expect(await log.offsetForTimestamp(3000)).toEqual({ offset: 1n, timestampMs: 3000 });
      expect(await log.offsetForTimestamp(3001)).toEqual({ offset: 4n, timestampMs: 5000 });
      expect(await log.offsetForTimestamp(5001)).toBeNull();
    });
  });

  it("PW-LOG-021: timestamp lookup stays exact with many batches, sparse indexes and several segments", async () => {
    await withStorage(
      engine,
      async (storage) => {
        await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": "4096" } });
        const log = storage.partition("t", 0);
        for (let i = 0; i < 300; i++) {
          // Mostly rising timestamps with a dip every tenth batch.
          const ts = i % 10 === 9 ? 10_000 + i * 100 - 5_000 : 10_000 + i * 100;
          const b = makeBatch({ values: [`v${i}`.padEnd(40, ".")], timestamp: ts });
          await log.append(b.bytes, b.header);
        }
        expect(log.stats().segments).toBeGreaterThan(3);
        for (const target of [0, 10_000, 10_050, 14_901, 20_000, 39_900, 39_901]) {
          let expected: { offset: bigint; timestampMs: number } | null = null;
          for (let i = 0; i < 300; i++) {
            const ts = i % 10 === 9 ? 10_000 + i * 100 - 5_000 : 10_000 + i * 100;
            if (ts >= target) {
              expected = { offset: BigInt(i), timestampMs: ts };
              break;
            }
          }
          expect(await log.offsetForTimestamp(target)).toEqual(expected);
        }
      },
      { indexIntervalBytes: 256 },
    );
  });

  it("PW-LOG-014: waitForData resolves when data arrives past the offset, false on abort", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const waiting = log.waitForData(0n);
      const controller = new AbortController();
      const aborted = log.waitForData(5n, controller.signal);
      const b = makeBatch({ values: ["a"] });
      await log.append(b.bytes, b.header);
      expect(await waiting).toBe(true);
      controller.abort();
      expect(await aborted).toBe(false);
      expect(await log.waitForData(0n)).toBe(true);
    });
  });

  it("PW-LOG-006: synced appends and sync() resolve once durable", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1, config: { "fsync.policy": "never" } });
      const log = storage.partition("t", 0);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => makeBatch({ values: [`s${i}`] })).map((b) => log.append(b.bytes, b.header, { durability: "synced" })),
      );
      expect(results.at(-1)?.baseOffset).toBe(49n);
      await log.sync();
      expect(log.highWatermark()).toBe(50n);
    });
  });

  it("rolls segments by segment.bytes and segment.ms and reads across them without gaps", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": "1024" } });
      const log = storage.partition("t", 0);
      for (let i = 0; i < 60; i++) {
        const b = makeBatch({ values: [`${i}`.padStart(100, "0")] });
        await log.append(b.bytes, b.header);
      }
      const stats = log.stats();
      expect(stats.segments).toBeGreaterThanOrEqual(7);
      expect(stats.highWatermark).toBe(60n);
      const records = recordsOf(await log.read(0n, 1 << 20));
      expect(records.map(([o]) => o)).toEqual(Array.from({ length: 60 }, (_, i) => BigInt(i)));
      expect(recordsOf(await log.read(33n, 1 << 20), 33n)[0]).toEqual([33n, "33".padStart(100, "0")]);

      await storage.createTopic("aged", { partitions: 1, config: { "segment.ms": "1" } });
      const aged = storage.partition("aged", 0);
      for (let i = 0; i < 3; i++) {
        const b = makeBatch({ values: [`a${i}`] });
        await aged.append(b.bytes, b.header);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(aged.stats().segments).toBe(3);
    });
  });

  it("PW-LOG-033: retention.bytes deletes whole head segments only, advancing the log start offset without gaps", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": "1024", "retention.bytes": "3000", "retention.ms": "-1" } });
      const log = storage.partition("t", 0);
      for (let i = 0; i < 100; i++) {
        const b = makeBatch({ values: [`${i}`.padStart(100, "0")] });
        await log.append(b.bytes, b.header);
      }
      const before = log.stats();
      await storage.runRetention();
      const after = log.stats();
      expect(after.segments).toBeLessThan(before.segments);
      expect(after.sizeBytes).toBeGreaterThanOrEqual(3000 - 1024);
      expect(after.sizeBytes - 1024).toBeLessThan(3000);
      const start = log.logStartOffset();
      expect(start).toBeGreaterThan(0n);
      expect(after.highWatermark).toBe(100n);
      await expectCode(log.read(start - 1n, 100), "OFFSET_OUT_OF_RANGE");
      const records = recordsOf(await log.read(start, 1 << 20));
      expect(records[0]?.[0]).toBe(start);
      expect(records.map(([o]) => o)).toEqual(Array.from({ length: Number(100n - start) }, (_, i) => start + BigInt(i)));
    });
  });

  it("PW-LOG-033: retention.ms deletes expired head segments, the active one included once it is rolled", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": "1024", "retention.ms": "60000" } });
      const log = storage.partition("t", 0);
      for (let i = 0; i < 30; i++) {
        const b = makeBatch({ values: [`${i}`.padStart(100, "0")], timestamp: 1_000_000 + i * 1000 });
        await log.append(b.bytes, b.header);
      }
      const segments = log.stats().segments;
      // Records stamped up to 1_029_000: at 1_075_000 only segments whose
      // newest record is older than 1_015_000 are expired.
      await storage.runRetention(1_075_000);
      const start = log.logStartOffset();
      expect(start).toBeGreaterThan(0n);
      expect(start).toBeLessThanOrEqual(16n);
      expect(log.stats().segments).toBeLessThan(segments);
      await storage.runRetention(10_000_000);
      expect(log.logStartOffset()).toBe(30n);
      expect(log.highWatermark()).toBe(30n);
      expect((await log.read(30n, 100)).size).toBe(0);
      const b = makeBatch({ values: ["after"] });
      expect((await log.append(b.bytes, b.header)).baseOffset).toBe(30n);
      expect(recordsOf(await log.read(30n, 100))).toEqual([[30n, "after"]]);
    });
  });

  it("topics: create, list, describe, alter config, grow partitions, delete, with typed errors", async () => {
    await withStorage(engine, async (storage) => {
      const created = await storage.createTopic("orders", { partitions: 2, config: { "retention.ms": "1000" } });
      expect(created.partitions).toBe(2);
      expect(created.config["retention.ms"]).toBe("1000");
      expect(created.config["segment.bytes"]).toBe("1073741824");
      expect(created.overrides).toEqual({ "retention.ms": "1000" });
      await storage.createTopic("a", { partitions: 1 });
      expect(storage.listTopics().map((t) => t.name)).toEqual(["a", "orders"]);

      await expectCode(storage.createTopic("orders", { partitions: 1 }), "TOPIC_ALREADY_EXISTS");
      await expectCode(storage.createTopic("bad/name", { partitions: 1 }), "INVALID_TOPIC");
      await expectCode(storage.createTopic("..", { partitions: 1 }), "INVALID_TOPIC");
      await expectCode(storage.createTopic("x", { partitions: 0 }), "INVALID_ARGUMENT");
      await expectCode(storage.createTopic("x", { partitions: 1, config: { "retention.mss": "1" } }), "INVALID_CONFIG");
      await expectCode(storage.createTopic("x", { partitions: 1, config: { "fsync.policy": "sometimes" } }), "INVALID_CONFIG");
      await expectCode(storage.createTopic("x", { partitions: 1, config: { "segment.bytes": "12abc" } }), "INVALID_CONFIG");
      expect(storage.listTopics().map((t) => t.name)).toEqual(["a", "orders"]);

      const b = makeBatch({ values: ["keep"] });
      await storage.partition("orders", 1).append(b.bytes, b.header);
      const grown = await storage.alterTopic("orders", { partitions: 5, set: { "segment.bytes": "2048" }, reset: ["retention.ms"] });
      expect(grown.partitions).toBe(5);
      expect(grown.overrides).toEqual({ "segment.bytes": "2048" });
      expect(grown.config["retention.ms"]).toBe("604800000");
      expect(storage.partition("orders", 1).highWatermark()).toBe(1n);
      expect(storage.partition("orders", 4).highWatermark()).toBe(0n);
      await expectCode(storage.alterTopic("orders", { partitions: 3 }), "INVALID_ARGUMENT");
      await expectCode(storage.alterTopic("orders", { set: { "max.message.bytes": "-5" } }), "INVALID_CONFIG");
      await expectCode(storage.alterTopic("nope", { partitions: 3 }), "UNKNOWN_TOPIC");
      expect(storage.topic("orders").partitions).toBe(5);

      await expectCode(() => storage.partition("nope", 0), "UNKNOWN_TOPIC");
      await expectCode(() => storage.partition("orders", 5), "UNKNOWN_PARTITION");
      await expectCode(() => storage.partition("orders", 0.5), "UNKNOWN_PARTITION");

      const handle = storage.partition("orders", 1);
      const waiting = handle.waitForData(1n);
      await storage.deleteTopic("orders");
      expect(await waiting).toBe(false);
      await expectCode(handle.append(b.bytes, b.header), "UNKNOWN_TOPIC");
      await expectCode(() => storage.topic("orders"), "UNKNOWN_TOPIC");
      await expectCode(storage.deleteTopic("orders"), "UNKNOWN_TOPIC");
      const again = await storage.createTopic("orders", { partitions: 1 });
      expect(again.partitions).toBe(1);
      expect(storage.partition("orders", 0).highWatermark()).toBe(0n);
    });
  });

  it("PW-ADMIN-010: a topic with the longest allowed name (249 characters) can be deleted, and stays deleted after reopening", async () => {
    await using dir = await tempDirectory();
    const name = `t${"x".repeat(248)}`;
    const first = await engine.open(dir.path);
    await first.createTopic(name, { partitions: 2 });
    const b = makeBatch({ values: ["v"] });
    await first.partition(name, 0).append(b.bytes, b.header);
    await first.deleteTopic(name);
    expect(first.listTopics().map((t) => t.name)).toEqual([]);
    await first.close();
    const second = await engine.open(dir.path);
    try {
      expect(second.listTopics().map((t) => t.name)).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it("max.message.bytes: a larger batch is rejected with BATCH_TOO_LARGE and nothing is stored (PW-ADMIN-021)", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1, config: { "max.message.bytes": "200" } });
      const log = storage.partition("t", 0);
      const big = makeBatch({ values: ["x".repeat(300)] });
      await expectCode(log.append(big.bytes, big.header), "BATCH_TOO_LARGE");
      expect(log.highWatermark()).toBe(0n);
    });
  });

  it("PW-IDEM-001: producer ids are granted, epochs bump and fence, unknown ids are refused", async () => {
    await withStorage(engine, async (storage) => {
      const a = await storage.initProducer(-1n, -1);
      const b = await storage.initProducer(-1n, -1);
      expect(a).toEqual({ producerId: 0n, producerEpoch: 0 });
      expect(b.producerId).toBe(1n);
      const bumped = await storage.initProducer(a.producerId, 0);
      expect(bumped).toEqual({ producerId: 0n, producerEpoch: 1 });
      await expectCode(storage.initProducer(a.producerId, 0), "PRODUCER_FENCED");
      await expectCode(storage.initProducer(99n, 0), "UNKNOWN_PRODUCER");

      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const stale = makeBatch({ values: ["x"], producerId: 0n, producerEpoch: 0, baseSequence: 0 });
      await expectCode(log.append(stale.bytes, stale.header), "PRODUCER_FENCED");
      const unknown = makeBatch({ values: ["x"], producerId: 42n, producerEpoch: 0, baseSequence: 0 });
      await expectCode(log.append(unknown.bytes, unknown.header), "UNKNOWN_PRODUCER");
      const future = makeBatch({ values: ["x"], producerId: 0n, producerEpoch: 7, baseSequence: 0 });
      await expectCode(log.append(future.bytes, future.header), "UNKNOWN_PRODUCER");
      const good = makeBatch({ values: ["x"], producerId: 0n, producerEpoch: 1, baseSequence: 0 });
      expect((await log.append(good.bytes, good.header)).baseOffset).toBe(0n);
      expect(log.highWatermark()).toBe(1n);
    });
  });

  it("PW-IDEM-002 PW-IDEM-003 PW-IDEM-004: duplicates in the window get their original offset, gaps and stale retries are OUT_OF_ORDER_SEQUENCE", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const { producerId, producerEpoch } = await storage.initProducer(-1n, -1);
      const notFirst = makeBatch({ values: ["x"], producerId, producerEpoch, baseSequence: 5 });
      await expectCode(log.append(notFirst.bytes, notFirst.header), "OUT_OF_ORDER_SEQUENCE");

      const sent: { seq: number; offset: bigint; count: number }[] = [];
      let seq = 0;
      for (let i = 0; i < 8; i++) {
        const count = 1 + (i % 3);
        const b = makeBatch({ values: Array.from({ length: count }, (_, j) => `p${i}.${j}`), producerId, producerEpoch, baseSequence: seq });
        const r = await log.append(b.bytes, b.header);
        sent.push({ seq, offset: r.baseOffset, count });
        seq += count;
      }
      const hw = log.highWatermark();
      // The last 5 batches are inside the default window.
      for (const s of sent.slice(3)) {
        const retry = makeBatch({ values: Array.from({ length: s.count }, () => "retry"), producerId, producerEpoch, baseSequence: s.seq });
        const r = await log.append(retry.bytes, retry.header);
        expect(r).toMatchObject({ baseOffset: s.offset, duplicate: true });
      }
      const old = sent[2]!;
      const tooOld = makeBatch({ values: Array.from({ length: old.count }, () => "retry"), producerId, producerEpoch, baseSequence: old.seq });
      await expectCode(log.append(tooOld.bytes, tooOld.header), "OUT_OF_ORDER_SEQUENCE");
      const gap = makeBatch({ values: ["gap"], producerId, producerEpoch, baseSequence: seq + 1 });
      await expectCode(log.append(gap.bytes, gap.header), "OUT_OF_ORDER_SEQUENCE");
      const overlapping = makeBatch({ values: ["o"], producerId, producerEpoch, baseSequence: sent[7]!.seq });
      await expectCode(log.append(overlapping.bytes, overlapping.header), "OUT_OF_ORDER_SEQUENCE");
      expect(log.highWatermark()).toBe(hw);
      expect(recordsOf(await log.read(0n, 1 << 20)).some(([, v]) => v === "retry" || v === "gap")).toBe(false);

      const next = makeBatch({ values: ["n"], producerId, producerEpoch, baseSequence: seq });
      expect((await log.append(next.bytes, next.header)).baseOffset).toBe(hw);

      const bumped = await storage.initProducer(producerId, producerEpoch);
      const fresh = makeBatch({ values: ["e1"], producerId, producerEpoch: bumped.producerEpoch, baseSequence: 0 });
      expect((await log.append(fresh.bytes, fresh.header)).duplicate).toBe(false);
    });
  });

  it("PW-IDEM-003: concurrent retries of an in-flight batch all answer its offset", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1, config: { "fsync.policy": "always" } });
      const log = storage.partition("t", 0);
      const { producerId, producerEpoch } = await storage.initProducer(-1n, -1);
      const original = makeBatch({ values: ["once"], producerId, producerEpoch, baseSequence: 0 });
      const retry = makeBatch({ values: ["once"], producerId, producerEpoch, baseSequence: 0 });
      const [a, b] = await Promise.all([log.append(original.bytes, original.header, { durability: "synced" }), log.append(retry.bytes, retry.header, { durability: "synced" })]);
      expect(a).toMatchObject({ baseOffset: 0n, duplicate: false });
      expect(b).toMatchObject({ baseOffset: 0n, duplicate: true });
      expect(log.highWatermark()).toBe(1n);
    });
  });

  it("committed group offsets: commit, fetch, list groups, delete", async () => {
    await withStorage(engine, async (storage) => {
      const before = Date.now();
      await storage.offsets.commit("g1", [
        { topic: "t", partition: 0, offset: 10n, metadata: "m" },
        { topic: "t", partition: 1, offset: 20n },
      ]);
      await storage.offsets.commit("g2", [{ topic: "u", partition: 0, offset: 5n }]);
      await storage.offsets.commit("g1", [{ topic: "t", partition: 0, offset: 11n }]);
      const all = storage.offsets.fetch("g1");
      expect(all.map((o) => [o.topic, o.partition, o.offset, o.metadata])).toEqual([
        ["t", 0, 11n, ""],
        ["t", 1, 20n, ""],
      ]);
      expect(all[0]!.commitTimeMs).toBeGreaterThanOrEqual(before);
      expect(storage.offsets.fetch("g1", [{ topic: "t", partition: 1 }, { topic: "x", partition: 0 }]).map((o) => o.offset)).toEqual([20n]);
      expect(storage.offsets.groups()).toEqual(["g1", "g2"]);
      await storage.offsets.deleteGroup("g1");
      expect(storage.offsets.groups()).toEqual(["g2"]);
      expect(storage.offsets.fetch("g1")).toEqual([]);
      await expectCode(storage.offsets.commit("g3", [{ topic: "t", partition: -1, offset: 0n }]), "INVALID_ARGUMENT");
    });
  });

  it("close makes every handle answer SHUTTING_DOWN and is idempotent", async () => {
    await using dir = await tempDirectory();
    const storage = await engine.open(dir.path);
    await storage.createTopic("t", { partitions: 1 });
    const log = storage.partition("t", 0);
    const waiting = log.waitForData(0n);
    await storage.close();
    await storage.close();
    expect(await waiting).toBe(false);
    const b = makeBatch({ values: ["late"] });
    await expectCode(log.append(b.bytes, b.header), "SHUTTING_DOWN");
    await expectCode(() => storage.listTopics(), "SHUTTING_DOWN");
    await expectCode(storage.initProducer(-1n, -1), "SHUTTING_DOWN");
  });

  it("PW-LOG-013 PW-LOG-030: random appends and reads agree with a model of the log", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.string({ maxLength: 200 }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1024, max: 4096 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3000 })), { minLength: 1, maxLength: 10 }),
        async (batches, segmentBytes, reads) => {
          await withStorage(
            engine,
            async (storage) => {
              await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": String(segmentBytes) } });
              const log = storage.partition("t", 0);
              const model: string[] = [];
              const sizes: { base: number; count: number; size: number }[] = [];
              for (const values of batches) {
                const b = makeBatch({ values });
                const r = await log.append(b.bytes, b.header);
                expect(r.baseOffset).toBe(BigInt(model.length));
                sizes.push({ base: model.length, count: values.length, size: b.bytes.byteLength });
                model.push(...values);
              }
              for (const [at, maxBytes] of reads) {
                const offset = at % (model.length + 1);
                const result = await log.read(BigInt(offset), maxBytes);
                if (offset === model.length) {
                  expect(result.size).toBe(0);
                  continue;
                }
                const first = sizes.findIndex((s) => s.base + s.count > offset);
                let expectedSize = sizes[first]!.size;
                for (let i = first + 1; i < sizes.length && expectedSize + sizes[i]!.size <= maxBytes; i++) expectedSize += sizes[i]!.size;
                expect(result.size).toBe(expectedSize);
                const records = recordsOf(result, BigInt(offset));
                expect(records[0]).toEqual([BigInt(offset), model[offset]]);
                records.forEach(([o, v]) => expect(v).toBe(model[Number(o)]));
              }
            },
            { indexIntervalBytes: 128 },
          );
        },
      ),
      { numRuns: engine.name === "disk" ? 25 : 100 },
    );
  });
});
