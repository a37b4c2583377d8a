import { beforeAll, describe, expect, it } from "vitest";
import {
  CodecError, MAX_CODEC_INPUT, codecMemory, compress, crc32c, decodeBatch, decompress, encodeBatch, encodeFrame, init, trimMemory,
} from "@polywire/wasm-codec";
import { wasm } from "../src/wasm.js";

// These tests drive the real module into the states a hostile peer pushed
// it into (memory past 2 GiB, memory exhausted): they grow its memory from
// JavaScript, which reserves address space without touching pages.
const PAGE = 65_536;
const te = new TextEncoder();

beforeAll(() => init());

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return (e as CodecError).code;
  }
  throw new Error("expected a CodecError");
}

function growTo(bytes: number): void {
  const memory = wasm().memory;
  memory.grow(bytes / PAGE - memory.buffer.byteLength / PAGE);
}

describe("codec robustness", () => {
  it("addresses above 2 GiB are read as unsigned: every call still works", () => {
    growTo(2 * 1024 * 1024 * 1024);
    // The allocator takes its next pages above 2 GiB, where WASM's i32 results turn negative.
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i * 31);
    const reference = crc32c(data.subarray(0, 1024));
    expect(crc32c(te.encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(data)).toBe(crc32c(data.subarray(1024), reference));
    const batch = encodeBatch([{ value: data.subarray(0, 100_000) }, { key: te.encode("k"), value: null }], { compression: "zstd" });
    const { records } = decodeBatch(batch);
    expect(records[0]!.value).toEqual(data.subarray(0, 100_000));
    expect(records[1]!.value).toBeNull();
    expect(encodeFrame({ kind: 1, correlationId: 7, message: data.subarray(0, 50_000) })).toHaveLength(16 + 50_000);
    expect(codecMemory().bytes).toBeGreaterThan(2 * 1024 * 1024 * 1024);
    expect(trimMemory()).toBe(true);
  });

  it("a trap inside the codec is INTERNAL, and the next call runs on a fresh instance", () => {
    // A fresh instance has no output buffer yet: encoding a frame must allocate one.
    expect(trimMemory(0)).toBe(true);
    const { restarts } = codecMemory();
    // No memory left to grow into: the module's allocator aborts, a WASM trap.
    growTo(4 * 1024 * 1024 * 1024);
    let error: unknown;
    try {
      encodeFrame({ kind: 1, correlationId: 1, message: new Uint8Array(0) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).code).toBe("INTERNAL");
    expect((error as Error).message).toMatch(/failed in encodeFrame .*restarted with a fresh instance/);
    expect(codecMemory().restarts).toBe(restarts + 1);
    expect(codecMemory().bytes).toBe(codecMemory().baselineBytes);
    expect(crc32c(te.encode("123456789"))).toBe(0xe3069283);
    const batch = encodeBatch([{ value: te.encode("after") }]);
    expect(decodeBatch(batch).records[0]!.value).toEqual(te.encode("after"));
  });

  it("inputs above the per-call limit are RESOURCE_EXHAUSTED before memory grows; decompression is capped there too", () => {
    const before = codecMemory().bytes;
    const huge = new Uint8Array(MAX_CODEC_INPUT + 1);
    expect(codeOf(() => crc32c(huge))).toBe("RESOURCE_EXHAUSTED");
    expect(codeOf(() => compress("lz4", huge))).toBe("RESOURCE_EXHAUSTED");
    expect(codecMemory().bytes).toBe(before);
    const small = compress("zstd", new Uint8Array(10));
    expect(codeOf(() => decompress("zstd", small, { uncompressedSize: MAX_CODEC_INPUT + 1, maxSize: 2 ** 32 }))).toBe("DECOMPRESSION_LIMIT");
  });

  it("trimMemory gives back memory a burst grew, and views handed out before keep their bytes", () => {
    const original = new Uint8Array(96 * 1024 * 1024).map((_, i) => (i >> 12) & 0xff);
    const packed = compress("zstd", original);
    const view = decompress("zstd", packed, { uncompressedSize: original.length, maxSize: original.length, copy: false });
    expect(codecMemory().bytes).toBeGreaterThan(192 * 1024 * 1024);
    // Not grown past the threshold: nothing to do.
    expect(trimMemory(1024 * 1024 * 1024)).toBe(false);
    expect(trimMemory()).toBe(true);
    expect(codecMemory().bytes).toBe(codecMemory().baselineBytes);
    expect(Buffer.compare(view, original)).toBe(0);
    expect(trimMemory()).toBe(false);
    expect(crc32c(te.encode("123456789"))).toBe(0xe3069283);
  });
});
