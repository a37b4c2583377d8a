import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Acks, OffsetSpec, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, ErrorSchema, Feature, FrameKind } from "@polywire/proto/session";
import { PolywireError } from "@polywire/runtime";
import { Connection, type Frame } from "@polywire/runtime/connection";
import { crc32c, decodeBatch, encodeBatch, init, splitBatches, type RecordInput } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";

const text = new TextEncoder();
let broker: Broker;
let conn: Connection;
const url = "memory://log-plane-test";

function values(payload: Uint8Array): string[] {
  const decoder = new TextDecoder();
  return splitBatches(payload).flatMap((b) => decodeBatch(b).records.map((r) => decoder.decode(r.value ?? undefined)));
}

function batchOf(...vals: string[]): Uint8Array {
  return encodeBatch(vals.map((v) => ({ value: text.encode(v) })));
}

async function produce(topic: string, batch: Uint8Array, acks: Acks = Acks.LEADER, partition = 0) {
  return (await conn.call(FrameKind.PRODUCE_REQUEST, { topic, partition, acks }, batch)).message;
}

async function rejection(promise: Promise<unknown>): Promise<PolywireError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PolywireError);
    return error as PolywireError;
  }
  throw new Error("expected the request to fail");
}

beforeAll(async () => {
  await init();
  broker = await Broker.start({
    listeners: [url],
    storage: { engine: "memory" },
    limits: { maxBatchSize: 64 * 1024, maxUncompressedBatchSize: 32 * 1024 },
    topics: [
      { name: "orders", partitions: 1 },
      { name: "multi", partitions: 3 },
      { name: "small", partitions: 1, config: { "max.message.bytes": "2000" } },
      { name: "idem", partitions: 2 },
      { name: "fetching", partitions: 1 },
      { name: "times", partitions: 1 },
    ],
  });
  conn = await Connection.connect(url);
});

afterAll(async () => {
  await conn?.close();
  await broker?.close();
});

describe("produce (§7.1)", () => {
  it("PW-LOG-002/PW-LOG-005: offsets are consecutive from the high watermark and visible once acknowledged", async () => {
    const a = await produce("orders", batchOf("a1", "a2"));
    const b = await produce("orders", batchOf("b1"));
    expect(b.baseOffset).toBe(a.baseOffset + 2n);
    expect(b.duplicate).toBe(false);
    expect(b.logAppendTimeMs).toBeGreaterThan(0n);
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "orders", partition: 0, offset: a.baseOffset }] });
    expect(values(fetched.payload)).toEqual(["a1", "a2", "b1"]);
  });

  it("PW-LOG-007: pipelined produces on one connection are appended in the order sent", async () => {
    const start = (await conn.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic: "orders", partition: 0, spec: OffsetSpec.LATEST }] })).message.partitions[0]?.offset ?? 0n;
    const sent = Array.from({ length: 300 }, (_, i) => `p${i}`);
    const acks = await Promise.all(sent.map((v) => produce("orders", batchOf(v))));
    expect(acks.map((a) => a.baseOffset)).toEqual(sent.map((_, i) => start + BigInt(i)));
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "orders", partition: 0, offset: start }], maxBytes: 1 << 20 });
    expect(values(fetched.payload)).toEqual(sent);
  });

  it("PW-LOG-004: ACKS_NONE gets no ProduceResponse, the batch is appended, and a failure may come back as an Error", async () => {
    const before = (await conn.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic: "orders", partition: 0, spec: OffsetSpec.LATEST }] })).message.partitions[0]?.offset ?? 0n;
    const message = toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { topic: "orders", partition: 0, acks: Acks.NONE }));
    await conn.request(FrameKind.PRODUCE_REQUEST, message, batchOf("fire", "forget"), { expectResponse: false });
    const errors: Frame[] = [];
    const off = conn.on("frame", (frame) => errors.push(frame));
    const missing = toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { topic: "nope", partition: 0, acks: Acks.NONE }));
    await conn.request(FrameKind.PRODUCE_REQUEST, missing, batchOf("lost"), { expectResponse: false });
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "orders", partition: 0, offset: before }], maxWaitMs: 1_000 });
    expect(values(fetched.payload)).toEqual(["fire", "forget"]);
    await expect.poll(() => errors.length).toBe(1);
    off();
    expect(errors[0]?.kind).toBe(FrameKind.ERROR);
    expect(fromBinary(ErrorSchema, errors[0]?.message as Uint8Array).code).toBe(ErrorCode.UNKNOWN_TOPIC);
  });

  it("PW-LOG-003: an unknown topic is UNKNOWN_TOPIC, an unknown partition UNKNOWN_PARTITION (PW-PART-004)", async () => {
    expect((await rejection(produce("nope", batchOf("x")))).code).toBe("UNKNOWN_TOPIC");
    expect((await rejection(produce("multi", batchOf("x"), Acks.LEADER, 3))).code).toBe("UNKNOWN_PARTITION");
  });

  it("PW-LIM-003: a batch above max_batch_size is BATCH_TOO_LARGE with the limit; nothing is stored", async () => {
    const hw = async (): Promise<bigint> => (await conn.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic: "orders", partition: 0, spec: OffsetSpec.LATEST }] })).message.partitions[0]?.offset ?? -1n;
    const before = await hw();
    const error = await rejection(produce("orders", encodeBatch([{ value: new Uint8Array(70 * 1024) }])));
    expect(error.code).toBe("BATCH_TOO_LARGE");
    expect(error.limit).toBe(64n * 1024n);
    expect(await hw()).toBe(before);
  });

  it("PW-ADMIN-021: a batch above the topic's max.message.bytes is BATCH_TOO_LARGE with that limit", async () => {
    const error = await rejection(produce("small", encodeBatch([{ value: new Uint8Array(3000) }])));
    expect(error.code).toBe("BATCH_TOO_LARGE");
    expect(error.limit).toBe(2000n);
    expect((await produce("small", batchOf("fits"))).baseOffset).toBe(0n);
  });

  it("PW-LOG-001/PW-BATCH-003: a batch with a bad CRC is CORRUPT_BATCH and leaves the log unchanged", async () => {
    const batch = batchOf("intact");
    batch[batch.length - 1] = (batch[batch.length - 1] as number) ^ 0x55;
    expect((await rejection(produce("orders", batch))).code).toBe("CORRUPT_BATCH");
    expect((await rejection(produce("orders", new Uint8Array(0)))).code).toBe("CORRUPT_BATCH");
    const two = new Uint8Array([...batchOf("one"), ...batchOf("two")]);
    expect((await rejection(produce("orders", two))).code).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-005: a reserved codec value is UNSUPPORTED_CODEC", async () => {
    const batch = batchOf("codec");
    const view = new DataView(batch.buffer, batch.byteOffset);
    view.setUint16(17, 5);
    view.setUint32(13, crc32c(batch.subarray(17)));
    expect((await rejection(produce("orders", batch))).code).toBe("UNSUPPORTED_CODEC");
  });

  it("PW-COMP-006: an uncompressed size above the broker's limit is DECOMPRESSION_LIMIT with the limit", async () => {
    const records: RecordInput[] = Array.from({ length: 40 }, () => ({ value: new Uint8Array(1024) }));
    const error = await rejection(produce("orders", encodeBatch(records, { compression: "gzip", minCompressSize: 0 })));
    expect(error.code).toBe("DECOMPRESSION_LIMIT");
    expect(error.limit).toBe(32n * 1024n);
  });

  it("PW-COMP-009: compressed batches are accepted and served byte for byte as produced", async () => {
    const batch = encodeBatch(Array.from({ length: 20 }, (_, i) => ({ value: text.encode(`zstd record ${i} `.repeat(20)) })), { compression: "zstd", minCompressSize: 0 });
    const sent = batch.slice();
    const { baseOffset } = await produce("orders", batch);
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "orders", partition: 0, offset: baseOffset }] });
    const first = splitBatches(fetched.payload)[0] as Uint8Array;
    expect(first.subarray(8)).toEqual(sent.subarray(8));
    expect(decodeBatch(first).header.compression).toBe("zstd");
  });

  it("PW-COMPAT-004: an unknown Acks value is INVALID_ARGUMENT", async () => {
    expect((await rejection(produce("orders", batchOf("x"), 9 as Acks))).code).toBe("INVALID_ARGUMENT");
  });
});

describe("idempotent produce (§7.5)", () => {
  const idempotent = (producerId: bigint, producerEpoch: number, baseSequence: number, ...vals: string[]): Uint8Array =>
    encodeBatch(vals.map((v) => ({ value: text.encode(v) })), { producerId, producerEpoch, baseSequence });

  it("PW-IDEM-001..004: duplicates return the original offset; gaps are OUT_OF_ORDER_SEQUENCE; a bumped epoch fences", async () => {
    const init1 = (await conn.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n })).message;
    expect(init1.producerId).toBeGreaterThanOrEqual(0n);
    expect(init1.producerEpoch).toBe(0);
    const id = init1.producerId;
    const first = idempotent(id, 0, 0, "i0", "i1", "i2");
    const a = await produce("idem", first.slice());
    const retry = await produce("idem", first.slice());
    expect(retry).toMatchObject({ baseOffset: a.baseOffset, duplicate: true });
    const b = await produce("idem", idempotent(id, 0, 3, "i3"));
    expect(b.baseOffset).toBe(a.baseOffset + 3n);
    expect((await rejection(produce("idem", idempotent(id, 0, 9, "gap")))).code).toBe("OUT_OF_ORDER_SEQUENCE");
    // Sequences are per partition.
    expect((await produce("idem", idempotent(id, 0, 0, "other"), Acks.LEADER, 1)).baseOffset).toBe(0n);
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "idem", partition: 0, offset: 0n }] });
    expect(values(fetched.payload)).toEqual(["i0", "i1", "i2", "i3"]);

    const init2 = (await conn.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: id, producerEpoch: 0 })).message;
    expect(init2).toMatchObject({ producerId: id, producerEpoch: 1 });
    expect((await rejection(produce("idem", idempotent(id, 0, 4, "zombie")))).code).toBe("PRODUCER_FENCED");
    expect((await produce("idem", idempotent(id, 1, 0, "new epoch"))).duplicate).toBe(false);
  });

  it("PW-IDEM-005: an unknown producer id is UNKNOWN_PRODUCER", async () => {
    expect((await rejection(produce("idem", idempotent(987654321n, 0, 0, "who")))).code).toBe("UNKNOWN_PRODUCER");
  });

  it("PW-SESS-006: an idempotent batch on a session without FEATURE_IDEMPOTENCE is FEATURE_NOT_NEGOTIATED", async () => {
    await using plain = await Connection.connect(url, { features: [Feature.LOG] });
    const { producerId } = (await conn.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n })).message;
    const error = await rejection(plain.call(FrameKind.PRODUCE_REQUEST, { topic: "idem", partition: 0 }, idempotent(producerId, 0, 0, "x")));
    expect(error.code).toBe("FEATURE_NOT_NEGOTIATED");
    expect((await rejection(plain.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n }))).code).toBe("FEATURE_NOT_NEGOTIATED");
  });
});

describe("fetch (§7.2)", () => {
  it("PW-LOG-014: a long poll at the high watermark ends as soon as new data arrives", async () => {
    const hw = (await conn.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic: "fetching", partition: 0, spec: OffsetSpec.LATEST }] })).message.partitions[0]?.offset ?? 0n;
    const started = performance.now();
    const poll = conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: hw }], maxWaitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await produce("fetching", batchOf("wake up"));
    const fetched = await poll;
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(values(fetched.payload)).toEqual(["wake up"]);
  });

  it("PW-LOG-014: with fewer than min_bytes available the broker waits max_wait_ms and answers with what it has", async () => {
    const started = performance.now();
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: 0n }], maxWaitMs: 300, minBytes: 1 << 20 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(values(fetched.payload)).toContain("wake up");
  });

  it("PW-LOG-013: max_bytes is respected beyond the first batch, which is returned whole", async () => {
    const base = (await produce("fetching", encodeBatch([{ value: new Uint8Array(1000).fill(1) }]))).baseOffset;
    for (let i = 0; i < 4; i++) await produce("fetching", encodeBatch([{ value: new Uint8Array(1000).fill(2 + i) }]));
    const one = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: base, maxBytes: 10 }] });
    expect(splitBatches(one.payload)).toHaveLength(1);
    const two = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: base, maxBytes: 2500 }] });
    expect(splitBatches(two.payload)).toHaveLength(2);
    const whole = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: base }], maxBytes: 2500 });
    expect(splitBatches(whole.payload)).toHaveLength(2);
  });

  it("PW-FRAME-007: fetch answers fit the client's max_frame_size; a batch that cannot fit is BATCH_TOO_LARGE for its partition", async () => {
    // Batches above the smallest limit a client may advertise (PW-FRAME-020) need the default batch limits.
    await using roomy = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "fetching", partitions: 1 }] });
    await using writer = await Connection.connect(roomy.urls[0] as string);
    const put = async (batch: Uint8Array): Promise<bigint> => (await writer.call(FrameKind.PRODUCE_REQUEST, { topic: "fetching", partition: 0, acks: Acks.LEADER }, batch)).message.baseOffset;
    await using small = await Connection.connect(roomy.urls[0] as string, { maxFrameSize: 65_536 });
    const big = await put(encodeBatch([{ value: new Uint8Array(70_000) }]));
    const few = await put(batchOf("s1"));
    for (let i = 0; i < 40; i++) await put(encodeBatch([{ value: text.encode(`s${i + 2}`) }, { value: new Uint8Array(2000) }]));
    const refused = await small.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: big }] });
    expect(refused.message.partitions.map((p) => [p.errorCode, p.recordsSize])).toEqual([[ErrorCode.BATCH_TOO_LARGE, 0]]);
    const fitted = await small.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: few }] });
    expect(fitted.payload.byteLength).toBeGreaterThan(0);
    expect(fitted.payload.byteLength).toBeLessThanOrEqual(65_536 - 16);
    expect(fitted.payload.byteLength).toBeGreaterThan(60_000);
    expect(values(fitted.payload)[0]).toBe("s1");
  });

  it("PW-LOG-011: a fetch from the middle of a batch returns that whole batch", async () => {
    const { baseOffset } = await produce("fetching", batchOf("m0", "m1", "m2"));
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: baseOffset + 1n }] });
    const [batch] = splitBatches(fetched.payload);
    expect(decodeBatch(batch as Uint8Array).header.baseOffset).toBe(baseOffset);
  });

  it("PW-LOG-015: an offset above the high watermark is OFFSET_OUT_OF_RANGE for that partition; at the watermark it is empty", async () => {
    const hw = (await conn.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic: "fetching", partition: 0, spec: OffsetSpec.LATEST }] })).message.partitions[0]?.offset ?? 0n;
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, {
      partitions: [
        { topic: "fetching", partition: 0, offset: hw + 5n },
        { topic: "nope", partition: 0, offset: 0n },
      ],
    });
    expect(fetched.message.partitions.map((p) => [p.errorCode, p.recordsSize])).toEqual([
      [ErrorCode.OFFSET_OUT_OF_RANGE, 0],
      [ErrorCode.UNKNOWN_TOPIC, 0],
    ]);
    expect(fetched.message.partitions[0]?.highWatermark).toBe(hw);
    expect(fetched.payload.byteLength).toBe(0);
    const atWatermark = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: hw }] });
    expect(atWatermark.message.partitions.map((p) => [p.errorCode, p.recordsSize])).toEqual([[ErrorCode.UNSPECIFIED, 0]]);
  });

  it("PW-LOG-017: a fetch naming the same partition twice fails as a whole with INVALID_ARGUMENT; the connection stays", async () => {
    const error = await conn
      .call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: 0n }, { topic: "fetching", partition: 0, offset: 1n }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT" });
    const again = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "fetching", partition: 0, offset: 0n }] });
    expect(again.message.partitions[0]?.errorCode).toBe(ErrorCode.UNSPECIFIED);
  });

  it("PW-LOG-010: several partitions are answered in request order with their sections concatenated", async () => {
    await produce("multi", batchOf("zero"), Acks.LEADER, 0);
    await produce("multi", batchOf("two-a", "two-b"), Acks.LEADER, 2);
    const fetched = await conn.call(FrameKind.FETCH_REQUEST, {
      partitions: [2, 1, 0].map((partition) => ({ topic: "multi", partition, offset: 0n })),
    });
    const sizes = fetched.message.partitions.map((p) => [p.partition, p.highWatermark]);
    expect(sizes).toEqual([[2, 2n], [1, 0n], [0, 1n]]);
    const [two, one, zero] = fetched.message.partitions;
    expect(one?.recordsSize).toBe(0);
    expect(values(fetched.payload.subarray(0, two?.recordsSize))).toEqual(["two-a", "two-b"]);
    expect(values(fetched.payload.subarray(two?.recordsSize))).toEqual(["zero"]);
    expect((two?.recordsSize ?? 0) + (zero?.recordsSize ?? 0)).toBe(fetched.payload.byteLength);
  });
});

describe("list offsets and metadata (§7.3)", () => {
  it("PW-LOG-020/PW-LOG-021: earliest, latest and by timestamp", async () => {
    for (const ts of [1000, 2000, 3000]) {
      await produce("times", encodeBatch([{ value: text.encode(`at ${ts}`), timestamp: ts }]));
    }
    const { message } = await conn.call(FrameKind.LIST_OFFSETS_REQUEST, {
      partitions: [
        { topic: "times", partition: 0, spec: OffsetSpec.EARLIEST },
        { topic: "times", partition: 0, spec: OffsetSpec.LATEST },
        { topic: "times", partition: 0, spec: OffsetSpec.TIMESTAMP, timestampMs: 1500n },
        { topic: "times", partition: 0, spec: OffsetSpec.TIMESTAMP, timestampMs: 99_999n },
        { topic: "times", partition: 0, spec: OffsetSpec.UNSPECIFIED },
        { topic: "times", partition: 7, spec: OffsetSpec.LATEST },
      ],
    });
    expect(message.partitions.map((p) => [p.errorCode, p.offset, p.timestampMs])).toEqual([
      [0, 0n, -1n],
      [0, 3n, -1n],
      [0, 1n, 2000n],
      [0, -1n, -1n],
      [ErrorCode.INVALID_ARGUMENT, -1n, -1n],
      [ErrorCode.UNKNOWN_PARTITION, -1n, -1n],
    ]);
  });

  it("PW-LOG-022/PW-LOG-023: metadata lists every topic with partitioner murmur2 and partition state; a missing one is UNKNOWN_TOPIC", async () => {
    const all = (await conn.call(FrameKind.METADATA_REQUEST, {})).message;
    expect(all.clusterId).toBe(broker.clusterId);
    expect(all.brokers).toEqual([expect.objectContaining({ brokerId: broker.id, urls: [url] })]);
    expect(all.topics.map((t) => t.name)).toEqual(["fetching", "idem", "multi", "orders", "small", "times"]);
    const named = (await conn.call(FrameKind.METADATA_REQUEST, { topics: ["multi", "ghost"] })).message;
    const [multi, ghost] = named.topics;
    expect(multi).toMatchObject({ name: "multi", errorCode: 0, partitioner: "murmur2" });
    expect(multi?.partitions.map((p) => [p.partition, p.leaderId, p.logStartOffset])).toEqual([[0, broker.id, 0n], [1, broker.id, 0n], [2, broker.id, 0n]]);
    expect(ghost).toMatchObject({ name: "ghost", errorCode: ErrorCode.UNKNOWN_TOPIC });
  });
});
