import type { ProducerRecord } from "@polywire/runtime";
import { UsageError } from "./args.js";

// The line format of `consume --json` is ConsumedRecord.toJSON() of the
// runtime; this module reads it back for `produce --format json`.

function bytesFrom(o: Record<string, unknown>, field: string, where: string): Uint8Array | string | null | undefined {
  const text = o[field];
  const base64 = o[`${field}Base64`];
  if (text !== undefined && base64 !== undefined) throw new UsageError(`${where}: give ${field} or ${field}Base64, not both`);
  if (base64 !== undefined) {
    if (typeof base64 !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw new UsageError(`${where}: ${field}Base64 must be a base64 string`);
    return new Uint8Array(Buffer.from(base64, "base64"));
  }
  if (text === undefined || text === null || typeof text === "string") return text;
  throw new UsageError(`${where}: ${field} must be a string or null`);
}

/**
 * Parses one line of `produce --format json` into a record for `topic`.
 * The `topic`, `partition` and `offset` fields `consume --json`
 * writes are ignored, so a consumed stream can be produced to any topic:
 * the partition comes from the key (or `produce --partition`).
 */
export function recordFromJson(line: string, topic: string, where: string): ProducerRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new UsageError(`${where}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError(`${where}: a record must be a JSON object`);
  const o = parsed as Record<string, unknown>;
  const value = bytesFrom(o, "value", where);
  if (value === undefined) throw new UsageError(`${where}: a record needs "value" (or "valueBase64"; null for a tombstone)`);
  const key = bytesFrom(o, "key", where);
  const headers: Array<[string, Uint8Array | string | null]> = [];
  if (o.headers !== undefined) {
    const list = Array.isArray(o.headers)
      ? o.headers
      : typeof o.headers === "object" && o.headers !== null
        ? Object.entries(o.headers).map(([k, v]) => ({ key: k, value: v }))
        : undefined;
    if (list === undefined) throw new UsageError(`${where}: headers must be an array of {key, value} or an object`);
    for (const h of list as unknown[]) {
      if (typeof h !== "object" || h === null || typeof (h as { key?: unknown }).key !== "string") throw new UsageError(`${where}: each header needs a string key`);
      const v = bytesFrom(h as Record<string, unknown>, "value", where);
      headers.push([(h as { key: string }).key, v ?? null]);
    }
  }
  const numberField = (field: string): number | undefined => {
    const v = o[field];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new UsageError(`${where}: ${field} must be a non-negative integer`);
    return v;
  };
  const typeId = numberField("typeId");
  const timestamp = numberField("timestamp");
  return {
    topic,
    value,
    ...(key === undefined ? {} : { key }),
    ...(headers.length === 0 ? {} : { headers }),
    ...(typeId === undefined ? {} : { typeId }),
    ...(timestamp === undefined ? {} : { timestamp }),
  };
}
