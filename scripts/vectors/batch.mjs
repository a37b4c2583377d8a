// The record batch layout of spec §5, written field by field. Records are
// given as { timestamp, typeId, key, value, headers } with key, value and
// header values as Uint8Array or null, and timestamps as BigInt Unix ms.
import { crc32c } from "./crc32c.mjs";
import { varint } from "./varint.mjs";

export const MAGIC = 1;
export const HEADER_LENGTH = 57;
export const CODECS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

const utf8 = new TextEncoder();

function bytesField(out, bytes) {
  if (bytes === null) {
    out.push(...varint(-1));
    return;
  }
  out.push(...varint(bytes.length));
  out.push(...bytes);
}

/** One record, `length` prefix included (PW-BATCH-010 to PW-BATCH-014). */
export function encodeRecord(record, index, firstTimestamp) {
  const body = [0];
  body.push(...varint(BigInt(record.timestamp) - BigInt(firstTimestamp)));
  body.push(...varint(index));
  body.push(...varint(record.typeId ?? 0));
  bytesField(body, record.key);
  bytesField(body, record.value);
  const headers = record.headers ?? [];
  body.push(...varint(headers.length));
  for (const header of headers) {
    bytesField(body, utf8.encode(header.key));
    bytesField(body, header.value);
  }
  return Uint8Array.from([...varint(body.length), ...body]);
}

/** The uncompressed records section of a batch. */
export function encodeRecords(records) {
  const firstTimestamp = records[0].timestamp;
  const parts = records.map((r, i) => encodeRecord(r, i, firstTimestamp));
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/**
 * A whole batch around an already encoded (and possibly compressed) records
 * section. Every header field can be overridden so that invalid batches can
 * be built with exactly one defect; `crc` is computed unless given.
 */
export function encodeBatch(fields) {
  const section = fields.section;
  const batch = new Uint8Array(HEADER_LENGTH + section.length);
  const view = new DataView(batch.buffer);
  view.setBigInt64(0, BigInt(fields.baseOffset ?? 0));
  view.setUint32(8, fields.batchLength ?? batch.length - 12);
  view.setUint8(12, fields.magic ?? MAGIC);
  view.setUint16(17, fields.attributes ?? CODECS[fields.codec ?? "none"]);
  view.setUint32(19, fields.recordCount);
  view.setBigInt64(23, BigInt(fields.firstTimestamp));
  view.setBigInt64(31, BigInt(fields.maxTimestamp));
  view.setBigInt64(39, BigInt(fields.producerId ?? -1));
  view.setInt16(47, fields.producerEpoch ?? -1);
  view.setInt32(49, fields.baseSequence ?? -1);
  view.setUint32(53, fields.uncompressedSize);
  batch.set(section, HEADER_LENGTH);
  view.setUint32(13, fields.crc ?? crc32c(batch.subarray(17)));
  return batch;
}

/** Header fields derived from the records, as a producer sets them. */
export function headerFor(records, section) {
  const timestamps = records.map((r) => BigInt(r.timestamp));
  return {
    recordCount: records.length,
    firstTimestamp: timestamps[0],
    maxTimestamp: timestamps.reduce((a, b) => (b > a ? b : a)),
    uncompressedSize: section.length,
  };
}

/** The header of an encoded batch, for the JSON description. */
export function describeBatch(batch) {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const attributes = view.getUint16(17);
  return {
    baseOffset: view.getBigInt64(0).toString(),
    batchLength: view.getUint32(8),
    magic: view.getUint8(12),
    crc: view.getUint32(13),
    attributes,
    codec: Object.keys(CODECS).find((k) => CODECS[k] === (attributes & 7)) ?? `reserved(${attributes & 7})`,
    recordCount: view.getUint32(19),
    firstTimestamp: view.getBigInt64(23).toString(),
    maxTimestamp: view.getBigInt64(31).toString(),
    producerId: view.getBigInt64(39).toString(),
    producerEpoch: view.getInt16(47),
    baseSequence: view.getInt32(49),
    uncompressedSize: view.getUint32(53),
  };
}
