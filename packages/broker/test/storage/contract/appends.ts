import { expect, it } from "vitest";
import { readBatchHeader } from "@polywire/wasm-codec";
import { makeBatch, recordsOf } from "../../storage-fixtures.js";
import { expectCode, withStorage, type EngineUnderTest } from "./support.js";

/** Appends: offsets, order, durability, size limit (PW-LOG-002, PW-LOG-006, PW-LOG-007, PW-LOG-014, PW-ADMIN-021). */
export function appendContract(engine: EngineUnderTest): void {
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

  it("max.message.bytes: a larger batch is rejected with BATCH_TOO_LARGE and nothing is stored (PW-ADMIN-021)", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1, config: { "max.message.bytes": "200" } });
      const log = storage.partition("t", 0);
      const big = makeBatch({ values: ["x".repeat(300)] });
      await expectCode(log.append(big.bytes, big.header), "BATCH_TOO_LARGE");
      expect(log.highWatermark()).toBe(0n);
    });
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
}
