import { readFileSync } from "node:fs";
import { createGzip } from "node:zlib";
import { Acks, OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { BATCH_HEADER_SIZE, decodeBatch, encodeBatch, resealBatch } from "../../batch/batch.js";
import { CODEC_NAMES, compressSection } from "../../batch/compress.js";
import { check, checkEqual, ClauseViolation } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { fromHex } from "../../wire/frame.js";
import { BrokerError, codeName } from "../../wire/messages.js";
import { expectBrokerError, expectServing } from "../expect.js";
import { highWatermark, listOffset, readAll } from "./io.js";
import { checkRecords } from "./produce.js";
import { numbered } from "./records.js";

interface BatchVector {
  readonly name: string;
  readonly description: string;
  readonly clauses: readonly string[];
  readonly error?: string;
  readonly hex: string;
  readonly maxUncompressedBatchSize?: number;
  readonly header?: { readonly firstTimestamp: string };
  readonly records?: ReadonlyArray<{ readonly timestamp: string }>;
}

interface BatchVectors {
  valid: BatchVector[];
  invalid: BatchVector[];
  /** Batches a producer must not write but a receiver must accept (batches.json only). */
  accepted?: BatchVector[];
}

function vectors(file: string): BatchVectors {
  return JSON.parse(readFileSync(new URL(`../../../../../spec/vectors/${file}.json`, import.meta.url), "utf8")) as BatchVectors;
}

const BATCHES = vectors("batches");
const COMPRESSION = vectors("compression");

function errorCode(name: string): ErrorCode {
  return ErrorCode[name.replace(/^ERROR_CODE_/, "") as keyof typeof ErrorCode];
}

/** One case per invalid batch vector: the produce fails with the vector's code, the log is unchanged, the connection stays. */
const invalidCases: ConformanceCase[] = [...BATCHES.invalid, ...COMPRESSION.invalid]
  .filter((v) => v.maxUncompressedBatchSize === undefined)
  .map((v): ConformanceCase => ({
    id: `log/batch-vector/${v.name}`,
    title: `Invalid batch vector "${v.name}": ${v.description} The produce fails with ${v.error}, nothing is stored, the connection stays`,
    plane: "log",
    clauses: [...new Set([...v.clauses, "PW-LOG-001", "PW-BATCH-015"])],
    features: [Feature.LOG],
    needs: ["admin"],
    async run(ctx) {
      const topic = await ctx.topic(1);
      const session = await ctx.connect();
      const clause = v.clauses[0] as string;
      await expectBrokerError(clause, session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, fromHex(v.hex)), errorCode(v.error as string), `produce of vector ${v.name}`);
      checkEqual("PW-LOG-001", await highWatermark(session, topic, 0), 0n, `high watermark after the refused vector ${v.name}`);
      await expectServing(session, clause, `after refusing vector ${v.name}`);
    },
  }));

const validVectors: ConformanceCase = {
  id: "log/batch-vectors-valid",
  title: "Every valid batch and compression vector is accepted, stored and served byte for byte (base offset assigned), and decodes to the vector's records",
  plane: "log",
  clauses: ["PW-COMP-001", "PW-COMP-002", "PW-COMP-003", "PW-COMP-008", "PW-COMP-009", "PW-COMP-010", "PW-COMP-012", "PW-BATCH-001", "PW-BATCH-003", "PW-BATCH-010", "PW-BATCH-013"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const { message: producer } = await session.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n, producerEpoch: -1 });
    let sequence = 0;
    const sent: Uint8Array[] = [];
    for (const v of [...BATCHES.valid, ...COMPRESSION.valid]) {
      const bytes = fromHex(v.hex);
      const view = new DataView(bytes.buffer);
      if (view.getBigInt64(39) !== -1n) {
        // An idempotent vector: give it this run's producer and the next sequence.
        view.setBigInt64(39, producer.producerId);
        view.setInt16(47, producer.producerEpoch);
        view.setInt32(49, sequence);
        sequence += view.getUint32(19);
        resealBatch(bytes);
      }
      sent.push(bytes.slice());
      await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, bytes);
    }
    const { batches } = await readAll(session, topic, 0);
    checkEqual("PW-COMP-009", batches.length, sent.length, "stored batches");
    batches.forEach((stored, i) => {
      const expected = (sent[i] as Uint8Array).slice();
      new DataView(expected.buffer).setBigInt64(0, new DataView(stored.buffer, stored.byteOffset).getBigInt64(0));
      check("PW-COMP-009", Buffer.from(stored).equals(Buffer.from(expected)), `vector batch ${i} was not served exactly as produced (recompressed or altered)`);
      const a = decodeBatch(stored).records;
      const b = decodeBatch(expected).records;
      checkRecords("PW-COMP-008", a, b, a[0]?.offset ?? 0n, `of vector batch ${i}`);
    });
  },
};

const acceptedVectors: ConformanceCase = {
  id: "log/batch-vectors-accepted",
  title: "Batches whose first_timestamp is not their first record's timestamp (batches.json `accepted`) are accepted and served unchanged; record timestamps are first_timestamp + delta, and ListOffsets searches those, never first_timestamp",
  plane: "log",
  clauses: ["PW-BATCH-016", "PW-LOG-021", "PW-COMP-009"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const session = await ctx.connect();
    for (const v of BATCHES.accepted ?? []) {
      const topic = await ctx.topic(1);
      const bytes = fromHex(v.hex);
      try {
        await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, bytes.slice());
      } catch (error) {
        if (error instanceof BrokerError) throw new ClauseViolation("PW-BATCH-016", `vector ${v.name} (${v.description}) was refused with ${codeName(error.code)}: ${error.error.message}`);
        throw error;
      }
      const { batches } = await readAll(session, topic, 0);
      const stored = batches[0] as Uint8Array;
      new DataView(bytes.buffer).setBigInt64(0, new DataView(stored.buffer, stored.byteOffset).getBigInt64(0));
      check("PW-COMP-009", batches.length === 1 && Buffer.from(stored).equals(Buffer.from(bytes)), `vector ${v.name} was not served exactly as produced`);
      const timestamps = (v.records ?? []).map((r) => BigInt(r.timestamp));
      checkEqual("PW-BATCH-016", decodeBatch(stored).records.map((r) => r.timestamp), timestamps, `record timestamps of vector ${v.name} (first_timestamp + delta)`);
      const newest = timestamps.reduce((a, b) => (b > a ? b : a));
      for (const t of [...timestamps, BigInt(v.header?.firstTimestamp ?? "0"), newest + 1n]) {
        const i = timestamps.findIndex((ts) => ts >= t);
        const got = await listOffset(session, topic, 0, OffsetSpec.TIMESTAMP, t);
        checkEqual("PW-LOG-021", [got.offset, got.timestampMs], i < 0 ? [-1n, -1n] : [BigInt(i), timestamps[i]], `ListOffsets TIMESTAMP ${t} over vector ${v.name} (record timestamps ${timestamps.join(", ")}, first_timestamp ${v.header?.firstTimestamp})`);
      }
    }
  },
};

const codecs: ConformanceCase = {
  id: "log/codecs",
  title: "The broker accepts batches compressed by other encoders with every codec and level, and serves them unchanged",
  plane: "log",
  clauses: ["PW-COMP-001", "PW-COMP-002", "PW-COMP-003", "PW-COMP-009"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const records = numbered("compressed-record-with-a-repetitive-value", 200);
    const sent: Uint8Array[] = [];
    for (const codec of CODEC_NAMES) {
      for (const level of codec === "gzip" ? [1, 9] : [undefined]) {
        const section = encodeBatch(records).subarray(BATCH_HEADER_SIZE);
        const bytes = encodeBatch(records, { codec });
        if (codec === "gzip" && level !== undefined) {
          // Re-pack the records section at this gzip level (PW-COMP-001: any level).
          const stored = compressSection("gzip", section, level);
          const rebuilt = new Uint8Array(BATCH_HEADER_SIZE + stored.length);
          rebuilt.set(bytes.subarray(0, BATCH_HEADER_SIZE));
          rebuilt.set(stored, BATCH_HEADER_SIZE);
          new DataView(rebuilt.buffer).setUint32(8, rebuilt.length - 12);
          sent.push(resealBatch(rebuilt));
        } else {
          sent.push(bytes);
        }
      }
    }
    for (const bytes of sent) await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, bytes.slice());
    const { batches, records: stored } = await readAll(session, topic, 0);
    checkEqual("PW-COMP-009", batches.length, sent.length, "stored batches");
    checkRecords("PW-COMP-009", stored, sent.flatMap(() => records), 0n, "of the compressed batches");
  },
};

async function gzipZeros(megabytes: number): Promise<Uint8Array> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => gzip.on("end", resolve));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < megabytes; i++) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once("drain", resolve));
  }
  gzip.end();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

const bomb: ConformanceCase = {
  id: "log/decompression-bomb",
  title: "A decompression bomb (256 MiB of zeros in a small gzip member, declared 1 KiB) is CORRUPT_BATCH without inflating it; an uncompressed_size above the limit is DECOMPRESSION_LIMIT before any decompression; the broker stays up",
  plane: "log",
  clauses: ["PW-COMP-005", "PW-COMP-006", "PW-ERR-003", "PW-LIM-001"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const bystander = await ctx.connect();
    const limit = ctx.welcome.limits?.maxUncompressedBatchSize ?? 64 * 1024 * 1024;
    const template = encodeBatch(numbered("bomb", 1));
    const withSection = (codec: number, stored: Uint8Array, declared: number): Uint8Array => {
      const bytes = new Uint8Array(BATCH_HEADER_SIZE + stored.length);
      bytes.set(template.subarray(0, BATCH_HEADER_SIZE));
      bytes.set(stored, BATCH_HEADER_SIZE);
      const view = new DataView(bytes.buffer);
      view.setUint32(8, bytes.length - 12);
      view.setUint16(17, codec);
      view.setUint32(53, declared);
      return resealBatch(bytes);
    };
    const zeros = await gzipZeros(256);
    const started = performance.now();
    await expectBrokerError("PW-COMP-005", session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, withSection(1, zeros, 1024), { timeoutMs: 20_000 }), ErrorCode.CORRUPT_BATCH, `a ${zeros.length}-byte gzip member inflating to 256 MiB, declared 1024 bytes`);
    const took = performance.now() - started;
    check("PW-COMP-005", took < 3000, `the broker took ${Math.round(took)} ms to refuse the bomb: it must stop as soon as output would exceed uncompressed_size`);
    await expectServing(bystander, "PW-COMP-005", "another connection, after the bomb");
    const error = await expectBrokerError("PW-COMP-006", session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, withSection(1, zeros.subarray(0, 64), limit + 1)), ErrorCode.DECOMPRESSION_LIMIT, `uncompressed_size ${limit + 1}, one above the advertised limit`);
    checkEqual("PW-LIM-001", error.limit, BigInt(limit), "Error.limit of DECOMPRESSION_LIMIT against the advertised max_uncompressed_batch_size");
    checkEqual("PW-LOG-001", await highWatermark(session, topic, 0), 0n, "high watermark after the refused bombs");
  },
};

/** Length of a zigzag varint (the batch encoding of PW-BATCH-010). */
function zigzagLength(n: number): number {
  let v = 2 * n;
  let bytes = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

/** Records-section length of one record with no key, no headers and a `v`-byte value (§5.2). */
function sectionLength(v: number): number {
  // attributes, timestamp delta, offset delta, type id, null key, value length, value, header count.
  const body = 5 + zigzagLength(v) + v + 1;
  return zigzagLength(body) + body;
}

const uncompressedLimit: ConformanceCase = {
  id: "log/max-uncompressed-batch-size",
  title: "A compressed batch whose uncompressed_size is exactly max_uncompressed_batch_size is stored; one byte more is DECOMPRESSION_LIMIT (limit set) and nothing is stored",
  plane: "log",
  clauses: ["PW-COMP-006", "PW-LIM-001", "PW-ERR-003", "PW-LOG-001"],
  features: [Feature.LOG],
  needs: ["admin"],
  timeoutMs: 60_000,
  async run(ctx) {
    const limit = ctx.welcome.limits?.maxUncompressedBatchSize ?? 64 * 1024 * 1024;
    const topic = await ctx.topic(1, { "max.message.bytes": "2147483647" });
    const session = await ctx.connect();
    let v = Math.max(0, limit - 32);
    while (sectionLength(v) < limit) v++;
    if (sectionLength(v) !== limit) throw new Error(`no one-record section is exactly ${limit} bytes`);
    const record = { key: null, value: new Uint8Array(v), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) };
    // Zeros compress to next to nothing: the batch is far below max_batch_size.
    const exact = encodeBatch([record], { codec: "gzip" });
    const view = new DataView(exact.buffer, exact.byteOffset);
    if (view.getUint32(53) !== limit) throw new Error(`the suite's encoder wrote uncompressed_size ${view.getUint32(53)}, not ${limit}`);
    const { message } = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, exact, { timeoutMs: 30_000 });
    checkEqual("PW-COMP-006", message.baseOffset, 0n, `base offset of a gzip batch whose uncompressed_size is exactly max_uncompressed_batch_size (${limit})`);
    const over = exact.slice();
    new DataView(over.buffer).setUint32(53, limit + 1);
    const error = await expectBrokerError("PW-COMP-006", session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, resealBatch(over)), ErrorCode.DECOMPRESSION_LIMIT, `uncompressed_size ${limit + 1}, one above the advertised limit`);
    checkEqual("PW-LIM-001", error.limit, BigInt(limit), "Error.limit of DECOMPRESSION_LIMIT against the advertised max_uncompressed_batch_size");
    checkEqual("PW-LOG-001", await highWatermark(session, topic, 0), 1n, "high watermark after the batch at the limit and the one above it");
  },
};

/** Record batches and compression (§5). */
export const batchCases: readonly ConformanceCase[] = [...invalidCases, validVectors, acceptedVectors, codecs, bomb, uncompressedLimit];
