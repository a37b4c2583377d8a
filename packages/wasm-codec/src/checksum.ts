import { requireBytes, requireInteger } from "./errors.js";
import { failed, wasm, writeInput } from "./wasm.js";

/**
 * CRC-32C (Castagnoli) of `data` as an unsigned 32-bit number; pass a
 * previous result as `crc` to continue over several chunks.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  const w = wasm();
  requireBytes(data, "data");
  requireInteger(crc, "crc", 0, 0xffff_ffff);
  try {
    return w.pw_crc32c(writeInput(data), crc) >>> 0;
  } catch (error) {
    return failed(error, "crc32c");
  }
}
