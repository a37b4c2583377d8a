import { readFileSync } from "node:fs";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Acks as WireAcks, MetadataResponseSchema, ProduceRequestSchema, ProduceResponseSchema } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { readBatchHeader, type Compression } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { PolywireError, Record } from "../src/index.js";
import { take, until } from "./harness.js";
import { proxied, readAll, setup, values } from "./producer-fixtures.js";

describe("idempotent retries (PW-IDEM-003, PW-IDEM-007)", () => {
  it("PW-IDEM-003/PW-IDEM-007: a batch whose acknowledgement was lost is resent byte for byte, answered as a duplicate and stored once", async () => {
    const { proxy, client, direct } = await proxied({ topics: [{ name: "idem", partitions: 1 }] });
    let cut = false;
    proxy.rule = ({ direction, frame }) => {
      // The broker stored the batch and answered; the client never reads the answer.
      if (!cut && direction === "to-client" && frame.kind === FrameKind.PRODUCE_RESPONSE) {
        cut = true;
        return "kill";
      }
      return "forward";
    };
    const producer = client.producer({ batchBytes: 600, lingerMs: 0 });
    expect(producer.idempotent).toBe(true);
    const records = Array.from({ length: 40 }, (_, i) => Record.text("idem", `value-${i}-${"p".repeat(40)}`));
    const sent = await producer.sendBatch(records);
    expect(cut).toBe(true);
    expect(sent.map((m) => m.offset)).toEqual(records.map((_, i) => BigInt(i)));

    const requests = proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST);
    const payloads = requests.map((f) => Buffer.from(f.payload).toString("hex"));
    const resent = payloads.filter((p, i) => payloads.indexOf(p) !== i);
    expect(resent.length).toBeGreaterThanOrEqual(1);
    const responses = proxy.frames("to-client", FrameKind.PRODUCE_RESPONSE).map((f) => fromBinary(ProduceResponseSchema, f.message));
    expect(responses.some((r) => r.duplicate)).toBe(true);
    expect(client.stats().retries).toBeGreaterThanOrEqual(1);
    expect(client.stats().reconnects).toBe(1);

    const stored = await readAll(direct, "idem", 1, 40);
    expect(values(stored)).toEqual(records.map((r) => r.value));
    expect(stored.map((r) => r.offset)).toEqual(records.map((_, i) => BigInt(i)));
    await producer.close();
  });

  it("PW-ERR-002: without idempotence a produce whose acknowledgement was lost is not retried; the send fails and the record is stored once", async () => {
    const { proxy, client, direct } = await proxied({ topics: [{ name: "plain", partitions: 1 }] });
    proxy.rule = ({ direction, frame }) => direction === "to-client" && frame.kind === FrameKind.PRODUCE_RESPONSE ? "kill" : "forward";
    const producer = client.producer({ idempotent: false, acks: "leader" });
    expect(producer.idempotent).toBe(false);
    const failure = await producer.send(Record.text("plain", "once")).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PolywireError);
    expect(failure).toMatchObject({ code: "CONNECTION_LOST" });
    expect(proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST)).toHaveLength(1);
    expect(values(await readAll(direct, "plain", 1, 1))).toEqual(["once"]);
  });

  it("PW-IDEM-004/PW-IDEM-007: a lost request makes the batches behind it out of order; all are resent in order and stored once", async () => {
    const { proxy, client, direct } = await proxied({ topics: [{ name: "ooo", partitions: 1 }] });
    let dropped = false;
    proxy.rule = ({ direction, frame }) => {
      if (!dropped && direction === "to-broker" && frame.kind === FrameKind.PRODUCE_REQUEST) {
        dropped = true;
        return "drop";
      }
      return "forward";
    };
    const producer = client.producer({ batchBytes: 500, lingerMs: 0, requestTimeoutMs: 300 });
    const records = Array.from({ length: 30 }, (_, i) => Record.text("ooo", `v${i}-${"q".repeat(50)}`));
    const sent = await producer.sendBatch(records);
    expect(sent.map((m) => m.offset)).toEqual(records.map((_, i) => BigInt(i)));
    const answers = proxy.frames("to-client", FrameKind.ERROR).length;
    expect(answers).toBeGreaterThanOrEqual(1);
    expect(client.stats().errors.OUT_OF_ORDER_SEQUENCE).toBeGreaterThanOrEqual(1);
    expect(client.stats().errors.TIMEOUT).toBe(1);
    expect(values(await readAll(direct, "ooo", 1, 30))).toEqual(records.map((r) => r.value));
  });

  it("PW-ADMIN-021/PW-IDEM-001: a batch above the topic's max.message.bytes is split and renumbered in a new epoch; records stay in order", async () => {
    const { proxy, client, direct } = await proxied({ topics: [{ name: "small", partitions: 1, config: { "max.message.bytes": "1000" } }] });
    const producer = client.producer({ batchBytes: 8192, lingerMs: 20 });
    const records = Array.from({ length: 60 }, (_, i) => Record.text("small", `r${i}-${"s".repeat(60)}`));
    const sent = await producer.sendBatch(records);
    expect(sent.map((m) => m.offset)).toEqual(records.map((_, i) => BigInt(i)));
    expect(client.stats().errors.BATCH_TOO_LARGE).toBe(1);
    // The rejected batch left a sequence gap: the parts went out in a bumped epoch, sequences from 0.
    expect(proxy.frames("to-broker", FrameKind.INIT_PRODUCER_REQUEST)).toHaveLength(2);
    const [rejected, ...parts] = proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST).map((f) => readBatchHeader(f.payload));
    expect(rejected).toMatchObject({ producerEpoch: 0, baseSequence: 0, recordCount: 60 });
    expect(parts.length).toBeGreaterThan(1);
    let sequence = 0;
    for (const part of parts) {
      expect(part).toMatchObject({ producerId: rejected?.producerId, producerEpoch: 1, baseSequence: sequence });
      expect(part.batchLength + 12).toBeLessThanOrEqual(1000);
      sequence += part.recordCount;
    }
    expect(sequence).toBe(60);
    // A record that cannot fit the topic's limit alone fails; it is then refused before sending.
    const big = await producer.send(Record.text("small", "b".repeat(2000))).catch((e: unknown) => e);
    expect(big).toMatchObject({ code: "RECORD_TOO_LARGE", limit: 1000n });
    const after = await producer.send(Record.text("small", "after"));
    expect(after.offset).toBe(60n);
    expect(values(await readAll(direct, "small", 1, 61))).toEqual([...records.map((r) => r.value), "after"]);
  });
});

describe("size limits", () => {
  it("RECORD_TOO_LARGE: a record above maxMessageBytes or the broker's max_batch_size is refused before anything is sent (PW-LIM-003)", async () => {
    const { proxy, client } = await proxied({ topics: [{ name: "limits", partitions: 1 }], limits: { maxBatchSize: 4096 } });
    const producer = client.producer({ maxMessageBytes: 2048 });
    const byOption = await producer.send(Record.bytes("limits", new Uint8Array(3000))).catch((e: unknown) => e);
    expect(byOption).toMatchObject({ code: "RECORD_TOO_LARGE", limit: 2048n });
    const roomy = client.producer({ maxMessageBytes: 1 << 20 });
    const byBroker = await roomy.send(Record.bytes("limits", new Uint8Array(5000))).catch((e: unknown) => e);
    expect(byBroker).toMatchObject({ code: "RECORD_TOO_LARGE", limit: 4096n });
    expect(byBroker).toBeInstanceOf(PolywireError);
    const batch = await roomy.sendBatch([Record.text("limits", "fine"), Record.bytes("limits", new Uint8Array(9000))]).catch((e: unknown) => e);
    expect(batch).toMatchObject({ code: "RECORD_TOO_LARGE" });
    expect((batch as Error).message).toMatch(/^record 1:/);
    expect(proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST)).toHaveLength(0);
    // Records up to the limit go through, in batches the broker accepts.
    const ok = await roomy.sendBatch(Array.from({ length: 20 }, () => Record.bytes("limits", new Uint8Array(1000))));
    expect(ok.map((m) => m.offset)).toEqual(ok.map((_, i) => BigInt(i)));
    for (const f of proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST)) expect(f.payload.byteLength).toBeLessThanOrEqual(4096);
    expect(client.stats().errors.RECORD_TOO_LARGE).toBe(3);
  });
});

describe("partitioning (§6)", () => {
  const vectors = JSON.parse(readFileSync(new URL("../../../spec/vectors/partitioning.json", import.meta.url), "utf8")) as {
    counts: number[];
    vectors: Array<{ keyHex: string; partitions: Record<string, number> }>;
  };

  it("PW-PART-001/PW-PART-002: keyed records land on the partitions of spec/vectors/partitioning.json", async () => {
    const counts = vectors.counts.filter((c) => c <= 100);
    const { client } = await setup({ topics: counts.map((c) => ({ name: `keys-${c}`, partitions: c })) });
    const producer = client.producer({ lingerMs: 1 });
    for (const count of counts) {
      const records = vectors.vectors.map((v) => Record.text(`keys-${count}`, v.keyHex, { key: Buffer.from(v.keyHex, "hex") }));
      const sent = await producer.sendBatch(records);
      expect(sent.map((m) => m.partition), `${count} partitions`).toEqual(vectors.vectors.map((v) => v.partitions[String(count)]));
      // The broker really holds each record in that partition.
      const first = vectors.vectors[0] as (typeof vectors.vectors)[number];
      const consumer = client.consumer({ maxWaitMs: 50 });
      consumer.assign([{ topic: `keys-${count}`, partition: first.partitions[String(count)] as number, from: "earliest" }]);
      const [record] = await take(consumer, 1);
      expect(record?.text()).toBe(first.keyHex);
      await consumer.close();
    }
    await producer.close();
  });

  it("PW-PART-003: unkeyed records stick to one partition per batch", async () => {
    const { client } = await setup({ topics: [{ name: "sticky", partitions: 8 }] });
    const producer = client.producer({ lingerMs: 50, batchBytes: 1 << 20 });
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send(Record.text("sticky", `a${i}`))));
    expect(new Set(first.map((m) => m.partition)).size).toBe(1);
    // Each batch goes to one partition, and the sticky partition moves after a batch is sealed.
    const seen = new Set<number>();
    for (let round = 0; round < 12; round++) {
      const batch = await Promise.all(Array.from({ length: 5 }, () => producer.send(Record.text("sticky", "b"))));
      expect(new Set(batch.map((m) => m.partition)).size).toBe(1);
      seen.add(batch[0]?.partition as number);
    }
    expect(seen.size).toBeGreaterThan(1);
    await producer.close();
  });

  it("PW-PART-004: an explicit partition is used as given; one beyond the count fails with UNKNOWN_PARTITION until the topic grows", async () => {
    const { broker, client } = await setup({ topics: [{ name: "grow", partitions: 2 }] });
    const producer = client.producer({ lingerMs: 0 });
    expect((await producer.send(Record.text("grow", "p1", { partition: 1 }))).partition).toBe(1);
    await expect(producer.send(Record.text("grow", "p3", { partition: 3 }))).rejects.toMatchObject({ code: "UNKNOWN_PARTITION" });
    await broker.storage.alterTopic("grow", { partitions: 4 });
    // The metadata cache is refreshed for a partition it does not know.
    const grown = await producer.send(Record.text("grow", "p3", { partition: 3 }));
    expect([grown.partition, grown.offset]).toEqual([3, 0n]);
    await producer.close();
  });

  it("PW-COMPAT-008: keyed records of a topic with an unknown partitioner fail; explicit partitions still work", async () => {
    const { proxy, client } = await proxied({ topics: [{ name: "exotic", partitions: 3 }] });
    proxy.rule = ({ direction, frame }) => {
      if (direction !== "to-client" || frame.kind !== FrameKind.METADATA_RESPONSE) return "forward";
      const response = fromBinary(MetadataResponseSchema, frame.message);
      for (const t of response.topics) t.partitioner = "fnv1a-2030";
      return { replace: { ...frame, message: toBinary(MetadataResponseSchema, response) } };
    };
    const producer = client.producer({ lingerMs: 0 });
    const keyed = await producer.send(Record.text("exotic", "k", { key: "k" })).catch((e: unknown) => e);
    expect(keyed).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect((keyed as Error).message).toContain("PW-COMPAT-008");
    expect((await producer.send(Record.text("exotic", "p", { key: "k", partition: 2 }))).partition).toBe(2);
    // Unkeyed records need no partitioner.
    await producer.send(Record.text("exotic", "u"));
    await producer.close();
  });
});

describe("compression (§5.3)", () => {
  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"] as const satisfies readonly Compression[]) {
    it(`PW-COMP-001..004/PW-COMP-009: ${codec} batches round trip and are stored as sent`, async () => {
      const { proxy, client, direct } = await proxied({ topics: [{ name: `c-${codec}`, partitions: 1 }] });
      const producer = client.producer({ compression: codec, ...(codec === "zstd" ? { compressionLevel: 3 } : {}), minCompressSize: 0, lingerMs: 5 });
      const records = Array.from({ length: 200 }, (_, i) => Record.json(`c-${codec}`, { i, text: "compressible ".repeat(20) }, { key: `k${i % 5}` }));
      await producer.sendBatch(records);
      await producer.close();
      const requests = proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST);
      expect(requests.length).toBeGreaterThanOrEqual(1);
      for (const r of requests) {
        const header = readBatchHeader(r.payload);
        expect(header.compression).toBe(codec);
        if (codec !== "none") expect(header.batchLength + 12).toBeLessThan(header.uncompressedSize);
      }
      const stored = await readAll(direct, `c-${codec}`, 1, 200);
      expect(stored.map((r) => r.json())).toEqual(records.map((_, i) => ({ i, text: "compressible ".repeat(20) })));
      expect(stored.map((r) => r.keyText())).toEqual(records.map((_, i) => `k${i % 5}`));
    });
  }

  it("PW-COMP-007: records sections below minCompressSize are sent uncompressed", async () => {
    const { proxy, client } = await proxied({ topics: [{ name: "tiny", partitions: 1 }] });
    const producer = client.producer({ compression: "gzip", minCompressSize: 4096, lingerMs: 0 });
    await producer.send(Record.text("tiny", "short"));
    const [request] = proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST);
    expect(readBatchHeader(request?.payload as Uint8Array).compression).toBe("none");
    await producer.close();
  });
});

describe("acks (PW-LOG-004..006)", () => {
  for (const acks of ["none", "leader", "all"] as const) {
    it(`PW-LOG-00${acks === "none" ? 4 : acks === "leader" ? 5 : 6}: acks "${acks}"`, async () => {
      const { proxy, client, direct } = await proxied({ topics: [{ name: `acks-${acks}`, partitions: 1 }] });
      const producer = client.producer({ acks, lingerMs: 1 });
      expect(producer.idempotent).toBe(acks !== "none");
      const sent = await producer.sendBatch(Array.from({ length: 25 }, (_, i) => Record.text(`acks-${acks}`, `a${i}`)));
      await producer.close();
      const requests = proxy.frames("to-broker", FrameKind.PRODUCE_REQUEST).map((f) => fromBinary(ProduceRequestSchema, f.message));
      const wire = acks === "none" ? WireAcks.NONE : acks === "leader" ? WireAcks.LEADER : WireAcks.ALL;
      expect(requests.every((r) => r.acks === wire)).toBe(true);
      const responses = proxy.frames("to-client", FrameKind.PRODUCE_RESPONSE);
      if (acks === "none") {
        expect(sent.every((m) => m.offset === -1n)).toBe(true);
        expect(responses).toHaveLength(0);
      } else {
        expect(sent.map((m) => m.offset)).toEqual(sent.map((_, i) => BigInt(i)));
        expect(responses).toHaveLength(requests.length);
      }
      expect(values(await readAll(direct, `acks-${acks}`, 1, 25))).toEqual(Array.from({ length: 25 }, (_, i) => `a${i}`));
    });
  }

  it("an idempotent producer needs an acknowledgement: idempotent with acks \"none\" is INVALID_ARGUMENT", async () => {
    const { client } = await setup();
    expect(() => client.producer({ acks: "none", idempotent: true })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => client.producer({ batchBytes: 0 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => client.producer({ compression: "brotli" as Compression })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("PW-LOG-004: with acks \"none\" a broker's error frame is counted and reported as a client error event", async () => {
    const { broker, client } = await setup({ topics: [{ name: "gone", partitions: 1 }] });
    const events: PolywireError[] = [];
    client.on("error", (e) => events.push(e));
    const producer = client.producer({ acks: "none", lingerMs: 30 });
    // The topic exists when the record is batched, and is gone when the batch lands.
    const pending = producer.send(Record.text("gone", "x"));
    await until(() => producer.bufferedBytes > 0, 5_000, "the record to be batched");
    await broker.storage.deleteTopic("gone");
    await pending;
    await until(() => events.length > 0, 5_000, "an error event");
    expect(events[0]).toMatchObject({ code: "UNKNOWN_TOPIC" });
    expect(client.stats().errors.UNKNOWN_TOPIC).toBe(1);
    await producer.close();
  });
});
