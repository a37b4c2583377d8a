// Records and batches shared by several vector files, so that for example the
// payload of the ProduceRequest frame vector is a batch of batches.json.
import { encodeBatch, encodeRecords, headerFor } from "./batch.mjs";

const utf8 = new TextEncoder();
export const text = (s) => utf8.encode(s);

/** 2024-05-01T12:00:00Z in Unix milliseconds. */
export const T0 = 1714564800000n;

export const ORDER_RECORDS = [
  { timestamp: T0, typeId: 1, key: text("order-1001"), value: text('{"sku":"A-17","qty":2}'), headers: [{ key: "trace-id", value: text("4bf92f35") }] },
  { timestamp: T0 + 5n, typeId: 1, key: text("order-1002"), value: text('{"sku":"B-03","qty":1}'), headers: [] },
];

/** A codec-none, non-idempotent batch of ORDER_RECORDS as a producer sends it. */
export function orderBatch() {
  const section = encodeRecords(ORDER_RECORDS);
  return encodeBatch({ section, ...headerFor(ORDER_RECORDS, section) });
}
