import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import * as fzstd from "fzstd";
import lz4js from "lz4js";
import snappyjs from "snappyjs";
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from "snappy";
import { init as initZstdWasm, compress as zstdWasmCompress, decompress as zstdWasmDecompress } from "@bokuweb/zstd-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { CompressStream } from "zstd-napi";
import { CodecError, type Compression, compress, crc32c, decompress, init, murmur2, partitionForKey } from "@polywire/wasm-codec";

beforeAll(async () => {
  await init();
  await initZstdWasm();
});

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

/** JSON log lines: what the benchmark and real producers compress. */
function corpus(size: number, seed = 1): Uint8Array {
  let x = seed;
  const lines: string[] = [];
  let n = 0;
  while (n < size) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const line = JSON.stringify({ ts: 1_700_000_000_000 + x, level: ["info", "warn", "error"][x % 3], svc: `svc-${x % 17}`, msg: "request handled", latencyMs: x % 997 }) + "\n";
    lines.push(line);
    n += line.length;
  }
  return te.encode(lines.join("")).subarray(0, size);
}

/**
 * `data` through libzstd's streaming compressor with Window_Log `windowLog`,
 * as a Java producer's zstd-jni output stream writes it: the size is unknown
 * up front, so the header declares the window and no content size.
 */
async function zstdStreamed(data: Uint8Array, windowLog: number): Promise<Uint8Array> {
  const stream = new CompressStream({ windowLog, checksumFlag: true });
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve, reject) => stream.on("end", resolve).on("error", reject));
  stream.end(data);
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

/** The LZ4 block of RUSTSEC-2026-0041: its first match has offset 0; 52 bytes declared. */
export const LZ4_OFFSET_ZERO = Uint8Array.from(Buffer.from("1d200000f013474e55204c4942524152592047454e4552414c205055424c4943204c4943454e5345", "hex"));

const lz4Block = {
  // lz4js returns 0 ("store it raw") for inputs too short to hold a match,
  // so it has no block to offer for those: null.
  compress(data: Uint8Array): Uint8Array | null {
    const dst = new Uint8Array(lz4js.compressBound(data.length));
    const n = lz4js.compressBlock(data, dst, 0, data.length, new Uint32Array(1 << 16));
    return n === 0 ? null : dst.subarray(0, n);
  },
  decompress(data: Uint8Array, size: number): Uint8Array {
    const dst = new Uint8Array(size);
    const n = lz4js.decompressBlock(data, dst, 0, data.length, 0);
    return dst.subarray(0, n);
  },
};

const peers: Record<Exclude<Compression, "none">, { name: string; compress(d: Uint8Array): Uint8Array | null; decompress(d: Uint8Array, size: number): Uint8Array }[]> = {
  gzip: [{ name: "node:zlib", compress: (d) => gzipSync(d), decompress: (d) => gunzipSync(d) }],
  snappy: [
    { name: "snappyjs", compress: (d) => new Uint8Array(snappyjs.compress(d)), decompress: (d) => new Uint8Array(snappyjs.uncompress(d)) },
    { name: "snappy (native)", compress: (d) => snappyCompress(d), decompress: (d) => snappyUncompress(d, { asBuffer: true }) as Uint8Array },
  ],
  lz4: [{ name: "lz4js block", compress: lz4Block.compress, decompress: lz4Block.decompress }],
  zstd: [
    { name: "@bokuweb/zstd-wasm", compress: (d) => zstdWasmCompress(d, 3), decompress: (d) => zstdWasmDecompress(d) },
    { name: "fzstd (decode only)", compress: (d) => zstdWasmCompress(d, 19), decompress: (d) => fzstd.decompress(d) },
  ],
};

describe("compression", () => {
  for (const codec of codecs) {
    it(`PW-COMP-005: ${codec} round-trips any bytes to exactly uncompressedSize`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 20000 }).map((n) => corpus(n))), (data) => {
          const packed = compress(codec, data);
          expect(decompress(codec, packed, { uncompressedSize: data.length })).toEqual(data);
        }),
        { numRuns: 60 },
      );
    });
  }

  for (const [codec, list] of Object.entries(peers) as [Exclude<Compression, "none">, (typeof peers)["gzip"]][]) {
    for (const peer of list) {
      it(`PW-COMP-00${codecs.indexOf(codec)}: ${codec} agrees with ${peer.name} in both directions`, () => {
        for (const data of [new Uint8Array(0), te.encode("a"), corpus(4096), corpus(1 << 20, 7), new Uint8Array(70_000).map((_, i) => (i * 2654435761) >>> 24)]) {
          const ours = compress(codec, data);
          expect(Buffer.compare(peer.decompress(ours, data.length), data), `${peer.name} decodes ours`).toBe(0);
          const theirs = peer.compress(data);
          if (theirs === null) continue;
          expect(Buffer.compare(decompress(codec, theirs, { uncompressedSize: data.length }), data), `we decode ${peer.name}'s`).toBe(0);
        }
      });
    }
  }

  it("PW-COMP-001: gzip accepts every level and rejects trailing members", () => {
    const data = corpus(10_000);
    // node:zlib's levels are 0-9; ours (libdeflate's) go to 12.
    for (let level = 0; level <= 9; level++) {
      expect(decompress("gzip", gzipSync(data, { level }), { uncompressedSize: data.length })).toEqual(data);
    }
    for (let level = 0; level <= 12; level++) {
      expect(gunzipSync(compress("gzip", data, { level }))).toEqual(Buffer.from(data));
    }
    const two = Buffer.concat([gzipSync(data), gzipSync(data)]);
    expect(codeOf(() => decompress("gzip", two, { uncompressedSize: data.length }))).toBe("CORRUPT_BATCH");
    expect(codeOf(() => compress("gzip", data, { level: 13 }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => compress("zstd", data, { level: 23 }))).toBe("INVALID_ARGUMENT");
  });

  it("PW-COMP-004: zstd frames carry the content size and a second frame is rejected", () => {
    const data = corpus(5000);
    const frame = compress("zstd", data, { level: 19 });
    // Frame_Header_Descriptor bit 5 (Single_Segment) or bits 6-7 (FCS field size) announce the content size.
    const fhd = frame[4]!;
    expect((fhd & 0xc0) !== 0 || (fhd & 0x20) !== 0).toBe(true);
    const two = new Uint8Array([...frame, ...frame]);
    expect(codeOf(() => decompress("zstd", two, { uncompressedSize: data.length }))).toBe("CORRUPT_BATCH");
  });

  it("PW-COMP-010: a zstd frame declaring Window_Log up to 31 decodes into uncompressedSize; a larger window is CORRUPT_BATCH", async () => {
    const data = corpus(300_000, 3);
    for (const windowLog of [27, 30, 31]) {
      const frame = await zstdStreamed(data, windowLog);
      expect(frame[4]! & 0xe0, "no content size, not single-segment").toBe(0);
      expect(frame[5]! >> 3, "the declared Window_Log").toBe(windowLog - 10);
      expect(Buffer.compare(decompress("zstd", frame, { uncompressedSize: data.length }), data), `Window_Log ${windowLog}`).toBe(0);
    }
    const frame = await zstdStreamed(data, 31);
    frame[5] = (32 - 10) << 3;
    expect(codeOf(() => decompress("zstd", frame, { uncompressedSize: data.length }))).toBe("CORRUPT_BATCH");
  });

  it("PW-COMP-011: an LZ4 match offset of 0 or one reaching before the output is CORRUPT_BATCH (RUSTSEC-2026-0041)", () => {
    expect(codeOf(() => decompress("lz4", LZ4_OFFSET_ZERO, { uncompressedSize: 52 }))).toBe("CORRUPT_BATCH");
    // token 0x10: one literal "a", then a 4-byte match at offset 2 (only 1 byte of output before it), then 1 literal.
    const beforeStart = Uint8Array.of(0x10, 0x61, 0x02, 0x00, 0x10, 0x62);
    expect(codeOf(() => decompress("lz4", beforeStart, { uncompressedSize: 6 }))).toBe("CORRUPT_BATCH");
    // The same with offset 1 is valid: "a" repeated, then "b".
    const valid = Uint8Array.of(0x10, 0x61, 0x01, 0x00, 0x10, 0x62);
    expect(new TextDecoder().decode(decompress("lz4", valid, { uncompressedSize: 6 }))).toBe("aaaaab");
  });

  it("PW-COMP-005: output longer or shorter than declared is CORRUPT_BATCH for every codec", () => {
    const data = corpus(3000);
    for (const codec of codecs) {
      const packed = compress(codec, data);
      expect(codeOf(() => decompress(codec, packed, { uncompressedSize: data.length - 1 }))).toBe("CORRUPT_BATCH");
      expect(codeOf(() => decompress(codec, packed, { uncompressedSize: data.length + 1 }))).toBe("CORRUPT_BATCH");
    }
  });

  it("PW-COMP-006: a declared size above the cap is DECOMPRESSION_LIMIT before any work", () => {
    // A 1 GiB run of zeros compresses to a few KiB: the guard must fire on the
    // declared size, whatever the bytes.
    for (const codec of codecs) {
      expect(codeOf(() => decompress(codec, new Uint8Array(8), { uncompressedSize: 1 << 30 }))).toBe("DECOMPRESSION_LIMIT");
      expect(codeOf(() => decompress(codec, new Uint8Array(8), { uncompressedSize: 2000, maxSize: 1999 }))).toBe("DECOMPRESSION_LIMIT");
    }
    const bomb = compress("zstd", new Uint8Array(8 << 20));
    expect(bomb.length).toBeLessThan(1024);
    expect(codeOf(() => decompress("zstd", bomb, { uncompressedSize: 1024 }))).toBe("CORRUPT_BATCH");
  });

  it("PW-COMP-006: a declared size WASM memory cannot hold is DECOMPRESSION_LIMIT, not a trap", () => {
    for (const codec of codecs) {
      expect(codeOf(() => decompress(codec, new Uint8Array(8), { uncompressedSize: 0xffff_ff00, maxSize: 0xffff_ffff }))).toBe("DECOMPRESSION_LIMIT");
    }
    expect(decompress("lz4", compress("lz4", te.encode("still usable")), { uncompressedSize: 12 })).toEqual(te.encode("still usable"));
  });

  it("PW-COMP-005: garbage input is an error for every codec, never a crash", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 5000 }), (junk, size) => {
        for (const codec of codecs) {
          try {
            const out = decompress(codec, junk, { uncompressedSize: size });
            expect(out.length).toBe(size);
          } catch (e) {
            expect(e).toBeInstanceOf(CodecError);
            expect(["CORRUPT_BATCH"]).toContain((e as CodecError).code);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("PW-COMP-005: copy:false returns a view into wasm memory, valid until the next call", () => {
    const data = corpus(50_000);
    for (const codec of codecs) {
      const packed = compress(codec, data);
      const view = decompress(codec, packed, { uncompressedSize: data.length, copy: false });
      expect(Buffer.compare(view, data)).toBe(0);
      const owned = decompress(codec, packed, { uncompressedSize: data.length });
      expect(owned.buffer).not.toBe(view.buffer);
      const packedView = compress(codec, data, { copy: false });
      expect(Buffer.compare(packedView, packed)).toBe(0);
    }
  });

  it("rejects unknown codecs with UNSUPPORTED_CODEC and bad sizes with INVALID_ARGUMENT", () => {
    expect(codeOf(() => compress("brotli" as Compression, new Uint8Array(1)))).toBe("UNSUPPORTED_CODEC");
    expect(codeOf(() => decompress("lz4", new Uint8Array(1), { uncompressedSize: -1 }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => decompress("lz4", new Uint8Array(1), { uncompressedSize: 1.5 }))).toBe("INVALID_ARGUMENT");
  });
});

describe("checksums and partitioning", () => {
  it("PW-FRAME-004: crc32c is CRC-32C (Castagnoli) and continues across chunks", () => {
    expect(crc32c(te.encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const data = corpus(10_000);
    expect(crc32c(data.subarray(5000), crc32c(data.subarray(0, 5000)))).toBe(crc32c(data));
  });

  it("PW-PART-002: murmur2 matches Kafka's Utils.murmur2", () => {
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(te.encode(key))).toBe(hash);
  });

  it("PW-PART-002: partitionForKey is (murmur2 & 0x7fffffff) % partitions", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 10_000 }), (key, n) => {
        expect(partitionForKey(key, n)).toBe((murmur2(key) & 0x7fffffff) % n);
      }),
    );
    expect(codeOf(() => partitionForKey(te.encode("k"), 0))).toBe("INVALID_ARGUMENT");
  });
});
