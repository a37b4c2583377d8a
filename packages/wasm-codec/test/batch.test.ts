import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CodecError,
  type Compression,
  type RecordInput,
  crc32c,
  decodeBatch,
  encodeBatch,
  init,
  openBatch,
  readBatchHeader,
  setBaseOffset,
  splitBatches,
  verifyBatch,
} from "@polywire/wasm-codec";
import { lz4OffsetPositions } from "./differential/mutate.js";

beforeAll(() => init());

const te = new TextEncoder();
const codecs: Compression[] = ["none", "gzip", "snappy", "lz4", "zstd"];

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return (e as CodecError).code;
  }
  throw new Error("expected a CodecError");
}

// Spec §0 varint, written independently of the codec: zigzag + LEB128.
function varint(v: number): number[] {
  let u = v >= 0 ? BigInt(v) * 2n : -BigInt(v) * 2n - 1n;
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

/** Re-signs a batch after a test edits bytes the CRC covers. */
function resign(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset).setUint32(13, crc32c(batch.subarray(17)));
  return batch;
}

function logRecords(n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: te.encode(`user-${i % 50}`),
    value: te.encode(JSON.stringify({ i, level: "info", msg: "request handled", path: `/api/v1/items/${i}` })),
    headers: [{ key: "trace", value: te.encode(`t-${i}`) }],
    timestamp: 1_700_000_000_000 + i,
    typeId: i % 3,
  }));
}

describe("record batches", () => {
  it("PW-BATCH-001..011: encodes the spec's byte layout exactly (uncompressed)", () => {
    const batch = encodeBatch(
      [
        { key: null, value: te.encode("v"), timestamp: 1000, typeId: 7, headers: [{ key: "h", value: null }] },
        { key: new Uint8Array(0), value: null, timestamp: 990 },
      ],
      { baseOffset: 0n },
    );
    const r0 = [0, ...varint(0), ...varint(0), ...varint(7), ...varint(-1), ...varint(1), 0x76, ...varint(1), ...varint(1), 0x68, ...varint(-1)];
    const r1 = [0, ...varint(-10), ...varint(1), ...varint(0), ...varint(0), ...varint(-1), ...varint(0)];
    const section = [...varint(r0.length), ...r0, ...varint(r1.length), ...r1];
    const expected = new Uint8Array(57 + section.length);
    const v = new DataView(expected.buffer);
    v.setBigInt64(0, 0n);
    v.setUint32(8, 45 + section.length);
    v.setUint8(12, 1);
    v.setUint16(17, 0);
    v.setUint32(19, 2);
    v.setBigInt64(23, 1000n);
    v.setBigInt64(31, 1000n);
    v.setBigInt64(39, -1n);
    v.setInt16(47, -1);
    v.setInt32(49, -1);
    v.setUint32(53, section.length);
    expected.set(section, 57);
    v.setUint32(13, crc32c(expected.subarray(17)));
    expect(batch).toEqual(expected);
  });

  for (const compression of codecs) {
    it(`PW-BATCH-013: ${compression} batches round-trip records, nulls distinct from empty`, () => {
      const recordArb = fc.record({
        key: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
        value: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
        headers: fc.array(fc.record({ key: fc.string({ maxLength: 10, unit: "grapheme" }), value: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }) }), { maxLength: 3 }),
        typeId: fc.integer({ min: 0, max: 2 ** 40 }),
        timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
      });
      fc.assert(
        fc.property(fc.array(recordArb, { minLength: 1, maxLength: 40 }), fc.bigInt({ min: 0n, max: 2n ** 62n }), (records, baseOffset) => {
          const batch = encodeBatch(records, { compression, minCompressSize: 0, baseOffset });
          const header = verifyBatch(batch);
          expect(header.recordCount).toBe(records.length);
          expect(header.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp)));
          const { records: out } = decodeBatch(batch);
          expect(out).toEqual(records.map((r, i) => ({ ...r, key: r.key && new Uint8Array(r.key), value: r.value && new Uint8Array(r.value), headers: r.headers.map((h) => ({ key: h.key, value: h.value && new Uint8Array(h.value) })), offset: baseOffset + BigInt(i) })));
        }),
        { numRuns: 40 },
      );
    });
  }

  for (const compression of codecs) {
    it(`PW-BATCH-013: openBatch (${compression}) reads every field as decodeBatch does, on demand`, () => {
      const recordArb = fc.record({
        key: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
        value: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
        headers: fc.array(fc.record({ key: fc.string({ maxLength: 10, unit: "grapheme" }), value: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }) }), { maxLength: 3 }),
        typeId: fc.integer({ min: 0, max: 2 ** 53 - 1 }),
        timestamp: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
      });
      fc.assert(
        fc.property(fc.array(recordArb, { minLength: 1, maxLength: 40 }), fc.bigInt({ min: 0n, max: 2n ** 62n }), (records, baseOffset) => {
          const batch = encodeBatch(records, { compression, minCompressSize: 0, baseOffset });
          const expected = decodeBatch(batch).records;
          const opened = openBatch(batch);
          // Another codec call in between must not disturb what was opened.
          encodeBatch(logRecords(5), { compression, minCompressSize: 0 });
          expect(opened.count).toBe(records.length);
          expect(opened.header).toEqual(readBatchHeader(batch));
          // Fields out of order and one at a time, as a lazy reader asks for them.
          for (let i = opened.count - 1; i >= 0; i--) {
            expect(opened.value(i)).toEqual(expected[i]?.value);
            expect(opened.headers(i)).toEqual(expected[i]?.headers);
            expect(opened.offset(i)).toBe(baseOffset + BigInt(i));
            expect(opened.record(i)).toEqual(expected[i]);
          }
        }),
        { numRuns: 30 },
      );
    });
  }

  it("PW-BATCH-003: openBatch checks the CRC before any record is readable; views alias only an uncompressed batch", () => {
    const plain = encodeBatch(logRecords(4));
    const bad = plain.slice();
    // The last byte of the last header value: structure intact, CRC wrong.
    bad[bad.length - 1] ^= 1;
    expect(codeOf(() => openBatch(bad))).toBe("CORRUPT_BATCH");
    expect(openBatch(bad, { verifyCrc: false }).count).toBe(4);
    expect(codeOf(() => openBatch(plain.subarray(0, 60)))).toBe("CORRUPT_BATCH");
    const opened = openBatch(plain);
    const value = opened.value(2) as Uint8Array;
    expect(value.buffer).toBe(plain.buffer);
    const zipped = encodeBatch(logRecords(40), { compression: "zstd" });
    const fromZip = openBatch(zipped).value(0) as Uint8Array;
    expect(fromZip.buffer).not.toBe(zipped.buffer);
    expect(new TextDecoder().decode(fromZip)).toContain("request handled");
    for (const index of [-1, 4, 1.5, Number.NaN]) expect(codeOf(() => opened.value(index))).toBe("INVALID_ARGUMENT");
  });

  it("PW-COMP-007: compresses only at or above minCompressSize and only when it shrinks", () => {
    const records = logRecords(200);
    expect(readBatchHeader(encodeBatch(records, { compression: "zstd" })).compression).toBe("zstd");
    expect(readBatchHeader(encodeBatch(records.slice(0, 2), { compression: "zstd" })).compression).toBe("none");
    expect(readBatchHeader(encodeBatch(records, { compression: "lz4", minCompressSize: 1 << 30 })).compression).toBe("none");
    let x = 0x9e3779b9;
    const noise = [{ value: new Uint8Array(4000).map(() => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x & 0xff)) }];
    for (const c of codecs) expect(readBatchHeader(encodeBatch(noise, { compression: c, minCompressSize: 0 })).compression).toBe("none");
  });

  it("PW-BATCH-003: the CRC covers attributes to the end, not base_offset", () => {
    const batch = encodeBatch(logRecords(10), { compression: "gzip", minCompressSize: 0 });
    setBaseOffset(batch, 123_456n);
    expect(readBatchHeader(batch).baseOffset).toBe(123_456n);
    expect(verifyBatch(batch).crc).toBe(crc32c(batch.subarray(17)));
    expect(decodeBatch(batch).records[9]?.offset).toBe(123_465n);
    for (const at of [17, 30, 60, batch.length - 1]) {
      const bad = batch.slice();
      bad[at] ^= 0x10;
      expect(codeOf(() => verifyBatch(bad))).toBe("CORRUPT_BATCH");
      expect(codeOf(() => decodeBatch(bad))).toBe("CORRUPT_BATCH");
    }
  });

  it("PW-BATCH-003: verifyCrc:false skips only the CRC", () => {
    const batch = encodeBatch(logRecords(3));
    const bad = batch.slice();
    bad[13] ^= 1;
    expect(decodeBatch(bad, { verifyCrc: false }).records).toHaveLength(3);
    expect(codeOf(() => decodeBatch(bad))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-001: rejects a batch whose declared length disagrees with the bytes", () => {
    const batch = encodeBatch(logRecords(3));
    expect(codeOf(() => verifyBatch(batch.subarray(0, batch.length - 1)))).toBe("CORRUPT_BATCH");
    expect(codeOf(() => readBatchHeader(new Uint8Array([...batch, 0])))).toBe("CORRUPT_BATCH");
    expect(codeOf(() => decodeBatch(batch.subarray(0, 56)))).toBe("CORRUPT_BATCH");
    const short = batch.slice(0, 57);
    new DataView(short.buffer).setUint32(8, 44);
    expect(codeOf(() => readBatchHeader(short))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-002: rejects magic other than 1", () => {
    const batch = encodeBatch(logRecords(1));
    batch[12] = 2;
    expect(codeOf(() => readBatchHeader(batch))).toBe("CORRUPT_BATCH");
    expect(codeOf(() => verifyBatch(batch))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-005: reserved attribute bits are CORRUPT_BATCH, codecs 5-7 UNSUPPORTED_CODEC", () => {
    const batch = encodeBatch(logRecords(1));
    const reserved = batch.slice();
    reserved[18] |= 0x08;
    expect(codeOf(() => verifyBatch(resign(reserved)))).toBe("CORRUPT_BATCH");
    for (const codec of [5, 6, 7]) {
      const b = batch.slice();
      b[18] = codec;
      expect(codeOf(() => verifyBatch(resign(b)))).toBe("UNSUPPORTED_CODEC");
      expect(codeOf(() => readBatchHeader(b))).toBe("UNSUPPORTED_CODEC");
    }
  });

  it("PW-BATCH-006: record_count must be at least 1 and match the records", () => {
    const batch = encodeBatch(logRecords(3));
    for (const count of [0, 2, 4]) {
      const b = batch.slice();
      new DataView(b.buffer).setUint32(19, count);
      expect(codeOf(() => verifyBatch(resign(b)))).toBe("CORRUPT_BATCH");
    }
    expect(codeOf(() => encodeBatch([]))).toBe("INVALID_ARGUMENT");
  });

  it("PW-BATCH-007: an uncompressed section must be exactly uncompressed_size", () => {
    const b = encodeBatch(logRecords(2));
    const v = new DataView(b.buffer);
    v.setUint32(53, v.getUint32(53) + 1);
    expect(codeOf(() => verifyBatch(resign(b)))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-008: max_timestamp must be the largest record timestamp", () => {
    const b = encodeBatch([{ value: null, timestamp: 50 }, { value: null, timestamp: 40 }]);
    expect(readBatchHeader(b)).toMatchObject({ firstTimestamp: 50, maxTimestamp: 50 });
    new DataView(b.buffer).setBigInt64(31, 49n);
    expect(codeOf(() => verifyBatch(resign(b)))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-009: producer fields are all -1 or all non-negative", () => {
    const h = readBatchHeader(encodeBatch(logRecords(1), { producerId: 5n, producerEpoch: 1, baseSequence: 9 }));
    expect(h).toMatchObject({ producerId: 5n, producerEpoch: 1, baseSequence: 9 });
    expect(codeOf(() => encodeBatch(logRecords(1), { producerId: 5n }))).toBe("INVALID_ARGUMENT");
    const b = encodeBatch(logRecords(1));
    new DataView(b.buffer).setBigInt64(39, 3n);
    expect(codeOf(() => verifyBatch(resign(b)))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-010/011: rejects bad offset_delta, record attributes, lengths and overlong varints", () => {
    const b = encodeBatch([{ key: null, value: te.encode("abc"), timestamp: 1 }]);
    // Record bytes: length, attributes, ts delta, offset delta, type id, ...
    const mutate = (at: number, byte: number) => {
      const c = b.slice();
      c[at] = byte;
      return resign(c);
    };
    expect(codeOf(() => verifyBatch(mutate(58, 1)))).toBe("CORRUPT_BATCH"); // attributes
    expect(codeOf(() => verifyBatch(mutate(60, 2)))).toBe("CORRUPT_BATCH"); // offset_delta 1
    expect(codeOf(() => verifyBatch(mutate(61, 1)))).toBe("CORRUPT_BATCH"); // type_id -1
    expect(codeOf(() => verifyBatch(mutate(62, 3)))).toBe("CORRUPT_BATCH"); // key length -2
    expect(codeOf(() => verifyBatch(mutate(57, b[57]! + 2)))).toBe("CORRUPT_BATCH"); // length past the end
    const overlong = [...b.subarray(0, 57), ...varint(20), 0, ...Array(10).fill(0x80), 0, 0, 0, 1, 0, 0];
    const o = new Uint8Array(overlong);
    const v = new DataView(o.buffer);
    v.setUint32(8, o.length - 12);
    v.setUint32(53, o.length - 57);
    expect(codeOf(() => verifyBatch(resign(o)))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-012: header keys keep order and duplicates, UTF-8 end to end", () => {
    const headers = [
      { key: "é-ключ-🔑", value: te.encode("1") },
      { key: "a", value: null },
      { key: "é-ключ-🔑", value: new Uint8Array(0) },
      { key: "x".repeat(100), value: te.encode("long key") },
    ];
    expect(decodeBatch(encodeBatch([{ value: null, headers }])).records[0]?.headers).toEqual(headers);
    const b = encodeBatch([{ value: null, headers: [{ key: "ab", value: null }] }]);
    const bad = b.slice();
    bad[bad.length - 3] = 0xff; // first byte of the key "ab"
    expect(codeOf(() => verifyBatch(resign(bad)))).toBe("CORRUPT_BATCH");
  });

  it("PW-BATCH-014: typeId must be a non-negative integer", () => {
    expect(codeOf(() => encodeBatch([{ value: null, typeId: -1 }]))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeBatch([{ value: null, typeId: 1.5 }]))).toBe("INVALID_ARGUMENT");
    expect(decodeBatch(encodeBatch([{ value: null, typeId: 2 ** 50 }])).records[0]?.typeId).toBe(2 ** 50);
  });

  it("PW-COMP-006: a batch declaring more than maxUncompressedSize is DECOMPRESSION_LIMIT", () => {
    const b = encodeBatch(logRecords(100), { compression: "lz4" });
    const size = readBatchHeader(b).uncompressedSize;
    expect(codeOf(() => decodeBatch(b, { maxUncompressedSize: size - 1 }))).toBe("DECOMPRESSION_LIMIT");
    expect(codeOf(() => verifyBatch(b, { maxUncompressedSize: size - 1 }))).toBe("DECOMPRESSION_LIMIT");
    expect(decodeBatch(b, { maxUncompressedSize: size }).records).toHaveLength(100);
  });

  it("PW-COMP-011: a batch with a correct CRC whose LZ4 block has a match offset of 0 fails verifyBatch with CORRUPT_BATCH", () => {
    // Zeroed inside a repeating value: whatever a lenient decoder copies there
    // (liblz4: zeros; lz4_flex < 0.11.6: stale memory), the section still
    // parses as a valid record, so only the offset check can reject it.
    const records = [{ key: te.encode("license"), value: te.encode("GNU LIBRARY GENERAL PUBLIC LICENSE ".repeat(3)), timestamp: 1_700_000_000_000, typeId: 0 }];
    const batch = encodeBatch(records, { compression: "lz4", minCompressSize: 0 });
    expect(readBatchHeader(batch).compression).toBe("lz4");
    expect(verifyBatch(batch).recordCount).toBe(1);
    const offset = 57 + (lz4OffsetPositions(batch.subarray(57))[0] as number);
    batch[offset] = 0;
    batch[offset + 1] = 0;
    resign(batch);
    expect(codeOf(() => verifyBatch(batch))).toBe("CORRUPT_BATCH");
    expect(codeOf(() => decodeBatch(batch))).toBe("CORRUPT_BATCH");
    expect(codeOf(() => openBatch(batch))).toBe("CORRUPT_BATCH");
  });

  it("decodeBatch copy:false returns views into wasm memory; copy:true owns its bytes", () => {
    const b = encodeBatch(logRecords(5), { compression: "snappy", minCompressSize: 0 });
    const views = decodeBatch(b, { copy: false }).records;
    const owned = decodeBatch(b).records;
    expect(views.map((r) => r.value)).toEqual(owned.map((r) => r.value));
    expect(owned[0]!.value!.buffer).not.toBe(views[0]!.value!.buffer);
    const before = new Uint8Array(owned[0]!.value!);
    encodeBatch(logRecords(50), { compression: "zstd" });
    expect(owned[0]!.value).toEqual(before);
  });

  it("PW-BATCH-001: splitBatches splits a fetch section and rejects partial batches", () => {
    const a = encodeBatch(logRecords(2));
    const c = encodeBatch(logRecords(3), { compression: "zstd", minCompressSize: 0 });
    const both = new Uint8Array([...a, ...c]);
    const parts = splitBatches(both);
    expect(parts).toEqual([a, c]);
    expect(splitBatches(new Uint8Array(0))).toEqual([]);
    expect(codeOf(() => splitBatches(both.subarray(0, both.length - 1)))).toBe("CORRUPT_BATCH");
    expect(codeOf(() => splitBatches(both.subarray(0, a.length + 5)))).toBe("CORRUPT_BATCH");
  });

  it("any byte input to verifyBatch/decodeBatch returns a value or a CodecError", () => {
    const good = encodeBatch(logRecords(4), { compression: "lz4", minCompressSize: 0 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.boolean(), (edits, fixCrc) => {
        const b = good.slice();
        for (const [at, byte] of edits) b[at] = byte;
        if (fixCrc && b.length >= 57) resign(b);
        try {
          verifyBatch(b);
          decodeBatch(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("rejects bad arguments with INVALID_ARGUMENT and calls before init with NOT_INITIALIZED elsewhere", () => {
    expect(codeOf(() => encodeBatch([{ value: "x" as unknown as Uint8Array }]))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeBatch([{ value: null, timestamp: Number.NaN }]))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeBatch([{ value: null }], { baseOffset: 1 as unknown as bigint }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeBatch([{ value: null }], { compression: "lzma" as Compression }))).toBe("UNSUPPORTED_CODEC");
    expect(codeOf(() => encodeBatch(logRecords(200), { compression: "gzip", level: 13 }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeBatch([{ value: null }], { compression: "gzip", level: 13 }))).toBe("INVALID_ARGUMENT");
  });
});
