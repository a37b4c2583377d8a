import { readFileSync } from "node:fs";
import fc from "fast-check";
import { decodeBatch as referenceDecode, encodeBatch as referenceEncode, init } from "@polywire/wasm-codec";
import { beforeAll, describe, expect, it } from "vitest";
import { BatchError, decodeBatch, encodeBatch, recordDifference, splitSection, type TestRecord } from "../src/batch/batch.js";
import { CODEC_NAMES, initCompression } from "../src/batch/compress.js";
import { crc32c } from "../src/wire/crc32c.js";
import { encodeRawFrame, FrameFormatError, FrameSplitter, fromHex, hex, parseFrame } from "../src/wire/frame.js";

interface Vector {
  name: string;
  clauses: string[];
  hex: string;
  error?: string;
  maxFrameSize?: number;
  maxUncompressedBatchSize?: number;
  /** "broker": only a broker must refuse it (PW-COMP-014). */
  refusedBy?: string;
  correlationId?: number;
  connection?: string;
}

function vectors(file: string): { valid: Vector[]; invalid: Vector[] } {
  return JSON.parse(readFileSync(new URL(`../../../spec/vectors/${file}.json`, import.meta.url), "utf8")) as { valid: Vector[]; invalid: Vector[] };
}

beforeAll(async () => {
  await init();
  await initCompression();
});

describe("the suite's own frame codec", () => {
  it("PW-FRAME-004: CRC-32C of the check string is 0xe3069283", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  });

  it("PW-FRAME-001/PW-FRAME-002: every valid frame vector splits into exactly its frame, and re-encodes byte for byte", () => {
    for (const v of vectors("frames").valid) {
      const bytes = fromHex(v.hex);
      const [frame, ...rest] = new FrameSplitter().push(bytes);
      expect(rest, v.name).toHaveLength(0);
      // Extension bytes are skipped by receivers (PW-FRAME-002), so only a 16-byte header re-encodes identically.
      if (frame!.headerSize > 16) continue;
      const again = encodeRawFrame({ kind: frame!.kind, correlationId: frame!.correlationId, message: frame!.message, payload: frame!.payload, checksum: frame!.checksum, headerSize: frame!.headerSize });
      expect(hex(again), v.name).toBe(v.hex);
    }
  });

  it("PW-FRAME-015: invalid frame vectors fail the splitter with the vector's code, checked in the spec's order", () => {
    for (const v of vectors("frames").invalid) {
      const bytes = fromHex(v.hex);
      const splitter = new FrameSplitter(v.maxFrameSize ?? 16 * 1024 * 1024);
      if (v.connection === "stays") {
        // Header-valid frames (unknown kind, undecodable message) are split; the receiver's dispatcher rejects them.
        expect(splitter.push(bytes), v.name).toHaveLength(1);
        continue;
      }
      let error: unknown;
      try {
        splitter.push(bytes);
      } catch (e) {
        error = e;
      }
      expect(error, v.name).toBeInstanceOf(FrameFormatError);
      expect(`ERROR_CODE_${(error as FrameFormatError).code}`, v.name).toBe(v.error);
    }
  });

  it("PW-FRAME-006: the splitter refuses an oversize frame from its length field alone", () => {
    const header = encodeRawFrame({ kind: 5, correlationId: 3, length: 1 << 20 }).subarray(0, 4);
    expect(() => new FrameSplitter(1024).push(header)).toThrow(FrameFormatError);
  });

  it("PW-FRAME-001: frames come out whole whatever the chunking (property)", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ kind: fc.integer({ min: 1, max: 200 }), id: fc.nat(), message: fc.uint8Array({ maxLength: 40 }), payload: fc.uint8Array({ maxLength: 300 }), checksum: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat({ max: 50 }), { maxLength: 20 }),
      (frames, cuts) => {
        const encoded = frames.map((f) => encodeRawFrame({ kind: f.kind, correlationId: f.id, message: f.message, payload: f.payload, checksum: f.checksum }));
        const stream = Buffer.concat(encoded);
        const splitter = new FrameSplitter();
        const out = [];
        let pos = 0;
        for (const cut of cuts) {
          out.push(...splitter.push(stream.subarray(pos, Math.min(stream.length, pos + cut))));
          pos = Math.min(stream.length, pos + cut);
        }
        out.push(...splitter.push(stream.subarray(pos)));
        expect(out.map((f) => [f.kind, f.correlationId, hex(f.message), hex(f.payload)])).toEqual(frames.map((f) => [f.kind, f.id, hex(f.message), hex(f.payload)]));
        expect(splitter.buffered).toBe(0);
      },
    ));
  });

  it("PW-FRAME-005: a frame whose message_length runs past its end is MALFORMED_FRAME", () => {
    expect(() => parseFrame(encodeRawFrame({ kind: 5, correlationId: 3, message: new Uint8Array(2), messageLength: 9 }))).toThrow(/message_length/);
  });
});

describe("the suite's own batch codec", () => {
  it("PW-BATCH-001/PW-COMP-001..004: decodes every valid batch and compression vector", () => {
    for (const v of [...vectors("batches").valid, ...vectors("compression").valid]) {
      const { records } = decodeBatch(fromHex(v.hex));
      const reference = referenceDecode(fromHex(v.hex)).records;
      expect(records.map((r) => r.offset), v.name).toEqual(reference.map((r) => r.offset));
      records.forEach((r, i) => {
        expect(r.value === null ? null : hex(r.value), v.name).toBe(reference[i]!.value === null ? null : hex(reference[i]!.value!));
        expect(r.key === null ? null : hex(r.key), v.name).toBe(reference[i]!.key === null ? null : hex(reference[i]!.key!));
      });
    }
  });

  it("PW-BATCH-015: rejects every invalid batch vector whose limit is the codec's own, naming one of the vector's clauses", () => {
    // A vector only a broker must refuse (PW-COMP-014) is for the broker cases; this decoder may read it.
    const decoderVectors = (x: Vector) => x.maxUncompressedBatchSize === undefined && x.refusedBy === undefined;
    for (const v of [...vectors("batches").invalid, ...vectors("compression").invalid].filter(decoderVectors)) {
      let error: unknown;
      try {
        decodeBatch(fromHex(v.hex));
      } catch (e) {
        error = e;
      }
      expect(error, v.name).toBeInstanceOf(BatchError);
      const codec = v.name.match(/^(gzip|snappy|lz4|zstd)/) !== null;
      if (!codec) expect(v.clauses, v.name).toContain((error as BatchError).clause);
    }
  });

  const recordArb: fc.Arbitrary<TestRecord> = fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 30 }), { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
    headers: fc.array(fc.record({ key: fc.string({ unit: "grapheme", maxLength: 8 }), value: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }) }), { maxLength: 3 }),
    typeId: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
    timestamp: fc.bigInt({ min: 0n, max: 2n ** 41n }),
  });

  it("PW-BATCH-013/PW-COMP-008: batches of any records and codec decode to the same records, here and in the reference codec (property)", () => {
    fc.assert(fc.property(fc.array(recordArb, { minLength: 1, maxLength: 10 }), fc.constantFrom(...CODEC_NAMES), (records, codec) => {
      const batch = encodeBatch(records, { codec });
      const mine = decodeBatch(batch).records;
      mine.forEach((r, i) => expect(recordDifference(r, records[i]!)).toBeUndefined());
      const theirs = referenceDecode(batch).records;
      expect(theirs.map((r) => r.value === null ? null : hex(r.value))).toEqual(records.map((r) => r.value === null ? null : hex(r.value)));
    }), { numRuns: 200 });
  });

  it("PW-BATCH-003: the reference codec's batches decode here byte for byte (agreement in the other direction)", () => {
    const batch = referenceEncode([{ key: new TextEncoder().encode("k"), value: null, headers: [{ key: "h", value: null }], typeId: 5, timestamp: 1000 }]);
    const { records } = decodeBatch(batch);
    expect(records[0]).toMatchObject({ key: new TextEncoder().encode("k"), value: null, typeId: 5n, timestamp: 1000n });
  });

  it("PW-LOG-011: a fetch section that ends inside a batch is refused", () => {
    const batch = encodeBatch([{ key: null, value: new Uint8Array(10), headers: [], typeId: 0n, timestamp: 1n }]);
    expect(splitSection(Buffer.concat([batch, batch]))).toHaveLength(2);
    expect(() => splitSection(Buffer.concat([batch, batch.subarray(0, 30)]))).toThrow(/cut short/);
  });
});
