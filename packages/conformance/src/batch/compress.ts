import { gunzipSync, gzipSync } from "node:zlib";
import { compress as codecCompress, decompress as codecDecompress, init as initCodec } from "@polywire/wasm-codec";

/** Codec numbers of attribute bits 0-2 (§5.3). */
export const CODECS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
/** A codec name. */
export type CodecName = keyof typeof CODECS;
/** Codec names by number. */
export const CODEC_NAMES: readonly CodecName[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/** Loads the WASM codec used for Snappy, LZ4 and zstd. */
export async function initCompression(): Promise<void> {
  await initCodec();
}

/**
 * Compresses a records section. gzip comes from Node's zlib (an encoder
 * other than the reference codec's); Snappy raw blocks, LZ4 blocks and zstd
 * frames from the WASM codec, which the codec's own tests check against
 * independent peers.
 */
export function compressSection(codec: CodecName, data: Uint8Array, level?: number): Uint8Array {
  if (codec === "none") return data;
  if (codec === "gzip") return new Uint8Array(gzipSync(data, level === undefined ? {} : { level }));
  return codecCompress(codec, data, level === undefined ? {} : { level });
}

/**
 * Decompresses a records section that must decode to exactly
 * `uncompressedSize` bytes (PW-COMP-005); throws otherwise.
 */
export function decompressSection(codec: CodecName, data: Uint8Array, uncompressedSize: number): Uint8Array {
  if (codec === "none") return data;
  if (codec === "gzip") {
    const out = new Uint8Array(gunzipSync(data, { maxOutputLength: uncompressedSize + 1 }));
    if (out.length !== uncompressedSize) throw new RangeError(`gzip output is ${out.length} bytes, uncompressed_size says ${uncompressedSize}`);
    return out;
  }
  return codecDecompress(codec, data, { uncompressedSize, maxSize: Math.max(uncompressedSize, 1) });
}
