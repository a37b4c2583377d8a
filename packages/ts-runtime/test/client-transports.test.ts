import type { Broker } from "@polywire/broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCerts, tempDir, type TestCerts } from "../../broker/test/helpers.js";
import { connect, Record, type ClientOptions, type ProducerRecord } from "../src/index.js";
import { memoryUrl, startBroker, take } from "./harness.js";

const PARTITIONS = 3;

/**
 * The one producer/consumer body every transport runs (PW-TRANS-002):
 * keyed, unkeyed and explicitly partitioned records with headers, null and
 * empty values, type ids and timestamps go out through a producer and come
 * back through a consumer, in order per partition, byte for byte.
 */
async function produceConsume(url: string, topic: string, options: ClientOptions = {}): Promise<void> {
  await using client = await connect(url, options);
  expect(client.state).toBe("ready");
  const records: ProducerRecord[] = [];
  for (let i = 0; i < 300; i++) {
    const base = { headers: [["seq", String(i)], ["seq", null]] as Array<[string, string | null]>, typeId: i % 4, timestamp: 1_700_000_000_000 + i };
    if (i % 3 === 0) records.push(Record.text(topic, `keyed ${i} over ${url}`, { ...base, key: `key-${i % 17}` }));
    else if (i % 3 === 1) records.push(Record.bytes(topic, i % 2 === 0 ? null : new Uint8Array(0), { ...base, partition: i % PARTITIONS }));
    else records.push(Record.json(topic, { i, big: "x".repeat(i * 10) }, base));
  }
  const producer = client.producer({ lingerMs: 1, batchBytes: 4096 });
  const sent = await producer.sendBatch(records);
  await producer.close();
  // Offsets of one partition grow in send order (PW-LOG-002, PW-LOG-007).
  for (let p = 0; p < PARTITIONS; p++) {
    const offsets = sent.filter((m) => m.partition === p).map((m) => m.offset);
    expect(offsets).toEqual(offsets.map((_, i) => BigInt(i)));
  }

  await using consumer = client.consumer({ autoOffsetReset: "earliest", maxWaitMs: 100 });
  consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
  const received = await take(consumer, records.length);
  expect(received).toHaveLength(records.length);
  const byIndex = new Map(received.map((r) => [Number(r.headerText("seq")), r]));
  for (let i = 0; i < records.length; i++) {
    const got = byIndex.get(i);
    const meta = sent[i];
    expect(got, `record ${i}`).toBeDefined();
    if (got === undefined || meta === undefined) continue;
    expect([got.partition, got.offset]).toEqual([meta.partition, meta.offset]);
    expect(got.typeId).toBe(i % 4);
    expect(got.timestamp).toBe(1_700_000_000_000 + i);
    expect(got.headers.map((h) => h.key)).toEqual(["seq", "seq"]);
    expect(got.headers[1]?.value).toBeNull();
    if (i % 3 === 0) {
      expect(got.keyText()).toBe(`key-${i % 17}`);
      expect(got.text()).toBe(`keyed ${i} over ${url}`);
    } else if (i % 3 === 1) {
      expect(got.key).toBeNull();
      // PW-BATCH-013: null and empty stay distinct.
      if (i % 2 === 0) expect(got.value).toBeNull();
      else expect(got.value).toEqual(new Uint8Array(0));
    } else {
      expect(got.json()).toEqual({ i, big: "x".repeat(i * 10) });
    }
  }
  // Per partition, records arrive in offset order.
  for (let p = 0; p < PARTITIONS; p++) {
    const offsets = received.filter((r) => r.partition === p).map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : 1)));
  }
  const stats = client.stats();
  expect(stats.recordsSent).toBe(records.length);
  expect(stats.recordsReceived).toBe(records.length);
}

describe("client over every transport (PW-TRANS-001, PW-TRANS-002)", () => {
  let broker: Broker;
  let certs: TestCerts;
  let dir: { path: string; remove(): void };
  const schemes = ["tcp", "tls", "unix", "ws", "wss", "memory"] as const;
  const urls = new Map<string, string>();

  beforeAll(async () => {
    certs = await makeCerts();
    dir = tempDir("client-transports");
    broker = await startBroker({
      listeners: ["tcp://127.0.0.1:0", "tls://127.0.0.1:0", `unix://${dir.path}/pw.sock`, "ws://127.0.0.1:0/polywire", "wss://localhost:0/polywire", memoryUrl("transports")],
      storage: { engine: "disk", dir: `${dir.path}/data` },
      tls: { cert: certs.serverCert, key: certs.serverKey },
      topics: schemes.map((s) => ({ name: `client-${s}`, partitions: PARTITIONS })),
    });
    for (const url of broker.urls) urls.set(new URL(url).protocol.slice(0, -1), url);
  });

  afterAll(async () => {
    await broker?.close();
    dir?.remove();
  });

  for (const scheme of schemes) {
    it(`PW-TRANS-002/PW-LOG-007: producer and consumer round trip over ${scheme}://, ordered per partition`, async () => {
      const url = urls.get(scheme) as string;
      expect(url.startsWith(`${scheme}://`)).toBe(true);
      await produceConsume(url, `client-${scheme}`, scheme === "tls" || scheme === "wss" ? { tls: { ca: certs.ca } } : {});
    });
  }

  it("PW-TRANS-001: a server certificate the client does not trust fails connect() at once, without retries", async () => {
    // With the default policy (retry what is retriable) a retried dial would
    // back off for about 20 s in all before giving up.
    const started = Date.now();
    const error = await connect(urls.get("tls") as string, { tls: { ca: certs.rogueCa } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
