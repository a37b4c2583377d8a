import { describe, expect, it } from "vitest";
import { Record, type DeliveryReport, type ProducerRecord, type RecordMetadata } from "../src/index.js";
import { take } from "./harness.js";
import { proxied, readAll, setup, values } from "./producer-fixtures.js";

describe("producer API", () => {
  it("a refused send whose promise the caller ignores does not crash the process; it is counted", async () => {
    const { client } = await setup({ topics: [{ name: "ignored", partitions: 1 }] });
    const producer = client.producer();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      void producer.send({ topic: "ignored", value: 42 } as unknown as ProducerRecord);
      void producer.sendBatch([{ topic: "ignored" } as unknown as ProducerRecord]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      expect(client.stats().errors).toMatchObject({ INVALID_ARGUMENT: 2 });
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await producer.close();
    }
  });

  it("bad records are refused with INVALID_ARGUMENT and nothing is sent", async () => {
    const { client } = await setup({ topics: [{ name: "strict", partitions: 1 }] });
    const producer = client.producer();
    const bad: unknown[] = [
      { topic: "", value: "x" },
      { topic: "strict" },
      { topic: "strict", value: 42 },
      { topic: "strict", value: "x", key: 7 },
      { topic: "strict", value: "x", headers: [["k"]] },
      { topic: "strict", value: "x", headers: { k: "\ud800" } },
      { topic: "strict", value: "x", typeId: -1 },
      { topic: "strict", value: "x", typeId: 2 ** 53 },
      { topic: "strict", value: "x", partition: 1.5 },
      { topic: "strict", value: "x", timestamp: Number.NaN },
    ];
    for (const record of bad) {
      await expect(producer.send(record as ProducerRecord), JSON.stringify(record)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    await expect(producer.sendBatch([Record.text("strict", "ok"), { topic: "strict", value: 1 } as unknown as ProducerRecord])).rejects.toThrow(/^record 1:/);
    expect(() => Record.json("strict", undefined)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => Record.json("strict", { n: 1n })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    await producer.flush();
    expect(client.stats().recordsSent).toBe(0);
    await expect(producer.send(Record.text("missing-topic", "x"))).rejects.toMatchObject({ code: "UNKNOWN_TOPIC" });
    await producer.close();
    await expect(producer.send(Record.text("strict", "late"))).rejects.toMatchObject({ code: "CONNECTION_LOST", retriable: false });
  });

  it("PW-LOG-007: records keep call order across send and sendBatch, and a flush right after covers them", async () => {
    const { client } = await setup({ topics: [{ name: "order", partitions: 1 }] });
    // No metadata is cached yet: the first call waits for it, the later ones must not overtake it.
    const producer = client.producer({ lingerMs: 60_000 });
    const a = producer.sendBatch([Record.text("order", "a0"), Record.text("order", "a1")]);
    const b = producer.send(Record.text("order", "b"));
    const c = producer.sendBatch([Record.text("order", "c")]);
    const started = performance.now();
    await producer.flush();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect((await a).map((m) => m.offset)).toEqual([0n, 1n]);
    expect((await b).offset).toBe(2n);
    expect((await c).map((m) => m.offset)).toEqual([3n]);
    await producer.close();
  });

  it("delivery reports: onDelivery and reports() see every record once; reports() ends when the producer closes", async () => {
    const { client } = await setup({ topics: [{ name: "reports", partitions: 2 }] });
    const callbacks: DeliveryReport[] = [];
    const producer = client.producer({ lingerMs: 1, onDelivery: (r) => callbacks.push(r) });
    const iterated: DeliveryReport[] = [];
    const loop = (async () => {
      for await (const report of producer.reports()) iterated.push(report);
    })();
    const records = Array.from({ length: 30 }, (_, i) => Record.text("reports", `r${i}`, { key: `k${i}` }));
    const sent = await producer.sendBatch(records);
    const failed = await producer.send(Record.text("nope", "x")).catch((e: unknown) => e);
    await producer.close();
    await loop;
    for (const list of [callbacks, iterated]) {
      expect(list).toHaveLength(31);
      const ok = list.filter((r) => r.error === undefined);
      // Reports of one partition come in offset order; partitions interleave.
      const byRecord = ok.map((r) => [records.indexOf(r.record as (typeof records)[number]), r] as const).sort((a, b) => a[0] - b[0]);
      expect(byRecord.map(([i]) => i)).toEqual(records.map((_, i) => i));
      expect(byRecord.map(([, r]) => [r.partition, r.offset])).toEqual(sent.map((m) => [m.partition, m.offset]));
      for (const p of [0, 1]) {
        const offsets = ok.filter((r) => r.partition === p).map((r) => r.offset);
        expect(offsets).toEqual(offsets.map((_, i) => BigInt(i)));
      }
      expect(list.find((r) => r.error !== undefined)?.error).toBe(failed);
    }
  });

  it("backpressure: at maxBufferedBytes send waits instead of buffering more; flush resolves once everything settled", async () => {
    const { proxy, client } = await proxied({ topics: [{ name: "bp", partitions: 1 }] });
    await client.metadata(["bp"]);
    proxy.stall();
    const producer = client.producer({ maxBufferedBytes: 20_000, maxMessageBytes: 4096, batchBytes: 4096, lingerMs: 1 });
    const settled: RecordMetadata[] = [];
    const sends = Array.from({ length: 2_000 }, (_, i) => producer.send(Record.text("bp", `${i}`.padStart(100, "0"))).then((m) => {
      settled.push(m);
      return m;
    }));
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      peak = Math.max(peak, producer.bufferedBytes);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(peak).toBeGreaterThan(10_000);
    expect(peak).toBeLessThanOrEqual(20_000);
    expect(settled).toHaveLength(0);
    const flushed = producer.flush().then(() => settled.length);
    proxy.unstall();
    expect(await flushed).toBe(2_000);
    const all = await Promise.all(sends);
    expect(all.map((m) => m.offset)).toEqual(all.map((_, i) => BigInt(i)));
    expect(producer.bufferedBytes).toBe(0);
    await producer.close();
  });

  it("PW-LOG-004: with acks \"none\" a peer that stops reading slows send down instead of growing the socket queue", async () => {
    const { proxy, client, direct } = await proxied({ topics: [{ name: "deaf", partitions: 1 }] });
    const producer = client.producer({ acks: "none", maxBufferedBytes: 256 * 1024, lingerMs: 1 });
    await producer.send(Record.text("deaf", "warm"));
    proxy.deafen();
    const value = new Uint8Array(1000).fill(65);
    let settled = 0;
    const sends = Array.from({ length: 30_000 }, () => producer.send(Record.bytes("deaf", value)).then(() => settled++));
    let last = -1;
    // Wait until nothing moves any more: the kernel's socket buffers are full.
    while (settled !== last) {
      last = settled;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(settled).toBeLessThan(30_000);
    expect(producer.bufferedBytes).toBeGreaterThan(0);
    expect(producer.bufferedBytes).toBeLessThanOrEqual(256 * 1024);
    proxy.listen();
    await Promise.all(sends);
    await producer.close();
    const consumer = direct.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: "deaf", partition: 0, from: "earliest" }]);
    expect((await take(consumer, 30_001, 30_000)).length).toBe(30_001);
    await consumer.close();
  }, 60_000);

  it("AbortSignal and timeoutMs: a send waiting for buffer room is withdrawn; one in flight stops waiting with TIMEOUT", async () => {
    const { proxy, client, direct } = await proxied({ topics: [{ name: "abort", partitions: 1 }] });
    await client.metadata(["abort"]);
    proxy.stall();
    const producer = client.producer({ maxBufferedBytes: 1000, maxMessageBytes: 1000, lingerMs: 0 });
    const first = producer.send(Record.text("abort", "a".repeat(800)));
    const timed = await producer.send(Record.text("abort", "b".repeat(800)), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(timed).toMatchObject({ code: "TIMEOUT" });
    const controller = new AbortController();
    const cancelled = producer.send(Record.text("abort", "c".repeat(800)), { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(await cancelled).toMatchObject({ code: "CANCELLED" });
    const inFlight = await producer.send(Record.text("abort", "d"), { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(inFlight).toMatchObject({ code: "TIMEOUT" });
    proxy.unstall();
    await first;
    await producer.flush();
    // The withdrawn records were never sent; the one that only stopped waiting was.
    expect(values(await readAll(direct, "abort", 1, 2))).toEqual(["a".repeat(800), "d"]);
    await producer.close();
  });
});
