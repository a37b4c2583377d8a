import { expect, it } from "vitest";
import { makeBatch, recordsOf } from "../../storage-fixtures.js";
import { expectCode, withStorage, type EngineUnderTest } from "./support.js";

/** Segments: rolls by size and age, retention by bytes and time (PW-LOG-033). */
export function segmentContract(engine: EngineUnderTest): void {
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
}
