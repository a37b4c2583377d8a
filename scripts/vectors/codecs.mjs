// Compression for the records section (spec §5.3) with libraries other than
// the product codec's: node:zlib for gzip, snappyjs (raw block), liblz4 (the
// reference LZ4 library, through Python's `lz4` package in .venv, which
// `npm run generate` installs) and zstd-wasm. Every output is decompressed
// again with an independent decoder (lz4js for LZ4, fzstd for zstd) before
// it becomes a vector.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { compress as zstdCompress, init as zstdInit } from "@bokuweb/zstd-wasm";
import { decompress as fzstdDecompress } from "fzstd";
import lz4 from "lz4js";
import snappy from "snappyjs";
import { python } from "../toolchain.mjs";

await zstdInit();

const LIBLZ4 = fileURLToPath(new URL("liblz4.py", import.meta.url));

/** An LZ4 block from liblz4, whose blocks follow the end-of-block rules (PW-COMP-013). */
function lz4Block(input) {
  return new Uint8Array(execFileSync(python, [LIBLZ4, "compress"], { input }));
}

/** Whether liblz4 decodes `block` to `size` bytes: the C, Python and Java clients decode with it. */
export function liblz4Accepts(block, size) {
  try {
    execFileSync(python, [LIBLZ4, "decompress", String(size)], { input: block, stdio: ["pipe", "pipe", "ignore"] });
    return true;
  } catch {
    return false;
  }
}

/** An LZ4 block from lz4js, which may end on a match too close to the end (it breaks PW-COMP-013). */
export function lz4jsBlock(input) {
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
