// Compression for the records section (spec §5.3) with the npm packages the
// spec names: node:zlib for gzip, snappyjs (raw block), lz4js (block API) and
// zstd-wasm. Every output is decompressed again with an independent decoder
// (fzstd for zstd) before it becomes a vector.
import { gunzipSync, gzipSync } from "node:zlib";
import { compress as zstdCompress, init as zstdInit } from "@bokuweb/zstd-wasm";
import { decompress as fzstdDecompress } from "fzstd";
import lz4 from "lz4js";
import snappy from "snappyjs";

await zstdInit();

function lz4Block(input) {
  const out = new Uint8Array(lz4.compressBound(input.length));
  const n = lz4.compressBlock(input, out, 0, input.length, new Uint32Array(1 << 16));
  // lz4js returns 0 when it found no match; vectors use compressible data.
  if (n === 0) throw new Error("lz4js found nothing to compress: use a more repetitive records section");
  return out.slice(0, n);
}

function lz4Unblock(input, size) {
  const out = new Uint8Array(size);
  const n = lz4.decompressBlock(input, out, 0, input.length, 0);
  return out.subarray(0, n);
}

export const COMPRESSORS = {
  gzip: { compress: (b, level = 6) => new Uint8Array(gzipSync(b, { level })), decompress: (b) => new Uint8Array(gunzipSync(b)) },
  snappy: { compress: (b) => new Uint8Array(snappy.compress(b)), decompress: (b) => new Uint8Array(snappy.uncompress(b)) },
  lz4: { compress: lz4Block, decompress: lz4Unblock },
  zstd: { compress: (b, level = 3) => new Uint8Array(zstdCompress(b, level)), decompress: (b) => fzstdDecompress(b) },
};

/** Compresses and proves the result decodes back to the input. */
export function compressChecked(codec, section, level) {
  const { compress, decompress } = COMPRESSORS[codec];
  const packed = compress(section, level);
  const back = decompress(packed, section.length);
  if (Buffer.compare(Buffer.from(back), Buffer.from(section)) !== 0) throw new Error(`${codec} round trip failed`);
  return packed;
}
