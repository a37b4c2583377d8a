import { requireBytes, requireInteger } from "./errors.js";
import { failed, wasm, writeInput } from "./wasm.js";

/** Kafka's `Utils.murmur2` of `key` (seed 0x9747b28c), as a signed 32-bit number (PW-PART-002). */
export function murmur2(key: Uint8Array): number {
  const w = wasm();
  requireBytes(key, "key");
  try {
    return w.pw_murmur2(writeInput(key)) | 0;
  } catch (error) {
    return failed(error, "murmur2");
  }
}

/**
 * The partition a non-null key lands on: `(murmur2(key) & 0x7fffffff) % partitions`,
 * the same partition number a Kafka producer picks (PW-PART-002).
 */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  wasm();
  requireInteger(partitions, "partitions", 1, 0x7fff_ffff);
  return (murmur2(key) & 0x7fff_ffff) % partitions;
}
