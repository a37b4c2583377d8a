import { expect, it } from "vitest";
import { makeBatch, recordsOf, tempDirectory } from "../../storage-fixtures.js";
import { commit, expectCode, offsetBook, type EngineUnderTest } from "./support.js";

/**
 * What a durable engine keeps across a clean close and reopen (PW-LOG-030..033,
 * PW-IDEM-006). Crashes, torn tails and damaged files are each engine's own
 * tests: how they happen depends on how the engine stores data.
 */
export function recoveryContract(engine: EngineUnderTest): void {
  it("PW-LOG-030 PW-LOG-031 PW-LOG-032: a clean restart keeps topics, config, grown partitions, records, offsets and producer ids", async () => {
    await using dir = await tempDirectory();
    let storage = await engine.open(dir.path);
    await storage.createTopic("orders", { partitions: 1, config: { "segment.bytes": "2048", "retention.ms": "-1" } });
    await storage.alterTopic("orders", { partitions: 3 });
    const producer = await storage.initProducer(-1n, -1);
    const log = storage.partition("orders", 2);
    let sequence = 0;
    for (let i = 0; i < 40; i++) {
      const b = makeBatch({ values: [`r${i}`.padEnd(60, "_")], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: sequence++ });
      await log.append(b.bytes, b.header, { durability: "synced" });
    }
    await offsetBook(storage).write(commit("g", [["orders", 2, 17n, "meta"]]));
    const segments = log.stats().segments;
    expect(segments).toBeGreaterThan(1);
    await storage.close();

    storage = await engine.open(dir.path);
    try {
      const info = storage.topic("orders");
      expect(info.partitions).toBe(3);
      expect(info.overrides).toEqual({ "segment.bytes": "2048", "retention.ms": "-1" });
      const reopened = storage.partition("orders", 2);
      expect(reopened.stats()).toMatchObject({ highWatermark: 40n, logStartOffset: 0n, segments });
      expect(recordsOf(await reopened.read(0n, 1 << 20)).map(([, v]) => v.trim())).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`.padEnd(60, "_")));
      expect(offsetBook(storage).all("g")).toMatchObject([{ topic: "orders", partition: 2, offset: 17n, metadata: "meta", commitTimeMs: 1_000 }]);
      // PW-IDEM-006: a retry of the last acknowledged batch is still a duplicate.
      const retry = makeBatch({ values: ["again"], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: 39 });
      expect(await reopened.append(retry.bytes, retry.header)).toMatchObject({ baseOffset: 39n, duplicate: true });
      const fresh = await storage.initProducer(-1n, -1);
      expect(fresh.producerId).toBe(producer.producerId + 1n);
      await expect(storage.initProducer(producer.producerId, producer.producerEpoch)).resolves.toEqual({ producerId: producer.producerId, producerEpoch: producer.producerEpoch + 1 });
    } finally {
      await storage.close();
    }
  });

  it("PW-LOG-030 PW-LOG-033 PW-LOG-021: after a restart the log starts where retention left it, offsets continue and timestamp lookups stay exact", async () => {
    await using dir = await tempDirectory();
    let storage = await engine.open(dir.path, { indexIntervalBytes: 256 });
    await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": "1024", "retention.bytes": "4096", "retention.ms": "-1" } });
    let log = storage.partition("t", 0);
    for (let i = 0; i < 60; i++) {
      const b = makeBatch({ values: [`${i}`.padStart(80, "0")], timestamp: 10_000 + i * 100 });
      await log.append(b.bytes, b.header);
    }
    await storage.runRetention();
    const start = log.logStartOffset();
    expect(start).toBeGreaterThan(0n);
    await storage.close();

    storage = await engine.open(dir.path, { indexIntervalBytes: 256 });
    try {
      log = storage.partition("t", 0);
      expect([log.logStartOffset(), log.highWatermark()]).toEqual([start, 60n]);
      await expectCode(log.read(start - 1n, 100), "OFFSET_OUT_OF_RANGE");
      expect(recordsOf(await log.read(start, 1 << 20)).map(([o]) => o)).toEqual(Array.from({ length: Number(60n - start) }, (_, i) => start + BigInt(i)));
      expect(await log.offsetForTimestamp(0)).toEqual({ offset: start, timestampMs: 10_000 + Number(start) * 100 });
      expect(await log.offsetForTimestamp(10_000 + 45 * 100 - 50)).toEqual({ offset: 45n, timestampMs: 10_000 + 45 * 100 });
      expect(await log.offsetForTimestamp(10_000 + 60 * 100)).toBeNull();
      const next = makeBatch({ values: ["next"] });
      expect((await log.append(next.bytes, next.header)).baseOffset).toBe(60n);
    } finally {
      await storage.close();
    }
  });
}
