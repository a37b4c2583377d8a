import { expect, it } from "vitest";
import type { PartitionLog, ProducerIdentity } from "../../../src/storage/storage.js";
import { makeBatch, recordsOf, tempDirectory } from "../../storage-fixtures.js";
import { expectCode, hasProducerState, producerStateSize, sleep, withStorage, type EngineUnderTest } from "./support.js";

const EXPIRATION = 60_000;

/** Appends `count` one-record batches of `producer` to `log` from sequence `from`. */
async function produce(log: PartitionLog, producer: ProducerIdentity, from: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const b = makeBatch({ values: [`v${from + i}`], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: from + i });
    expect((await log.append(b.bytes, b.header)).duplicate).toBe(false);
  }
}

/** Idempotent producers: ids, epochs, sequences, duplicates, expiry (PW-IDEM-001..005, PW-IDEM-011). */
export function idempotenceContract(engine: EngineUnderTest): void {
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

  it("PW-IDEM-003 PW-LOG-005: a retry of a batch still being appended is answered only once the original is readable", async () => {
    await withStorage(engine, async (storage) => {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const { producerId, producerEpoch } = await storage.initProducer(-1n, -1);
      const first = makeBatch({ values: ["first"], producerId, producerEpoch, baseSequence: 0 });
      await log.append(first.bytes, first.header);
      const original = makeBatch({ values: ["a", "b"], producerId, producerEpoch, baseSequence: 1 });
      const appended = log.append(original.bytes, original.header);
      const retries = Array.from({ length: 3 }, () => {
        const retry = makeBatch({ values: ["a", "b"], producerId, producerEpoch, baseSequence: 1 });
        // The high watermark when the answer arrives: the original must be readable by then.
        return log.append(retry.bytes, retry.header).then((result) => ({ result, highWatermark: log.highWatermark() }));
      });
      for (const { result, highWatermark } of await Promise.all(retries)) {
        expect(result).toMatchObject({ baseOffset: 1n, duplicate: true });
        expect(highWatermark).toBe(3n);
      }
      expect(await appended).toMatchObject({ baseOffset: 1n, duplicate: false });
      expect(recordsOf(await log.read(1n, 1 << 20))).toEqual([
        [1n, "a"],
        [2n, "b"],
      ]);
    });
  });

  it("PW-IDEM-011 PW-IDEM-005 PW-IDEM-008: an idle id is forgotten on its own after the period, with its state on every partition; its batches and InitProducer are UNKNOWN_PRODUCER", async () => {
    await using dir = await tempDirectory();
    const storage = await engine.open(dir.path, { retentionCheckIntervalMs: 50, producerIdExpirationMs: 200 });
    try {
      await storage.createTopic("t", { partitions: 2 });
      const logs = [storage.partition("t", 0), storage.partition("t", 1)];
      const producer = await storage.initProducer(-1n, -1);
      for (const log of logs) await produce(log, producer, 0, 3);
      const lastActivity = Date.now();
      expect(storage.producerCount()).toBe(1);
      expect(logs.map((log) => hasProducerState(log, producer.producerId))).toEqual([true, true]);
      // Generous for a busy 2-core machine: the period is 200 ms, the check 50 ms.
      const deadline = Date.now() + 10_000;
      while (storage.producerCount() > 0 && Date.now() < deadline) await sleep(20);
      expect(storage.producerCount()).toBe(0);
      expect(Date.now() - lastActivity).toBeGreaterThanOrEqual(200);
      expect(logs.map((log) => producerStateSize(log))).toEqual([0, 0]);

      const next = makeBatch({ values: ["late"], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: 3 });
      await expectCode(logs[0]!.append(next.bytes, next.header), "UNKNOWN_PRODUCER");
      expect(logs[0]!.highWatermark()).toBe(3n);
      await expectCode(storage.initProducer(producer.producerId, producer.producerEpoch), "UNKNOWN_PRODUCER");
      // A forgotten id is never handed out again.
      expect((await storage.initProducer(-1n, -1)).producerId).toBe(producer.producerId + 1n);
    } finally {
      await storage.close();
    }
  });

  it("PW-IDEM-011: only ids idle longer than the period are forgotten; appends, duplicate retries and InitProducer keep an id", async () => {
    await using dir = await tempDirectory();
    const storage = await engine.open(dir.path, { producerIdExpirationMs: EXPIRATION });
    try {
      await storage.createTopic("t", { partitions: 1 });
      const log = storage.partition("t", 0);
      const idle = await storage.initProducer(-1n, -1);
      const appender = await storage.initProducer(-1n, -1);
      const retrier = await storage.initProducer(-1n, -1);
      const bumped = await storage.initProducer(-1n, -1);
      await produce(log, idle, 0, 2);
      await produce(log, appender, 0, 1);
      await produce(log, retrier, 0, 1);
      const idleUntil = Date.now();
      await sleep(100);
      const busySince = Date.now();
      await produce(log, appender, 1, 1);
      const retry = makeBatch({ values: ["v0"], producerId: retrier.producerId, producerEpoch: retrier.producerEpoch, baseSequence: 0 });
      expect((await log.append(retry.bytes, retry.header)).duplicate).toBe(true);
      const rebumped = await storage.initProducer(bumped.producerId, bumped.producerEpoch);

      // Exactly one period after the busy ones' activity: only the idle id is past it.
      expect(busySince - idleUntil).toBeGreaterThanOrEqual(50);
      expect(await storage.expireProducers(busySince + EXPIRATION)).toBe(1);
      expect(storage.producerCount()).toBe(3);
      expect(hasProducerState(log, idle.producerId)).toBe(false);
      expect(hasProducerState(log, appender.producerId)).toBe(true);
      const late = makeBatch({ values: ["late"], producerId: idle.producerId, producerEpoch: idle.producerEpoch, baseSequence: 2 });
      await expectCode(log.append(late.bytes, late.header), "UNKNOWN_PRODUCER");
      await produce(log, appender, 2, 1);
      await produce(log, retrier, 1, 1);
      await produce(log, rebumped, 0, 1);
      expect(log.highWatermark()).toBe(8n);
      expect(await storage.expireProducers(Date.now() + EXPIRATION + 1)).toBe(3);
      expect(producerStateSize(log)).toBe(0);
      expect((await storage.initProducer(-1n, -1)).producerId).toBe(4n);
    } finally {
      await storage.close();
    }
  });

  it("PW-IDEM-011: producerIdExpirationMs -1 never forgets", async () => {
    await using dir = await tempDirectory();
    const storage = await engine.open(dir.path, { producerIdExpirationMs: -1 });
    try {
      await storage.initProducer(-1n, -1);
      expect(await storage.expireProducers(Date.now() + 1e12)).toBe(0);
      expect(storage.producerCount()).toBe(1);
    } finally {
      await storage.close();
    }
  });
}
