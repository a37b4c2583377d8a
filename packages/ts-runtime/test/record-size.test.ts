import { describe, expect, it } from "vitest";
import { connect, PolywireError, Record } from "../src/index.js";
import { startBroker } from "./harness.js";

const MIB = 1024 * 1024;
// A 20 MB value: above every default limit on the way (1 MiB, 8 MiB, 16 MiB).
const VALUE = new Uint8Array(20_000_000).fill(7);

async function failure(promise: Promise<unknown>): Promise<PolywireError> {
  const error = await promise.then(() => {
    throw new Error("the send succeeded");
  }, (e: unknown) => e);
  expect(error).toBeInstanceOf(PolywireError);
  return error as PolywireError;
}

describe("a record too large names its size, every limit it exceeds, and what raises each (PW-LIM-003, PW-LOG-018)", () => {
  it("with the defaults: the producer's maxMessageBytes, the broker's max_batch_size and its max_frame_size, each with its option or flag", async () => {
    const broker = await startBroker({ topics: [{ name: "huge", partitions: 1 }] });
    try {
      await using client = await connect(broker.urls[0] as string);
      const error = await failure(client.producer().send(Record.bytes("huge", VALUE)));
      expect(error).toMatchObject({ code: "RECORD_TOO_LARGE", limit: 1_048_588n, retriable: false });
      expect(error.message).toMatch(/^a record of 2000\d{4} bytes \(encoded as a batch of one\) exceeds /);
      expect(error.message).toContain("the producer's maxMessageBytes of 1048588 (raise it with client.producer({ maxMessageBytes }) or polywire produce --max-message-bytes)");
      expect(error.message).toContain("the broker's max_batch_size of 8388608 (a broker setting: limits.maxBatchSize in its config file, or polywire broker --max-batch-size)");
      expect(error.message).toContain("within the broker's max_frame_size of 16777216 (limits.maxFrameSize, or polywire broker --max-frame-size)");

      // Raising the producer's limit leaves the broker's: only those are named.
      const raised = await failure(client.producer({ maxMessageBytes: 32 * MIB }).send(Record.bytes("huge", VALUE)));
      expect(raised).toMatchObject({ code: "RECORD_TOO_LARGE", limit: 8_388_608n });
      expect(raised.message).not.toContain("maxMessageBytes");
      expect(raised.message).toContain("max_batch_size of 8388608");
    } finally {
      await broker.close();
    }
  });

  it("once every limit is raised the 20 MB record is stored; a consumer whose maxFrameSize is too small is told which setting to raise", async () => {
    const broker = await startBroker({ topics: [{ name: "huge", partitions: 1, config: { "max.message.bytes": String(32 * MIB) } }], limits: { maxBatchSize: 32 * MIB, maxFrameSize: 32 * MIB } });
    try {
      await using client = await connect(broker.urls[0] as string);
      const stored = await client.producer({ maxMessageBytes: 32 * MIB }).send(Record.bytes("huge", VALUE));
      expect(stored.offset).toBe(0n);

      await using small = client.consumer({ autoOffsetReset: "earliest" });
      small.assign([{ topic: "huge", partition: 0 }]);
      const refused = await failure(small.records({ timeoutMs: 10_000 }).next());
      expect(refused).toMatchObject({ code: "BATCH_TOO_LARGE", limit: 16_777_216n });
      expect(refused.message).toContain("huge/0 at offset 0: BATCH_TOO_LARGE: the next batch is larger than a frame this client accepts, its maxFrameSize of 16777216 bytes (PW-LOG-018); raise it with connect(urls, { maxFrameSize }) or polywire consume --max-frame-size");

      await using roomy = await connect(broker.urls[0] as string, { maxFrameSize: 32 * MIB });
      await using consumer = roomy.consumer({ autoOffsetReset: "earliest" });
      consumer.assign([{ topic: "huge", partition: 0 }]);
      const record = (await consumer.records({ timeoutMs: 10_000 }).next()).value;
      expect(record?.value?.byteLength).toBe(VALUE.byteLength);
    } finally {
      await broker.close();
    }
  });

  it("PW-ADMIN-021: a record above the topic's max.message.bytes names it and the command that raises it", async () => {
    const broker = await startBroker({ topics: [{ name: "capped", partitions: 1, config: { "max.message.bytes": String(MIB) } }], limits: { maxBatchSize: 32 * MIB, maxFrameSize: 32 * MIB } });
    try {
      await using client = await connect(broker.urls[0] as string);
      const producer = client.producer({ maxMessageBytes: 32 * MIB });
      const value = new Uint8Array(2 * MIB);
      // Only the broker knows the topic's limit: the first send learns it from BATCH_TOO_LARGE.
      for (const attempt of ["answered by the broker", "refused before sending"]) {
        const error = await failure(producer.send(Record.bytes("capped", value)));
        expect(error, attempt).toMatchObject({ code: "RECORD_TOO_LARGE", limit: BigInt(MIB) });
        expect(error.message, attempt).toMatch(/^a record of 2097\d{3} bytes \(encoded as a batch of one\) exceeds topic "capped"'s max\.message\.bytes of 1048576 \(polywire topic alter capped --set max\.message\.bytes=<bytes>\)/);
      }
    } finally {
      await broker.close();
    }
  });
});
