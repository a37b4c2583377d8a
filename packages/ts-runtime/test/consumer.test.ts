import type { Broker } from "@polywire/broker";
import { FrameKind } from "@polywire/proto/session";
import { afterEach, describe, expect, it } from "vitest";
import { connect, PolywireError, Record, type Client, type ConsumedBatch } from "../src/index.js";
import { FaultProxy } from "./fault-proxy.js";
import { startBroker, take, until } from "./harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(topics: Array<{ name: string; partitions: number }>, listeners?: string[]): Promise<{ broker: Broker; client: Client }> {
  const broker = await startBroker({ topics, ...(listeners === undefined ? {} : { listeners }) });
  cleanups.push(() => broker.close());
  const client = await connect(broker.urls[0] as string, { retry: { initialDelayMs: 5, maxDelayMs: 50 } });
  cleanups.push(() => client.close());
  return { broker, client };
}

/** Produces `count` records "prefix-i" to one partition, `perBatch` records per batch. */
async function fill(client: Client, topic: string, count: number, options: { partition?: number; perBatch?: number; size?: number; timestamp?: (i: number) => number } = {}): Promise<void> {
  const producer = client.producer({ lingerMs: 1000, batchBytes: 1 << 20 });
  const perBatch = options.perBatch ?? count;
  for (let start = 0; start < count; start += perBatch) {
    const records = [];
    for (let i = start; i < Math.min(count, start + perBatch); i++) {
      records.push(Record.text(topic, `${topic}-${i}`.padEnd(options.size ?? 0, "."), {
        partition: options.partition ?? 0,
        ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp(i) }),
      }));
    }
    const pending = producer.sendBatch(records);
    await producer.flush();
    await pending;
  }
  await producer.close();
}

describe("start positions (PW-LOG-020, PW-LOG-021)", () => {
  it("PW-LOG-020/PW-LOG-021: earliest, latest, an offset and a timestamp", async () => {
    const { client } = await setup([{ name: "pos", partitions: 4 }]);
    for (let p = 0; p < 4; p++) await fill(client, "pos", 10, { partition: p, perBatch: 3, timestamp: (i) => 1_000_000 + i * 10 });
    await using consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([
      { topic: "pos", partition: 0, from: "earliest" },
      { topic: "pos", partition: 1, from: "latest" },
      { topic: "pos", partition: 2, from: { offset: 7n } },
      { topic: "pos", partition: 3, from: { timestamp: new Date(1_000_000 + 45) } },
    ]);
    expect(await consumer.position({ topic: "pos", partition: 0 })).toBe(0n);
    expect(await consumer.position({ topic: "pos", partition: 1 })).toBe(10n);
    expect(await consumer.position({ topic: "pos", partition: 2 })).toBe(7n);
    expect(await consumer.position({ topic: "pos", partition: 3 })).toBe(5n);
    const got = await take(consumer, 10 + 3 + 5);
    const by = (p: number) => got.filter((r) => r.partition === p).map((r) => r.text());
    expect(by(0)).toEqual(Array.from({ length: 10 }, (_, i) => `pos-${i}`));
    expect(by(1)).toEqual([]);
    expect(by(2)).toEqual(["pos-7", "pos-8", "pos-9"]);
    expect(by(3)).toEqual(["pos-5", "pos-6", "pos-7", "pos-8", "pos-9"]);
    // "latest" sees what is produced afterwards.
    await fill(client, "pos", 1, { partition: 1 });
    expect((await take(consumer, 1))[0]?.text()).toBe("pos-0");
    expect(await consumer.position({ topic: "pos", partition: 1 })).toBe(11n);
  });

  it("PW-LOG-021: a timestamp later than every record starts at the high watermark", async () => {
    const { client } = await setup([{ name: "future", partitions: 1 }]);
    await fill(client, "future", 5, { timestamp: () => 1_000 });
    await using consumer = client.consumer();
    consumer.assign([{ topic: "future", partition: 0, from: { timestamp: Date.now() + 3_600_000 } }]);
    expect(await consumer.position({ topic: "future", partition: 0 })).toBe(5n);
  });

  it("PW-LOG-011: records below the requested offset inside the first batch are skipped", async () => {
    const { client } = await setup([{ name: "skip", partitions: 1 }]);
    await fill(client, "skip", 10, { perBatch: 10 });
    await using consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: "skip", partition: 0, from: { offset: 6 } }]);
    const batches: ConsumedBatch[] = [];
    for await (const batch of consumer.batches({ signal: AbortSignal.timeout(5_000) })) {
      batches.push(batch);
      break;
    }
    expect(batches[0]?.records.map((r) => r.offset)).toEqual([6n, 7n, 8n, 9n]);
    expect(batches[0]?.highWatermark).toBe(10n);
    expect(consumer.lag({ topic: "skip", partition: 0 })).toBe(0n);
  });
});

describe("positions inside a batch (PW-LOG-020)", () => {
  it("PW-LOG-020: the position follows every record handed out from inside one batch, and a seek there starts at that record", async () => {
    const { client } = await setup([{ name: "inside", partitions: 1 }]);
    await fill(client, "inside", 10, { perBatch: 10 });
    await using consumer = client.consumer({ maxWaitMs: 50, autoOffsetReset: "earliest" });
    const tp = { topic: "inside", partition: 0 };
    consumer.assign([tp]);
    expect((await take(consumer, 3)).map((r) => r.offset)).toEqual([0n, 1n, 2n]);
    expect(await consumer.position(tp)).toBe(3n);
    expect(consumer.lag(tp)).toBe(7n);
    expect((await take(consumer, 1))[0]?.text()).toBe("inside-3");
    expect(await consumer.position(tp)).toBe(4n);
    consumer.seek(tp, { offset: 8 });
    expect(await consumer.position(tp)).toBe(8n);
    expect((await take(consumer, 2)).map((r) => [r.offset, r.text()])).toEqual([[8n, "inside-8"], [9n, "inside-9"]]);
    expect(await consumer.position(tp)).toBe(10n);
    consumer.seek(tp, { offset: 1 });
    expect((await take(consumer, 1))[0]?.offset).toBe(1n);
    expect(await consumer.position(tp)).toBe(2n);
  });
});

describe("consumer behaviour", () => {
  it("PW-BATCH-003: a batch whose CRC does not match is not handed out; the iterator throws CORRUPT_BATCH", async () => {
    const broker = await startBroker({ topics: [{ name: "crc", partitions: 1 }], listeners: ["tcp://127.0.0.1:0"] });
    cleanups.push(() => broker.close());
    const proxy = await FaultProxy.start(broker.urls[0] as string);
    cleanups.push(() => proxy.close());
    const client = await connect(proxy.url);
    cleanups.push(() => client.close());
    await fill(client, "crc", 20, { perBatch: 5 });
    let corrupt = true;
    proxy.rule = ({ direction, frame }) => {
      if (!corrupt || direction !== "to-client" || frame.kind !== FrameKind.FETCH_RESPONSE || frame.payload.byteLength === 0) return "forward";
      const payload = frame.payload.slice();
      // A value byte of the first record of the first batch: covered by the CRC, not by any length.
      const at = payload.byteLength > 80 ? 80 : payload.byteLength - 1;
      payload[at] = (payload[at] as number) ^ 0x20;
      return { replace: { ...frame, payload } };
    };
    await using consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: "crc", partition: 0, from: "earliest" }]);
    const error = await take(consumer, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolywireError);
    expect(error).toMatchObject({ code: "CORRUPT_BATCH" });
    expect(client.stats().recordsReceived).toBe(0);
    // The partition stops at the bad batch until seek; then it reads again.
    corrupt = false;
    consumer.seek({ topic: "crc", partition: 0 }, "earliest");
    expect((await take(consumer, 20)).map((r) => r.text())).toEqual(Array.from({ length: 20 }, (_, i) => `crc-${i}`));
  });

  it("backpressure: a slow loop never makes the consumer buffer more than maxBufferedBytes plus one batch", async () => {
    const { client } = await setup([{ name: "slow", partitions: 2 }]);
    for (const partition of [0, 1]) await fill(client, "slow", 400, { partition, perBatch: 10, size: 200 });
    const limit = 16 * 1024;
    await using consumer = client.consumer({ maxBufferedBytes: limit, partitionMaxBytes: 4096, maxWaitMs: 50 });
    consumer.assign([0, 1].map((partition) => ({ topic: "slow", partition, from: "earliest" as const })));
    let peak = 0;
    let count = 0;
    const largestBatch = 10 * 220 + 57;
    for await (const record of consumer) {
      peak = Math.max(peak, consumer.bufferedBytes);
      expect(record.text().startsWith("slow-")).toBe(true);
      if (++count % 50 === 0) await new Promise((r) => setTimeout(r, 20));
      if (count === 800) break;
    }
    expect(peak).toBeGreaterThan(4096);
    expect(peak).toBeLessThanOrEqual(limit + largestBatch);
    expect(client.stats().bytesReceived).toBeGreaterThan(limit * 5);
  });

  it("seek, pause and resume", async () => {
    const { client } = await setup([{ name: "ctl", partitions: 2 }]);
    for (const partition of [0, 1]) await fill(client, "ctl", 10, { partition, perBatch: 4 });
    await using consumer = client.consumer({ maxWaitMs: 50 });
    const p0 = { topic: "ctl", partition: 0 };
    const p1 = { topic: "ctl", partition: 1 };
    consumer.assign([{ ...p0, from: "earliest" }, { ...p1, from: "earliest" }]);
    consumer.pause([p1]);
    expect(consumer.paused()).toEqual([p1]);
    const first = await take(consumer, 10);
    expect(first.every((r) => r.partition === 0)).toBe(true);
    // Nothing more comes while p1 is paused.
    await expect(take(consumer, 1, 300)).rejects.toMatchObject({ code: "TIMEOUT" });
    consumer.resume([p1]);
    expect((await take(consumer, 10)).map((r) => [r.partition, r.offset])).toEqual(Array.from({ length: 10 }, (_, i) => [1, BigInt(i)]));
    consumer.seek(p0, { offset: 3 });
    consumer.seek(p1, { offset: 8n });
    const again = await take(consumer, 9);
    expect(again.filter((r) => r.partition === 0).map((r) => r.offset)).toEqual([3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    expect(again.filter((r) => r.partition === 1).map((r) => r.offset)).toEqual([8n, 9n]);
    expect(await consumer.position(p0)).toBe(10n);
    expect(consumer.lag(p0)).toBe(0n);
    consumer.seek(p0, { offset: 2 });
    expect(consumer.lag(p0)).toBe(8n);
    expect(consumer.highWatermark(p0)).toBe(10n);
    expect(() => consumer.seek({ topic: "ctl", partition: 5 }, "earliest")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => consumer.seek(p0, { offset: -1 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => consumer.assign([p0, p0])).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("PW-LOG-015: OFFSET_OUT_OF_RANGE resets per autoOffsetReset, or surfaces with \"none\"", async () => {
    const { client } = await setup([{ name: "range", partitions: 1 }]);
    await fill(client, "range", 5);
    const tp = { topic: "range", partition: 0 };
    await using resetting = client.consumer({ autoOffsetReset: "earliest", maxWaitMs: 50 });
    resetting.assign([{ ...tp, from: { offset: 1000 } }]);
    expect((await take(resetting, 5)).map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(client.stats().errors.OFFSET_OUT_OF_RANGE).toBe(1);
    await using strict = client.consumer({ autoOffsetReset: "none", maxWaitMs: 50 });
    expect(() => strict.assign([tp])).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    strict.assign([{ ...tp, from: { offset: 1000 } }]);
    await expect(take(strict, 1)).rejects.toMatchObject({ code: "OFFSET_OUT_OF_RANGE" });
    strict.seek(tp, { offset: 4 });
    expect((await take(strict, 1))[0]?.text()).toBe("range-4");
  });

  it("PW-LOG-017: an unknown topic or partition surfaces from the iterator; other partitions go on", async () => {
    const { client } = await setup([{ name: "known", partitions: 1 }]);
    await fill(client, "known", 3);
    await using consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: "known", partition: 0, from: "earliest" }, { topic: "known", partition: 4, from: "earliest" }, { topic: "unknown", partition: 0, from: "earliest" }]);
    const errors: string[] = [];
    const records: string[] = [];
    const signal = AbortSignal.timeout(5_000);
    while (records.length < 3 || errors.length < 2) {
      try {
        for await (const r of consumer.records({ signal })) {
          records.push(r.text());
          if (records.length === 3 && errors.length === 2) break;
        }
      } catch (error) {
        if ((error as PolywireError).code === "TIMEOUT") throw error;
        errors.push((error as PolywireError).code);
      }
    }
    expect(errors.sort()).toEqual(["UNKNOWN_PARTITION", "UNKNOWN_TOPIC"]);
    expect(records).toEqual(["known-0", "known-1", "known-2"]);
  });

  it("AbortSignal: records({ signal }) stops with CANCELLED or TIMEOUT; close() ends every iterator", async () => {
    const { client } = await setup([{ name: "idle", partitions: 1 }]);
    const consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: "idle", partition: 0, from: "latest" }]);
    const controller = new AbortController();
    const cancelled = take(consumer, 1, 10_000).catch((e: unknown) => e);
    const aborted = (async () => {
      for await (const _ of consumer.records({ signal: controller.signal })) return "record";
      return "ended";
    })().catch((e: unknown) => e);
    controller.abort();
    expect(await aborted).toMatchObject({ code: "CANCELLED" });
    await expect(take(consumer, 1, 100)).rejects.toMatchObject({ code: "TIMEOUT" });
    const ended = (async () => {
      let n = 0;
      for await (const _ of consumer) n++;
      return n;
    })();
    await consumer.close();
    expect(await ended).toBe(0);
    expect(await cancelled).toEqual([]);
    expect(() => consumer.assign([])).toThrow(expect.objectContaining({ code: "CONNECTION_LOST" }));
  });

  it("await using closes the consumer, and client.close() closes its consumers", async () => {
    const { client } = await setup([{ name: "dispose", partitions: 1 }]);
    await fill(client, "dispose", 2);
    let closedLoop: Promise<number> | undefined;
    {
      await using consumer = client.consumer();
      consumer.assign([{ topic: "dispose", partition: 0, from: "earliest" }]);
      expect((await take(consumer, 2)).length).toBe(2);
      closedLoop = (async () => {
        let n = 0;
        for await (const _ of consumer) n++;
        return n;
      })();
    }
    expect(await closedLoop).toBe(0);
    const last = client.consumer();
    last.assign([{ topic: "dispose", partition: 0, from: "latest" }]);
    const loop = (async () => {
      for await (const _ of last) return "record";
      return "ended";
    })();
    await client.close();
    expect(await loop).toBe("ended");
  });

  it("the batch iterator hands out what is left of each fetched batch", async () => {
    const { client } = await setup([{ name: "chunks", partitions: 1 }]);
    await fill(client, "chunks", 12, { perBatch: 4 });
    await using consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: "chunks", partition: 0, from: "earliest" }]);
    const [one] = await take(consumer, 1);
    expect(one?.offset).toBe(0n);
    const sizes: number[] = [];
    for await (const batch of consumer.batches()) {
      sizes.push(batch.records.length);
      if (sizes.reduce((a, b) => a + b, 0) === 11) break;
    }
    expect(sizes).toEqual([3, 4, 4]);
    await until(() => consumer.lag({ topic: "chunks", partition: 0 }) === 0n, 1_000, "lag 0");
  });
});
