import { readFileSync } from "node:fs";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Acks as WireAcks, ProduceRequestSchema, ProduceResponseSchema } from "@polywire/proto/log";
import { ErrorCode, ErrorSchema, FrameKind, WelcomeSchema } from "@polywire/proto/session";
import { BATCH_HEADER_SIZE, decodeBatch, encodeBatch, recordDifference, resealBatch, type StoredRecord, type TestRecord } from "../../batch/batch.js";
import { CODEC_NAMES, type CodecName } from "../../batch/compress.js";
import { Acks, Capability, Compression, type ConsumedRecord, type RecordSchema } from "@polywire/proto/conformance/adapter";
import { check, checkEqual } from "../../clause.js";
import type { AdapterClient } from "../../client/adapter-client.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import { encodeRawFrame, fromHex } from "../../wire/frame.js";
import { codeName } from "../../wire/messages.js";
import { produce, readAll } from "../log/io.js";
import { numbered, utf8 } from "../log/records.js";
import { ClientObserver, type CaseHooks } from "./observer.js";
import { refusedCertificate } from "./refusal.js";

const COMPRESSION_OF: Readonly<Record<CodecName, Compression>> = { none: Compression.NONE, gzip: Compression.GZIP, snappy: Compression.SNAPPY, lz4: Compression.LZ4, zstd: Compression.ZSTD };
const CAPABILITY_OF: Readonly<Record<CodecName, Capability | undefined>> = { none: undefined, gzip: Capability.COMPRESSION_GZIP, snappy: Capability.COMPRESSION_SNAPPY, lz4: Capability.COMPRESSION_LZ4, zstd: Capability.COMPRESSION_ZSTD };

function adapter(ctx: CaseContext): AdapterClient {
  return ctx.client as AdapterClient;
}

function requires(ctx: CaseContext, ...capabilities: Capability[]): void {
  const missing = capabilities.filter((c) => !adapter(ctx).can(c));
  if (missing.length > 0) throw new Unsupported(`the client adapter does not declare ${missing.map((c) => `CAPABILITY_${Capability[c]}`).join(", ")}`);
}

/** Starts the observing proxy and connects a client handle through it. */
async function connected(ctx: CaseContext, hooks: CaseHooks = {}, options: { maxFrameSize?: number } = {}): Promise<{ observer: ClientObserver; handle: string }> {
  const observer = await ClientObserver.start(ctx, hooks);
  const handle = `${ctx.seed}-${Math.random().toString(36).slice(2)}`;
  await adapter(ctx).connect(handle, [observer.url], { requestTimeoutMs: 5000, ...options });
  ctx.defer(() => adapter(ctx).disconnect(handle).catch(() => undefined));
  return { observer, handle };
}

function toInstruction(r: TestRecord): MessageInitShape<typeof RecordSchema> {
  return {
    ...(r.key === null ? {} : { key: r.key }),
    ...(r.value === null ? {} : { value: r.value }),
    headers: r.headers.map((h) => ({ key: h.key, ...(h.value === null ? {} : { value: h.value }) })),
    typeId: r.typeId,
    timestampMs: r.timestamp,
  };
}

function fromConsumed(r: ConsumedRecord): StoredRecord {
  return { offset: r.offset, key: r.key ?? null, value: r.value ?? null, headers: r.headers.map((h) => ({ key: h.key, value: h.value ?? null })), typeId: r.typeId, timestamp: r.timestampMs };
}

/** Records for client cases: every field, type ids within 2^53-1 (what every language's client can hold exactly). */
function clientRecords(): TestRecord[] {
  const now = BigInt(Date.now());
  const h = (key: string, value: string | null): TestRecord["headers"][number] => ({ key, value: value === null ? null : utf8(value) });
  return [
    { key: null, value: null, headers: [], typeId: 0n, timestamp: now },
    { key: new Uint8Array(0), value: new Uint8Array(0), headers: [], typeId: 1n, timestamp: now + 5n },
    { key: utf8("k"), value: utf8("v"), headers: [h("dup", "1"), h("dup", "2"), h("empty", ""), h("null", null)], typeId: 2n ** 53n - 1n, timestamp: now - 3n },
    { key: null, value: utf8("y".repeat(2000)), headers: [], typeId: 7n, timestamp: now + 100n },
  ];
}

function checkSame(clause: string, actual: readonly StoredRecord[], expected: readonly TestRecord[], from: bigint, what: string): void {
  checkEqual(clause, actual.length, expected.length, `records ${what}`);
  actual.forEach((r, i) => {
    checkEqual("PW-LOG-011", r.offset, from + BigInt(i), `offset of record ${i} ${what}`);
    const diff = recordDifference(r, expected[i] as TestRecord);
    check(diff === "key" || diff === "value" ? "PW-BATCH-013" : diff?.startsWith("header") === true ? "PW-BATCH-012" : clause, diff === undefined, `record ${i} ${what} differs in its ${diff}`);
  });
}

const produceEncoding: ConformanceCase = {
  id: "client/produce-encoding",
  title: "The client's frames and batches follow the sender's rules (Hello first, header, odd unique ids, batch layout and CRC, base_offset 0) and every record field survives the round trip",
  plane: "log",
  role: "client",
  clauses: [
    "PW-SESS-001", "PW-SESS-017", "PW-FRAME-001", "PW-FRAME-002", "PW-FRAME-003", "PW-FRAME-010", "PW-FRAME-011",
    "PW-BATCH-001", "PW-BATCH-003", "PW-BATCH-004", "PW-BATCH-006", "PW-BATCH-007", "PW-BATCH-008", "PW-BATCH-009", "PW-BATCH-010",
    "PW-BATCH-011", "PW-BATCH-012", "PW-BATCH-013", "PW-BATCH-014",
  ],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { observer, handle } = await connected(ctx);
    const records = clientRecords();
    const result = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: records.map(toInstruction), acks: Acks.LEADER, idempotent: false, compression: Compression.NONE });
    result.outcomes.forEach((o, i) => check("PW-LOG-002", o.outcome.case === "delivered", () => `record ${i} was not delivered: ${o.outcome.case === "error" ? o.outcome.value.message : "no outcome"}`));
    check("PW-BATCH-001", observer.produces.length > 0, "the proxy saw no ProduceRequest from the client");
    const reader = await ctx.connect();
    const { records: stored } = await readAll(reader, topic, 0);
    checkSame("PW-BATCH-013", stored, records, 0n, "produced by the client and read back");
  },
};

const compression: ConformanceCase = {
  id: "client/compression",
  title: "Batches the client compresses with each codec it supports are in the spec's format (gzip member, Snappy raw block, LZ4 block, zstd frame) and decode exactly",
  plane: "log",
  role: "client",
  clauses: ["PW-COMP-001", "PW-COMP-002", "PW-COMP-003", "PW-COMP-005", "PW-COMP-008"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { observer, handle } = await connected(ctx);
    const codecs = CODEC_NAMES.filter((c) => c !== "none" && adapter(ctx).can(CAPABILITY_OF[c] as Capability));
    if (codecs.length === 0) throw new Unsupported("the client adapter declares no compression codec");
    const all: TestRecord[] = [];
    for (const codec of codecs) {
      const records = numbered(`compressible-${codec}-${"z".repeat(100)}`, 30);
      const before = observer.produces.length;
      const result = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: records.map(toInstruction), acks: Acks.LEADER, idempotent: false, compression: COMPRESSION_OF[codec] });
      check("PW-COMP-008", result.outcomes.every((o) => o.outcome.case === "delivered"), `records compressed with ${codec} were not all delivered`);
      const sent = observer.produces.slice(before);
      check("PW-COMP-001", sent.some((p) => (new DataView(p.batch.buffer, p.batch.byteOffset).getUint16(17) & 7) === COMPRESSION_OF[codec] - 1), `no batch the client sent for ${codec} used codec ${codec}`);
      all.push(...records);
    }
    const reader = await ctx.connect();
    const { records: stored } = await readAll(reader, topic, 0);
    checkSame("PW-COMP-008", stored, all, 0n, "compressed by the client and read back");
  },
};

interface BatchVector {
  readonly name: string;
  readonly hex: string;
}

function vectorBatches(): Uint8Array[] {
  const read = (f: string): BatchVector[] => (JSON.parse(readFileSync(new URL(`../../../../../spec/vectors/${f}.json`, import.meta.url), "utf8")) as { valid: BatchVector[] }).valid;
  return [...read("batches"), ...read("compression")].map((v) => fromHex(v.hex)).filter((b) => new DataView(b.buffer).getBigInt64(39) === -1n);
}

const consumeDecoding: ConformanceCase = {
  id: "client/consume-decoding",
  title: "The client's consumer decodes batches of every codec written by other encoders (the spec's vectors included), keeping every field",
  plane: "log",
  role: "client",
  clauses: ["PW-COMP-001", "PW-COMP-002", "PW-COMP-003", "PW-COMP-005", "PW-COMP-008", "PW-BATCH-012", "PW-BATCH-013"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.CONSUME);
    const topic = await ctx.topic(1);
    const writer = await ctx.connect();
    const batches = [...vectorBatches(), ...CODEC_NAMES.map((codec) => encodeBatch(numbered(`own-${codec}`, 20), { codec }))];
    const expected: StoredRecord[] = [];
    for (const b of batches) {
      expected.push(...decodeBatch(b).records);
      await writer.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: WireAcks.LEADER }, b.slice());
    }
    const { handle } = await connected(ctx);
    const result = await adapter(ctx).consume({ client: handle, topic, partition: 0, offset: 0n, maxRecords: expected.length, timeoutMs: 10_000 });
    check("PW-COMP-005", result.error === undefined, () => `the client failed to read valid batches: ${result.error?.message}`);
    checkSame("PW-COMP-008", result.records.map(fromConsumed), expected, 0n, "consumed by the client");
  },
};

const consumeFromMiddle: ConformanceCase = {
  id: "client/consume-from-middle",
  title: "Reading from an offset inside a batch, the client hands out records from that offset on, skipping the batch's earlier records",
  plane: "log",
  role: "client",
  clauses: ["PW-LOG-011"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.CONSUME);
    const topic = await ctx.topic(1);
    const writer = await ctx.connect();
    const records = numbered("middle", 10);
    await produce(writer, topic, 0, records);
    const { handle } = await connected(ctx);
    const result = await adapter(ctx).consume({ client: handle, topic, partition: 0, offset: 4n, maxRecords: 6, timeoutMs: 5000 });
    checkSame("PW-LOG-011", result.records.map(fromConsumed), records.slice(4), 4n, "consumed from offset 4 of a 10-record batch");
  },
};

/** Rewrites the first batch of every FetchResponse with `alter` (which must keep its length). */
function alterFetchedBatches(alter: (batch: Uint8Array) => void): CaseHooks {
  return {
    fromBroker: (frame) => {
      if (frame.kind !== FrameKind.FETCH_RESPONSE || frame.payload.length < BATCH_HEADER_SIZE + 8) return undefined;
      const payload = frame.payload.slice();
      const length = new DataView(payload.buffer).getUint32(8) + 12;
      alter(payload.subarray(0, length));
      return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: frame.message, payload, checksum: frame.checksum }) };
    },
  };
}

async function expectRefused(ctx: CaseContext, clause: string, hooks: CaseHooks, what: string, codec: CodecName = "none"): Promise<void> {
  requires(ctx, Capability.CONSUME);
  const topic = await ctx.topic(1);
  const writer = await ctx.connect();
  const records = numbered(`refused-${"w".repeat(60)}`, 8);
  await writer.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: WireAcks.LEADER }, encodeBatch(records, { codec }));
  const { handle } = await connected(ctx, hooks);
  const result = await adapter(ctx).consume({ client: handle, topic, partition: 0, offset: 0n, maxRecords: records.length, timeoutMs: 3000 });
  check(clause, result.records.length === 0, `the client handed out ${result.records.length} records of ${what}`);
  if (result.error !== undefined) ctx.note(`the client reported ${result.error.codeName || codeName(result.error.code)}: ${result.error.message}`);
  else ctx.note("the client reported no error (it kept retrying the fetch until the timeout)");
}

const corruptFetch: ConformanceCase = {
  id: "client/verifies-crc",
  title: "A fetched batch whose CRC does not match is never handed to the application",
  plane: "log",
  role: "client",
  clauses: ["PW-BATCH-003"],
  needs: ["admin"],
  run: (ctx) => expectRefused(ctx, "PW-BATCH-003", alterFetchedBatches((batch) => {
    batch[batch.length - 2] = (batch[batch.length - 2] as number) ^ 0x20;
  }), "a batch whose CRC does not match"),
};

const decompressionMismatch: ConformanceCase = {
  id: "client/decompression-size",
  title: "A fetched batch whose records decompress to more than uncompressed_size is refused (CRC resealed, so only the size check catches it)",
  plane: "log",
  role: "client",
  clauses: ["PW-COMP-005"],
  needs: ["admin"],
  run: (ctx) => expectRefused(ctx, "PW-COMP-005", alterFetchedBatches((batch) => {
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    view.setUint32(53, view.getUint32(53) - 1);
    resealBatch(batch);
  }), "a gzip batch decompressing to one byte more than declared", "gzip"),
};

/** Answers the client's first ProduceRequest itself with `answer` (its message bytes and kind) instead of forwarding it. */
function answerFirstProduce(answer: (correlationId: number) => Uint8Array): CaseHooks {
  let done = false;
  return {
    fromClient: (frame, _raw, connection) => {
      if (done || frame.kind !== FrameKind.PRODUCE_REQUEST) return undefined;
      done = true;
      connection.toClient(answer(frame.correlationId));
      return "drop";
    },
  };
}

const unknownErrorCode: ConformanceCase = {
  id: "client/unknown-error-code",
  title: "An Error with a code the client does not know fails the request as INTERNAL for handling, reported with its number",
  plane: "session",
  role: "client",
  clauses: ["PW-SESS-014", "PW-COMPAT-004"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { handle } = await connected(ctx, answerFirstProduce((id) => encodeRawFrame({ kind: FrameKind.ERROR, correlationId: id, message: toBinary(ErrorSchema, create(ErrorSchema, { code: 999 as ErrorCode, message: "from the future" })) })));
    const result = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: [toInstruction(numbered("future", 1)[0] as TestRecord)], acks: Acks.LEADER, idempotent: false });
    const outcome = result.outcomes[0]?.outcome;
    check("PW-SESS-014", outcome?.case === "error", "a produce answered with error code 999 was reported delivered");
    checkEqual("PW-SESS-014", outcome?.case === "error" ? outcome.value.code : undefined, 999, "the error code the client reports for code 999");
  },
};

const produceResponseError: ConformanceCase = {
  id: "client/produce-response-error-code",
  title: "A ProduceResponse whose error_code is set fails the request with that code",
  plane: "log",
  role: "client",
  clauses: ["PW-LOG-009"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { handle } = await connected(ctx, answerFirstProduce((id) => encodeRawFrame({ kind: FrameKind.PRODUCE_RESPONSE, correlationId: id, message: toBinary(ProduceResponseSchema, create(ProduceResponseSchema, { errorCode: ErrorCode.CORRUPT_BATCH, errorMessage: "rewritten by the runner", baseOffset: 0n })) })));
    const result = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: [toInstruction(numbered("rc", 1)[0] as TestRecord)], acks: Acks.LEADER, idempotent: false });
    const outcome = result.outcomes[0]?.outcome;
    check("PW-LOG-009", outcome?.case === "error", "a ProduceResponse with error_code CORRUPT_BATCH was reported delivered");
    checkEqual("PW-LOG-009", outcome?.case === "error" ? codeName(outcome.value.code) : undefined, codeName(ErrorCode.CORRUPT_BATCH), "the error the client reports");
  },
};

const acksNoneError: ConformanceCase = {
  id: "client/acks-none-error",
  title: "An Error frame answering an ACKS_NONE produce is tolerated: the client keeps working, and never gives an ACKS_NONE produce's correlation id to a later request",
  plane: "log",
  role: "client",
  clauses: ["PW-LOG-004", "PW-LOG-041"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE, Capability.ACKS_NONE);
    const topic = await ctx.topic(1);
    const hooks: CaseHooks = {
      fromClient: (frame, _raw, connection) => {
        if (frame.kind === FrameKind.PRODUCE_REQUEST && fromBinary(ProduceRequestSchema, frame.message).acks === WireAcks.NONE) {
          connection.toClient(encodeRawFrame({ kind: FrameKind.ERROR, correlationId: frame.correlationId, message: toBinary(ErrorSchema, create(ErrorSchema, { code: ErrorCode.UNKNOWN_PARTITION, message: "injected" })) }));
        }
        return undefined;
      },
    };
    const { handle } = await connected(ctx, hooks);
    // The observer fails PW-LOG-041 if a later request reuses one of these ids.
    for (const record of numbered("none", 3)) {
      await adapter(ctx).produce({ client: handle, topic, partition: 0, records: [toInstruction(record)], acks: Acks.NONE, idempotent: false });
    }
    const after = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: [toInstruction(numbered("after", 1)[0] as TestRecord)], acks: Acks.LEADER, idempotent: false });
    check("PW-LOG-004", after.outcomes[0]?.outcome.case === "delivered", "after an Error answered an ACKS_NONE produce, the next produce failed");
  },
};

interface PartitionVector {
  readonly keyHex: string;
  readonly partitions: Readonly<Record<string, number>>;
}

const keyedPartitioning: ConformanceCase = {
  id: "client/keyed-partitioning",
  title: "A keyed record without an explicit partition goes to the partition murmur2 gives its key, exactly as Kafka's default partitioner (the spec's vectors)",
  plane: "log",
  role: "client",
  clauses: ["PW-PART-001", "PW-PART-002"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const vectors = (JSON.parse(readFileSync(new URL("../../../../../spec/vectors/partitioning.json", import.meta.url), "utf8")) as { vectors: PartitionVector[] }).vectors;
    const topic = await ctx.topic(12);
    const { observer, handle } = await connected(ctx);
    const records = vectors.map((v) => ({ key: fromHex(v.keyHex), value: utf8(v.keyHex), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) }));
    const result = await adapter(ctx).produce({ client: handle, topic, records: records.map(toInstruction), acks: Acks.LEADER, idempotent: false });
    const seen = new Map<string, number>();
    for (const p of observer.produces) for (const r of decodeBatch(p.batch).records) seen.set(Buffer.from(r.key ?? new Uint8Array(0)).toString("hex"), p.partition);
    vectors.forEach((v, i) => {
      const expected = v.partitions["12"];
      checkEqual("PW-PART-002", seen.get(v.keyHex), expected, `partition of key 0x${v.keyHex} in a 12-partition topic`);
      const outcome = result.outcomes[i]?.outcome;
      checkEqual("PW-PART-002", outcome?.case === "delivered" ? outcome.value.partition : undefined, expected, `partition reported for key 0x${v.keyHex}`);
    });
  },
};

const idempotentResend: ConformanceCase = {
  id: "client/idempotent-resend",
  title: "An idempotent producer whose connection dies before the ack resends the same batch bytes with the same sequences, numbers sequences from 0 consecutively, and stores each record once",
  plane: "log",
  role: "client",
  clauses: ["PW-IDEM-002", "PW-IDEM-007"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE, Capability.IDEMPOTENCE);
    const topic = await ctx.topic(1);
    let killed = false;
    const { observer, handle } = await connected(ctx, {
      fromBroker: (frame) => {
        if (!killed && frame.kind === FrameKind.PRODUCE_RESPONSE) {
          killed = true;
          return "kill";
        }
        return undefined;
      },
    });
    const records = numbered("idem", 12);
    const result = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: records.map(toInstruction), acks: Acks.ALL, idempotent: true }, 60_000);
    check("PW-IDEM-007", killed, "the proxy never saw a ProduceResponse to drop");
    result.outcomes.forEach((o, i) => check("PW-IDEM-007", o.outcome.case === "delivered", () => `record ${i} was not delivered after the lost ack: ${o.outcome.case === "error" ? o.outcome.value.message : "?"}`));
    const resent = observer.produces.filter((p, i) => observer.produces.findIndex((q) => q.baseSequence === p.baseSequence && q.producerId === p.producerId) !== i);
    check("PW-IDEM-007", resent.length > 0, "the client never resent the batch whose ack was lost");
    const reader = await ctx.connect();
    const { records: stored } = await readAll(reader, topic, 0);
    checkSame("PW-IDEM-007", stored, records, 0n, "after the resend (each exactly once)");
  },
};

const frameLimit: ConformanceCase = {
  id: "client/respects-max-frame-size",
  title: "A client never sends a frame larger than the broker's advertised max_frame_size: a record that cannot fit fails locally",
  plane: "session",
  role: "client",
  clauses: ["PW-FRAME-007", "PW-FRAME-020"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    // The smallest limit a broker may advertise (PW-FRAME-020).
    const limit = 65_536;
    const { observer, handle } = await connected(ctx, {
      fromBroker: (frame) => {
        if (frame.kind !== FrameKind.WELCOME) return undefined;
        const welcome = fromBinary(WelcomeSchema, frame.message);
        if (welcome.limits !== undefined) {
          welcome.limits.maxFrameSize = limit;
          welcome.limits.maxBatchSize = Math.min(welcome.limits.maxBatchSize, limit);
        }
        return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(WelcomeSchema, welcome) }) };
      },
    });
    const big = { key: null, value: new Uint8Array(80_000).fill(7), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) };
    const result = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: [toInstruction(big)], acks: Acks.LEADER, idempotent: false }, 30_000);
    check("PW-FRAME-007", result.outcomes[0]?.outcome.case === "error", `an 80000-byte record was delivered through a broker advertising ${limit}-byte frames`);
    const largest = Math.max(0, ...observer.clientFrames.map((f) => f.frame.size));
    check("PW-FRAME-007", largest <= limit, `the client sent a ${largest}-byte frame to a broker advertising max_frame_size ${limit}`);
  },
};

const unknownPartitioner: ConformanceCase = {
  id: "client/unknown-partitioner",
  title: "A producer that does not know a topic's partitioner fails keyed sends without an explicit partition with a typed error, and still sends records naming their partition",
  plane: "session",
  role: "client",
  clauses: ["PW-COMPAT-008", "PW-PART-001"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(3);
    const { observer, handle } = await connected(ctx, {
      metadata: (response) => {
        for (const t of response.topics) t.partitioner = "fnv1a-from-the-future";
      },
    });
    const keyed = { key: utf8("order-1"), value: utf8("v"), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) };
    const result = await adapter(ctx).produce({ client: handle, topic, records: [toInstruction(keyed)], acks: Acks.LEADER, idempotent: false });
    const outcome = result.outcomes[0]?.outcome;
    check("PW-COMPAT-008", outcome?.case === "error", "a keyed record was partitioned although the topic names a partitioner the client does not know");
    check("PW-COMPAT-008", observer.produces.length === 0, "the client sent a keyed record to a partition it chose without knowing the topic's partitioner");
    const explicit = await adapter(ctx).produce({ client: handle, topic, partition: 2, records: [toInstruction(keyed)], acks: Acks.LEADER, idempotent: false });
    check("PW-COMPAT-008", explicit.outcomes[0]?.outcome.case === "delivered", "a keyed record naming its partition failed on a topic with an unknown partitioner");
  },
};

const bootstrap: ConformanceCase = {
  id: "client/bootstrap-urls",
  title: "Given several bootstrap URLs, one refusing connections, the client connects through one that completes the handshake",
  plane: "session",
  role: "client",
  clauses: ["PW-TRANS-001", "PW-TRANS-005"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const observer = await ClientObserver.start(ctx);
    const handle = `${ctx.seed}-bootstrap`;
    // Port 1 on loopback refuses connections.
    await adapter(ctx).connect(handle, ["tcp://127.0.0.1:1", observer.url], { requestTimeoutMs: 5000 });
    ctx.defer(() => adapter(ctx).disconnect(handle).catch(() => undefined));
    const result = await adapter(ctx).produce({ client: handle, topic, partition: 0, records: [toInstruction(numbered("boot", 1)[0] as TestRecord)], acks: Acks.LEADER, idempotent: false });
    check("PW-TRANS-005", result.outcomes[0]?.outcome.case === "delivered", "the client given a dead URL and a live one could not produce");
    check("PW-TRANS-005", observer.produces.length === 1, "the produce did not go through the live bootstrap URL");
  },
};

/** Cases that check the client behind the adapter, against the target broker through the runner's proxy. */
export const clientCases: readonly ConformanceCase[] = [
  produceEncoding, compression, consumeDecoding, consumeFromMiddle, corruptFetch, decompressionMismatch,
  unknownErrorCode, produceResponseError, acksNoneError, keyedPartitioning, idempotentResend, frameLimit, unknownPartitioner, bootstrap,
  refusedCertificate,
];
