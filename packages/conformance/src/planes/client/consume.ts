import { readFileSync } from "node:fs";
import { Capability } from "@polywire/proto/conformance/adapter";
import { Acks as WireAcks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { BATCH_HEADER_SIZE, decodeBatch, encodeBatch, resealBatch, type StoredRecord } from "../../batch/batch.js";
import { CODEC_NAMES, type CodecName } from "../../batch/compress.js";
import { check } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame, fromHex } from "../../wire/frame.js";
import { codeName } from "../../wire/messages.js";
import { produce } from "../log/io.js";
import { numbered } from "../log/records.js";
import { adapter, checkSame, connected, fromConsumed, requires } from "./io.js";
import type { CaseHooks } from "./observer.js";

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

/** How the client consumes: decoding every codec, reading from inside a batch, refusing corrupt batches. */
export const consumeCases: readonly ConformanceCase[] = [consumeDecoding, consumeFromMiddle, corruptFetch, decompressionMismatch];
