import { decodeBatch } from "@polywire/wasm-codec";
import type { TimestampOffset } from "./storage.js";

/**
 * The first record of `batch` (in offset order) stamped at or after
 * `timestampMs`. Record timestamps need not grow within a batch, so this is
 * the one place storage decodes records: once per timestamp lookup, for the
 * single batch whose max timestamp says it holds the answer.
 */
export function firstRecordAtOrAfter(batch: Uint8Array, timestampMs: number): TimestampOffset | null {
  const { records } = decodeBatch(batch, { copy: false });
  for (const record of records) {
    if (record.timestamp >= timestampMs) return { offset: record.offset, timestampMs: record.timestamp };
  }
  return null;
}
