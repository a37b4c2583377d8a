import { describe, expect, it } from "vitest";
import { connect, PolywireError, Record, type DeliveryReport } from "../src/index.js";
import { createAdminClient } from "../src/entry/admin.js";
import { startBroker, take } from "./harness.js";

/** JSON.stringify then parse: what a logger writes and reads back. */
function roundTrip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

describe("every public result type has a JSON form: JSON.stringify works, offsets become decimal strings", () => {
  it("send and sendBatch results, delivery reports, listOffsets, metadata, consumed records and batches, health, stats and errors", async () => {
    const broker = await startBroker({ topics: [{ name: "logged", partitions: 2 }] });
    try {
      await using client = await connect(broker.urls[0] as string);
      const reports: DeliveryReport[] = [];
      const producer = client.producer({ lingerMs: 0, onDelivery: (r) => reports.push(r) });
      const sent = await producer.send(Record.text("logged", "hello", { key: "k", partition: 1, timestamp: 1_700_000_000_000, headers: [["h", "v"], ["bin", new Uint8Array([0xff])], ["nil", null]] }));
      expect(roundTrip(sent)).toEqual({ topic: "logged", partition: 1, offset: "0", timestamp: 1_700_000_000_000 });
      const batch = await producer.sendBatch([Record.bytes("logged", new Uint8Array([0xfe, 0x00]), { partition: 1 }), Record.bytes("logged", null, { partition: 1 })]);
      expect(roundTrip(batch)).toEqual([
        { topic: "logged", partition: 1, offset: "1", timestamp: expect.any(Number) },
        { topic: "logged", partition: 1, offset: "2", timestamp: expect.any(Number) },
      ]);

      // A report leaves out the record (the caller's own input) and writes its error in JSON form.
      expect(roundTrip(reports[0])).toEqual({ topic: "logged", partition: 1, offset: "0", timestamp: 1_700_000_000_000 });
      expect(reports[0]?.record.value).toBe("hello");
      const failed = await producer.send(Record.text("logged", "nowhere", { partition: 7 })).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(PolywireError);
      expect(roundTrip(reports.at(-1))).toMatchObject({ topic: "logged", offset: "-1", error: { name: "PolywireError", code: "UNKNOWN_PARTITION", retriable: false } });

      const offsets = await client.listOffsets([{ topic: "logged", partition: 1, query: "latest" }, { topic: "logged", partition: 0, query: "earliest" }]);
      expect(roundTrip(offsets)).toEqual([
        { topic: "logged", partition: 1, offset: "3", timestamp: -1 },
        { topic: "logged", partition: 0, offset: "0", timestamp: -1 },
      ]);

      const [topic] = await client.metadata(["logged"]);
      expect(roundTrip(topic)).toEqual({
        name: "logged",
        partitioner: "murmur2",
        partitions: [
          { partition: 0, leaderId: broker.id, highWatermark: "0", logStartOffset: "0" },
          { partition: 1, leaderId: broker.id, highWatermark: "3", logStartOffset: "0" },
        ],
      });

      await using consumer = client.consumer({ autoOffsetReset: "earliest", maxWaitMs: 50 });
      consumer.assign([{ topic: "logged", partition: 1 }]);
      const records = await take(consumer, 3);
      // The line format of `polywire consume --json`: UTF-8 as text, other bytes as base64, null as null.
      expect(roundTrip(records)).toEqual([
        { topic: "logged", partition: 1, offset: "0", timestamp: 1_700_000_000_000, key: "k", value: "hello", headers: [{ key: "h", value: "v" }, { key: "bin", valueBase64: "/w==" }, { key: "nil", value: null }], typeId: 0 },
        { topic: "logged", partition: 1, offset: "1", timestamp: expect.any(Number), key: null, valueBase64: "/gA=", headers: [], typeId: 0 },
        { topic: "logged", partition: 1, offset: "2", timestamp: expect.any(Number), key: null, value: null, headers: [], typeId: 0 },
      ]);
      consumer.seek({ topic: "logged", partition: 1 }, { offset: 0 });
      const iterator = consumer.batches({ timeoutMs: 5_000 });
      const first = (await iterator.next()).value;
      expect(roundTrip(first)).toMatchObject({ topic: "logged", partition: 1, highWatermark: "3", records: [{ offset: "0", value: "hello" }] });

      expect(roundTrip(await client.health())).toMatchObject({ state: "ready", brokerId: broker.id, reconnects: 0 });
      expect(roundTrip(client.stats())).toMatchObject({ recordsSent: 3, errors: { UNKNOWN_PARTITION: 1 } });
      // An error with a bigint limit (JSON.stringify threw on it).
      const tooLarge = await client.producer({ maxMessageBytes: 100 }).send(Record.bytes("logged", new Uint8Array(200))).catch((e: unknown) => e);
      expect(roundTrip(tooLarge)).toMatchObject({ name: "PolywireError", code: "RECORD_TOO_LARGE", limit: "100", retriable: false });
    } finally {
      await broker.close();
    }
  });

  it("admin results: their protobuf JSON form, int64 fields as decimal strings", async () => {
    const broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"], http: { port: 0 }, topics: [{ name: "described", partitions: 1 }] });
    try {
      await using client = await connect(broker.urls[0] as string);
      await client.producer({ lingerMs: 0 }).send(Record.text("described", "x"));
      await using admin = createAdminClient(broker.httpUrl as string);
      const described = roundTrip(await admin.describeTopic("described")) as { name: string; partitions: Array<{ highWatermark: string; logStartOffset: string }> };
      expect(described.name).toBe("described");
      expect(described.partitions[0]).toMatchObject({ highWatermark: "1", logStartOffset: "0" });
      expect(roundTrip(await admin.createTopic("created", { partitions: 2 }))).toMatchObject({ name: "created", partitions: [{ highWatermark: "0" }, { highWatermark: "0" }] });
      expect(roundTrip(await admin.alterTopic("created", { partitions: 3 }))).toMatchObject({ name: "created" });
      expect(roundTrip(await admin.listTopics())).toEqual(expect.arrayContaining([expect.objectContaining({ name: "described" })]));
      expect(roundTrip(await admin.describeCluster())).toMatchObject({ brokers: [{ brokerId: broker.id }] });
      const health = roundTrip(await admin.health()) as { checks: unknown[] };
      expect(Array.isArray(health.checks)).toBe(true);
      expect(JSON.stringify(await admin.metrics({ namePrefix: "polywire_" }))).toMatch(/"families"/);
      expect(roundTrip(await admin.listGroups().catch((e: unknown) => ({ unavailable: String(e) })))).toBeDefined();
    } finally {
      await broker.close();
    }
  });
});
