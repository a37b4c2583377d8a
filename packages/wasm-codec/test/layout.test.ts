import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_CRC_START,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  BATCH_MAGIC,
  BatchField,
  CodecError,
  FLAG_CHECKSUM,
  FRAME_CHECKSUM_SIZE,
  FRAME_HEADER_SIZE,
  FRAME_LENGTH_PREFIX,
  FrameField,
  MIN_BATCH_LENGTH,
  batchSizeAt,
  encodeBatch,
  encodeFrame,
  forEachBatch,
  frameSize,
  init,
} from "@polywire/wasm-codec";
import { rustConstants } from "./rust-constants.js";

beforeAll(() => init());

type Json = any;
const batches: Json = JSON.parse(readFileSync(new URL("../../../spec/vectors/batches.json", import.meta.url), "utf8"));
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

describe("the wire layout the codec owns (src/layout.ts)", () => {
  it("PW-BATCH-001: names the batch header fields and sizes as src/batch.rs does", () => {
    expect(new Map(Object.entries(BatchField).map(([k, v]) => [snake(k), v]))).toEqual(rustConstants("batch.rs", "field"));
    const rust = rustConstants("batch.rs");
    expect([BATCH_HEADER_SIZE, BATCH_LENGTH_PREFIX, BATCH_MAGIC]).toEqual([rust.get("HEADER_SIZE"), rust.get("LENGTH_PREFIX"), rust.get("MAGIC")]);
    expect([BATCH_HEADER_SIZE, MIN_BATCH_LENGTH, BATCH_CRC_START]).toEqual([57, 45, 17]);
  });

  it("PW-FRAME-001: names the frame header sizes as src/frame.rs does", () => {
    const rust = rustConstants("frame.rs");
    expect([FRAME_HEADER_SIZE, FRAME_CHECKSUM_SIZE, FLAG_CHECKSUM]).toEqual([rust.get("HEADER_SIZE"), rust.get("CHECKSUM_SIZE"), rust.get("FLAG_CHECKSUM")]);
    expect([FRAME_HEADER_SIZE, FRAME_LENGTH_PREFIX, FRAME_CHECKSUM_SIZE]).toEqual([16, 4, 4]);
    expect(Object.values(FrameField)).toEqual([0, 4, 5, 6, 8, 12]);
  });

  it("PW-BATCH-001: every valid batch vector's header fields are where BatchField says", () => {
    for (const v of batches.valid) {
      const view = new DataView(bytes(v.hex).buffer);
      const h = v.header;
      expect(view.getBigInt64(BatchField.baseOffset), v.name).toBe(BigInt(h.baseOffset));
      expect(batchSizeAt(view, 0), v.name).toBe(BATCH_LENGTH_PREFIX + h.batchLength);
      expect(view.getUint8(BatchField.magic), v.name).toBe(h.magic);
      expect(view.getUint32(BatchField.crc), v.name).toBe(h.crc);
      expect(view.getUint16(BatchField.attributes), v.name).toBe(h.attributes);
      expect(view.getUint32(BatchField.recordCount), v.name).toBe(h.recordCount);
      expect(view.getBigInt64(BatchField.firstTimestamp), v.name).toBe(BigInt(h.firstTimestamp));
      expect(view.getBigInt64(BatchField.maxTimestamp), v.name).toBe(BigInt(h.maxTimestamp));
      expect(view.getBigInt64(BatchField.producerId), v.name).toBe(BigInt(h.producerId));
      expect(view.getInt16(BatchField.producerEpoch), v.name).toBe(h.producerEpoch);
      expect(view.getInt32(BatchField.baseSequence), v.name).toBe(h.baseSequence);
      expect(view.getUint32(BatchField.uncompressedSize), v.name).toBe(h.uncompressedSize);
    }
  });

  it("PW-FRAME-001: frameSize is the length of the frame encodeFrame writes", () => {
    for (const [m, p] of [[0, 0], [3, 0], [0, 700], [21, 5]] as const) {
      for (const checksum of [false, true]) {
        const frame = encodeFrame({ kind: 2, correlationId: 9, message: new Uint8Array(m), payload: new Uint8Array(p), checksum });
        expect(frameSize(m, p, checksum)).toBe(frame.length);
        expect(new DataView(frame.buffer).getUint32(FrameField.messageLength)).toBe(m);
      }
    }
  });

  it("PW-BATCH-001: forEachBatch visits whole batches in order with their position", () => {
    const te = new TextEncoder();
    const a = encodeBatch([{ value: te.encode("a"), timestamp: 1 }], { baseOffset: 5n });
    const b = encodeBatch([{ value: te.encode("b"), timestamp: 2 }, { value: null, timestamp: 3 }], { baseOffset: 6n, compression: "zstd", minCompressSize: 0 });
    const section = new Uint8Array(3 + a.length + b.length).subarray(3);
    section.set(a);
    section.set(b, a.length);
    const seen: [number, bigint, number, number][] = [];
    forEachBatch(section, (batch, view, at) => {
      seen.push([at, view.getBigInt64(at + BatchField.baseOffset), view.getUint32(at + BatchField.recordCount), batch.length]);
      expect(Buffer.from(batch).equals(Buffer.from(at === 0 ? a : b))).toBe(true);
    });
    expect(seen).toEqual([[0, 5n, 1, a.length], [a.length, 6n, 2, b.length]]);
    forEachBatch(new Uint8Array(0), () => expect.unreachable());
  });

  it("PW-BATCH-001: forEachBatch throws CORRUPT_BATCH at a partial or undersized batch, after the whole ones", () => {
    const a = encodeBatch([{ value: null, timestamp: 1 }]);
    const both = new Uint8Array([...a, ...a]);
    const small = both.slice();
    new DataView(small.buffer).setUint32(a.length + BatchField.batchLength, MIN_BATCH_LENGTH - 1);
    for (const [section, message] of [[both.subarray(0, both.length - 1), /declares/], [both.subarray(0, a.length + 11), /11 trailing bytes/], [small, /declares 56 bytes/]] as const) {
      let visited = 0;
      let error: unknown;
      try {
        forEachBatch(section, () => visited++);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CodecError);
      expect((error as CodecError).code).toBe("CORRUPT_BATCH");
      expect((error as CodecError).message).toMatch(message);
      expect(visited).toBe(1);
    }
  });
});
