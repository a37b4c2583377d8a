import type { TestHeader, TestRecord } from "../../batch/batch.js";

const encoder = new TextEncoder();

/** Bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Records that exercise every field: null and empty keys and values
 * (PW-BATCH-013), repeated and null-valued headers in order (PW-BATCH-012),
 * type ids up to 2^53-1 (PW-BATCH-014), timestamps out of order.
 */
export function edgeRecords(base: bigint): TestRecord[] {
  const h = (key: string, value: string | null): TestHeader => ({ key, value: value === null ? null : utf8(value) });
  return [
    { key: null, value: null, headers: [], typeId: 0n, timestamp: base },
    { key: new Uint8Array(0), value: new Uint8Array(0), headers: [], typeId: 1n, timestamp: base + 5n },
    { key: utf8("k"), value: utf8("v"), headers: [h("dup", "1"), h("dup", "2"), h("empty", ""), h("null", null), h("ünïcode ✓", "x")], typeId: 2n ** 53n - 1n, timestamp: base - 3n },
    { key: null, value: utf8("x".repeat(3000)), headers: [h("", "empty key")], typeId: 42n, timestamp: base + 1000n },
  ];
}

/** `count` small records with distinct values `<prefix>-<i>`. */
export function numbered(prefix: string, count: number, timestamp = BigInt(Date.now())): TestRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: utf8(`key-${i % 7}`), value: utf8(`${prefix}-${i}`), headers: [], typeId: 0n, timestamp: timestamp + BigInt(i) }));
}
