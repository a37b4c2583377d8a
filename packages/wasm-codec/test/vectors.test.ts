import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CodecError,
  type Compression,
  FrameDecoder,
  compress,
  decodeBatch,
  decompress,
  encodeBatch,
  encodeFrame,
  init,
  murmur2,
  partitionForKey,
  readBatchHeader,
  verifyBatch,
} from "@polywire/wasm-codec";

// The normative vectors of spec/vectors/ (spec §0: an implementation that
// disagrees with a vector is wrong). Loosely typed JSON, as their files
// describe themselves.
type Json = any;
const load = (name: string): Json => JSON.parse(readFileSync(new URL(`../../../spec/vectors/${name}`, import.meta.url), "utf8"));
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");
const title = (v: Json) => `${v.clauses.join(" ")}: ${v.name}`;
const frames = load("frames.json");
const batches = load("batches.json");
const compression = load("compression.json");
const partitioning = load("partitioning.json");

beforeAll(() => init());

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return `ERROR_CODE_${(e as CodecError).code}`;
  }
  return "no error";
}

function expectHeader(actual: Json, expected: Json) {
  expect({
    ...actual,
    baseOffset: String(actual.baseOffset),
    producerId: String(actual.producerId),
    firstTimestamp: String(actual.firstTimestamp),
    maxTimestamp: String(actual.maxTimestamp),
  }).toEqual({ ...expected, compression: expected.codec, codec: undefined });
}

function expectRecords(actual: Json[], header: Json, expected: Json[]) {
  expect(
    actual.map((r) => ({
      offset: String(r.offset),
      timestamp: String(r.timestamp),
      typeId: r.typeId,
      key: r.key === null ? null : hexOf(r.key),
      value: r.value === null ? null : hexOf(r.value),
      headers: r.headers.map((h: Json) => ({ key: h.key, value: h.value === null ? null : hexOf(h.value) })),
    })),
  ).toEqual(
    expected.map((r) => ({
      offset: String(BigInt(header.baseOffset) + BigInt(r.offsetDelta)),
      timestamp: r.timestamp,
      // Past 2^53 a JS number holds the nearest value (see DecodedRecord).
      typeId: Number(r.typeId),
      key: r.key,
      value: r.value,
      headers: r.headers,
    })),
  );
}

function encodeVector(v: Json, codec: Compression): Uint8Array {
  return encodeBatch(
    v.records.map((r: Json) => ({
      key: r.key === null ? null : bytes(r.key),
      value: r.value === null ? null : bytes(r.value),
      headers: r.headers.map((h: Json) => ({ key: h.key, value: h.value === null ? null : bytes(h.value) })),
      timestamp: Number(r.timestamp),
      typeId: Number(r.typeId),
    })),
    {
      compression: codec,
      minCompressSize: 0,
      baseOffset: BigInt(v.header.baseOffset),
      producerId: BigInt(v.header.producerId),
      producerEpoch: v.header.producerEpoch,
      baseSequence: v.header.baseSequence,
    },
  );
}

describe("spec/vectors/frames.json", () => {
  it.each(frames.valid.map((v: Json) => [title(v), v]))("%s decodes (and encodes) exactly", (_, v: Json) => {
    const wire = bytes(v.hex);
    for (const chunk of [wire.length, 1]) {
      const d = new FrameDecoder();
      const out = [];
      for (let i = 0; i < wire.length; i += chunk) out.push(...d.push(wire.subarray(i, i + chunk)));
      expect(out).toHaveLength(1);
      expect({ kind: out[0]!.kind, flags: out[0]!.flags, correlationId: out[0]!.correlationId, message: hexOf(out[0]!.message), payload: hexOf(out[0]!.payload) }).toEqual({
        kind: v.header.kind,
        flags: v.header.flags,
        correlationId: v.header.correlationId,
        message: v.message.hex,
        payload: v.payloadHex,
      });
    }
    if (!v.decodeOnly) {
      const encoded = encodeFrame({ kind: v.header.kind, correlationId: v.header.correlationId, message: bytes(v.message.hex), payload: bytes(v.payloadHex), checksum: v.header.flags === 1 });
      expect(hexOf(encoded)).toBe(v.hex);
    }
  });

  it.each(frames.invalid.map((v: Json) => [title(v), v]))("%s", (_, v: Json) => {
    const wire = bytes(v.hex);
    const options = v.maxFrameSize === undefined ? {} : { maxFrameSize: v.maxFrameSize };
    if (v.connection === "closes") {
      expect(codeOf(() => new FrameDecoder(options).push(wire))).toBe(v.error);
      // Byte by byte, the same error (PW-FRAME-015 order), never a frame.
      const d = new FrameDecoder(options);
      expect(codeOf(() => { for (let i = 0; i < wire.length; i++) expect(d.push(wire.subarray(i, i + 1))).toEqual([]); })).toBe(v.error);
    } else {
      // Kind and message errors are above framing: the codec hands the frame up intact.
      expect(new FrameDecoder(options).push(wire)).toHaveLength(1);
    }
  });
});

describe("spec/vectors/batches.json", () => {
  it.each(batches.valid.map((v: Json) => [title(v), v]))("%s decodes to header and records and re-encodes byte for byte", (_, v: Json) => {
    const batch = bytes(v.hex);
    expectHeader(verifyBatch(batch), v.header);
    expectHeader(readBatchHeader(batch), v.header);
    const { header, records } = decodeBatch(batch);
    expectHeader(header, v.header);
    expectRecords(records, v.header, v.records);
    expect(hexOf(encodeVector(v, "none"))).toBe(v.hex);
  });

  // PW-BATCH-016: first_timestamp is not checked against the first record; timestamps are first_timestamp + delta.
  it.each(batches.accepted.map((v: Json) => [title(v), v]))("%s is accepted and decodes to its header and records", (_, v: Json) => {
    const batch = bytes(v.hex);
    expectHeader(verifyBatch(batch), v.header);
    const { header, records } = decodeBatch(batch);
    expectHeader(header, v.header);
    expectRecords(records, v.header, v.records);
  });

  it.each(batches.invalid.map((v: Json) => [title(v), v]))("%s", (_, v: Json) => {
    expect(codeOf(() => verifyBatch(bytes(v.hex)))).toBe(v.error);
    expect(codeOf(() => decodeBatch(bytes(v.hex)))).toBe(v.error);
  });
});

describe("spec/vectors/compression.json", () => {
  it.each(compression.valid.map((v: Json) => [title(v), v]))("%s decodes, and our encoding of its records decodes the same", (_, v: Json) => {
    const batch = bytes(v.hex);
    const { header, records } = decodeBatch(batch);
    expectHeader(header, v.header);
    expectRecords(records, v.header, v.records);
    expect(hexOf(decompress(v.codec, bytes(v.compressedHex), { uncompressedSize: v.header.uncompressedSize }))).toBe(v.recordsHex);
    const ours = encodeVector(v, v.codec);
    // PW-COMP-007: a section compression would not shrink is stored as codec none.
    const stored = readBatchHeader(ours);
    if (stored.compression === "none") expect(compress(v.codec, bytes(v.recordsHex)).length).toBeGreaterThanOrEqual(v.header.uncompressedSize);
    else expect(stored.compression).toBe(v.codec);
    expectRecords(decodeBatch(ours).records, v.header, v.records);
  });

  it.each(compression.invalid.map((v: Json) => [title(v), v]))("%s", (_, v: Json) => {
    const options = v.maxUncompressedBatchSize === undefined ? {} : { maxUncompressedSize: v.maxUncompressedBatchSize };
    expect(codeOf(() => verifyBatch(bytes(v.hex), options))).toBe(v.error);
    if (v.refusedBy === "broker") {
      // PW-COMP-014: what verifyBatch refuses for a broker, a consumer's decoder may read; ours does.
      const { header, records } = decodeBatch(bytes(v.hex), options);
      expect(records).toHaveLength(header.recordCount);
    } else {
      expect(codeOf(() => decodeBatch(bytes(v.hex), options))).toBe(v.error);
    }
  });
});

describe("spec/vectors/partitioning.json", () => {
  it.each(partitioning.vectors.map((v: Json) => [`PW-PART-002: ${v.keyText ?? v.keyHex}`, v]))("%s", (_, v: Json) => {
    const key = bytes(v.keyHex);
    expect(murmur2(key)).toBe(v.murmur2);
    for (const [n, p] of Object.entries(v.partitions)) expect(partitionForKey(key, Number(n))).toBe(p);
  });
});
