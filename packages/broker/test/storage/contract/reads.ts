import { expect, it } from "vitest";
import fc from "fast-check";
import { makeBatch, recordsOf } from "../../storage-fixtures.js";
import { expectCode, withStorage, type EngineUnderTest } from "./support.js";

/** Reads and lookups: whole batches, bounds, byte-exact bytes, offsets by timestamp (PW-LOG-011..015, PW-LOG-021, PW-LOG-031). */
export function readContract(engine: EngineUnderTest): void {
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
      // Every run of a durable engine creates and removes files.
      { numRuns: engine.durable ? 25 : 100 },
    );
  });
}
