import { crc32c } from "../wire/crc32c.js";
import { CODEC_NAMES, compressSection, decompressSection, type CodecName } from "./compress.js";

/** Bytes of the fixed batch header (§5.1). */
export const BATCH_HEADER_SIZE = 57;

/** A record header; a null value stays null (PW-BATCH-013). */
export interface TestHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** A record, as the suite writes and compares it. */
export interface TestRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly TestHeader[];
  readonly typeId: bigint;
  /** Unix ms. */
  readonly timestamp: bigint;
}

/** A decoded record with its offset. */
export interface StoredRecord extends TestRecord {
  readonly offset: bigint;
}

/** The fixed header fields. */
export interface BatchHeader {
  readonly baseOffset: bigint;
  readonly batchLength: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly codec: CodecName;
  readonly recordCount: number;
  readonly firstTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly uncompressedSize: number;
}

/** Producer fields and codec of a batch to encode. */
export interface EncodeOptions {
  readonly codec?: CodecName;
  readonly producerId?: bigint;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  /** PW-BATCH-004: producers send 0; cases set others to check the broker overwrites it. */
  readonly baseOffset?: bigint;
}

/** Why a batch is invalid, with the clause it breaks and the error code a broker must answer. */
export class BatchError extends Error {
  override readonly name = "BatchError";
  constructor(
    readonly clause: string,
    message: string,
    readonly code: "CORRUPT_BATCH" | "UNSUPPORTED_CODEC" = "CORRUPT_BATCH",
  ) {
    super(`${clause}: ${message}`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function zigzag(value: bigint): bigint {
  return value >= 0n ? value << 1n : ((-value) << 1n) - 1n;
}

/** A growable byte buffer: records sections run to many megabytes (limit cases). */
class Writer {
  bytes = new Uint8Array(256);
  length = 0;

  #ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  byte(b: number): void {
    this.#ensure(1);
    this.bytes[this.length++] = b;
  }

  varint(value: bigint): void {
    let v = zigzag(value);
    this.#ensure(10);
    while (v >= 0x80n) {
      this.bytes[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.bytes[this.length++] = Number(v);
  }

  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  bytesOrNull(bytes: Uint8Array | null): void {
    if (bytes === null) {
      this.varint(-1n);
      return;
    }
    this.varint(BigInt(bytes.length));
    this.raw(bytes);
  }

  done(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** Encodes the uncompressed records section. */
export function encodeRecords(records: readonly TestRecord[], firstTimestamp: bigint): Uint8Array {
  const out = new Writer();
  records.forEach((r, i) => {
    const body = new Writer();
    body.byte(0);
    body.varint(r.timestamp - firstTimestamp);
    body.varint(BigInt(i));
    body.varint(r.typeId);
    body.bytesOrNull(r.key);
    body.bytesOrNull(r.value);
    body.varint(BigInt(r.headers.length));
    for (const h of r.headers) {
      body.bytesOrNull(encoder.encode(h.key));
      body.bytesOrNull(h.value);
    }
    out.varint(BigInt(body.length));
    out.raw(body.done());
  });
  return out.done();
}

/** Encodes one record batch (§5) with the suite's own encoder. */
export function encodeBatch(records: readonly TestRecord[], options: EncodeOptions = {}): Uint8Array {
  if (records.length === 0) throw new RangeError("a batch holds at least one record (PW-BATCH-006)");
  const firstTimestamp = (records[0] as TestRecord).timestamp;
  const maxTimestamp = records.reduce((m, r) => (r.timestamp > m ? r.timestamp : m), firstTimestamp);
  const section = encodeRecords(records, firstTimestamp);
  const codec = options.codec ?? "none";
  const stored = compressSection(codec, section);
  const bytes = new Uint8Array(BATCH_HEADER_SIZE + stored.length);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, options.baseOffset ?? 0n);
  view.setUint32(8, bytes.length - 12);
  view.setUint8(12, 1);
  view.setUint16(17, CODEC_NAMES.indexOf(codec));
  view.setUint32(19, records.length);
  view.setBigInt64(23, firstTimestamp);
  view.setBigInt64(31, maxTimestamp);
  view.setBigInt64(39, options.producerId ?? -1n);
  view.setInt16(47, options.producerEpoch ?? -1);
  view.setInt32(49, options.baseSequence ?? -1);
  view.setUint32(53, section.length);
  bytes.set(stored, BATCH_HEADER_SIZE);
  view.setUint32(13, crc32c(bytes.subarray(17)));
  return bytes;
}

/** Rewrites the CRC after a case altered bytes from offset 17 on. */
export function resealBatch(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset, batch.byteLength).setUint32(13, crc32c(batch.subarray(17)));
  return batch;
}

/** Reads the fixed header (the batch must hold at least 57 bytes). */
export function readHeader(batch: Uint8Array): BatchHeader {
  if (batch.length < BATCH_HEADER_SIZE) throw new BatchError("PW-BATCH-001", `a batch has at least 57 bytes, got ${batch.length}`);
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const attributes = view.getUint16(17);
  return {
    baseOffset: view.getBigInt64(0),
    batchLength: view.getUint32(8),
    magic: view.getUint8(12),
    crc: view.getUint32(13),
    attributes,
    codec: CODEC_NAMES[attributes & 7] ?? "none",
    recordCount: view.getUint32(19),
    firstTimestamp: view.getBigInt64(23),
    maxTimestamp: view.getBigInt64(31),
    producerId: view.getBigInt64(39),
    producerEpoch: view.getInt16(47),
    baseSequence: view.getInt32(49),
    uncompressedSize: view.getUint32(53),
  };
}

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly end: number) {}

  varint(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new BatchError("PW-BATCH-011", "a varint runs past the end of its record");
      const b = this.bytes[this.pos++] as number;
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return (result & 1n) === 0n ? result >> 1n : -((result + 1n) >> 1n);
    }
    throw new BatchError("PW-BATCH-011", "a varint is longer than 10 bytes");
  }

  bytesOrNull(what: string): Uint8Array | null {
    const length = this.varint();
    if (length === -1n) return null;
    if (length < -1n) throw new BatchError("PW-BATCH-011", `${what} length ${length} is below -1`);
    if (BigInt(this.pos) + length > BigInt(this.end)) throw new BatchError("PW-BATCH-011", `${what} of ${length} bytes runs past the end of its record`);
    const out = this.bytes.slice(this.pos, this.pos + Number(length));
    this.pos += Number(length);
    return out;
  }
}

/**
 * Decodes and validates one batch against every rule of §5 (lengths, magic,
 * CRC, attributes, counts, sizes, timestamps, producer fields, records,
 * compression). Throws a {@link BatchError} naming the broken clause.
 */
export function decodeBatch(batch: Uint8Array): { header: BatchHeader; records: StoredRecord[] } {
  const header = readHeader(batch);
  if (header.batchLength < 45 || 12 + header.batchLength !== batch.length) {
    throw new BatchError("PW-BATCH-001", `batch_length ${header.batchLength} disagrees with the ${batch.length} bytes of the batch`);
  }
  if (header.magic !== 1) throw new BatchError("PW-BATCH-002", `magic is ${header.magic}`);
  const crc = crc32c(batch.subarray(17));
  if (crc !== header.crc) throw new BatchError("PW-BATCH-003", `crc is 0x${header.crc.toString(16)}, the bytes give 0x${crc.toString(16)}`);
  if ((header.attributes & ~7) !== 0) throw new BatchError("PW-BATCH-005", `reserved attribute bits set: 0x${header.attributes.toString(16)}`);
  if ((header.attributes & 7) > 4) throw new BatchError("PW-BATCH-005", `codec ${header.attributes & 7} is reserved`, "UNSUPPORTED_CODEC");
  const idempotent = header.producerId !== -1n || header.producerEpoch !== -1 || header.baseSequence !== -1;
  if (idempotent && (header.producerId < 0n || header.producerEpoch < 0 || header.baseSequence < 0)) {
    throw new BatchError("PW-BATCH-009", `producer fields ${header.producerId}/${header.producerEpoch}/${header.baseSequence} mix -1 and ids`);
  }
  if (header.recordCount < 1) throw new BatchError("PW-BATCH-006", "record_count is 0");
  const stored = batch.subarray(BATCH_HEADER_SIZE);
  if (header.codec === "none" && stored.length !== header.uncompressedSize) {
    throw new BatchError("PW-BATCH-007", `uncompressed_size ${header.uncompressedSize} but the section holds ${stored.length} bytes`);
  }
  let section: Uint8Array;
  try {
    section = decompressSection(header.codec, stored, header.uncompressedSize);
  } catch (error) {
    throw new BatchError("PW-COMP-005", `the ${header.codec} section does not decompress to exactly ${header.uncompressedSize} bytes: ${(error as Error).message}`);
  }
  const records: StoredRecord[] = [];
  const reader = new Reader(section, section.length);
  // The largest record timestamp; first_timestamp is not a record's (PW-BATCH-016), so it does not count.
  let maxTimestamp: bigint | undefined;
  while (reader.pos < section.length) {
    const length = reader.varint();
    const start = reader.pos;
    if (length < 0n || BigInt(start) + length > BigInt(section.length)) throw new BatchError("PW-BATCH-011", `record length ${length} runs past the records section`);
    const record = new Reader(section, start + Number(length));
    record.pos = start;
    const attributes = section[record.pos++];
    if (attributes !== 0) throw new BatchError("PW-BATCH-011", `record attributes are ${attributes}`);
    const timestamp = header.firstTimestamp + record.varint();
    const offsetDelta = record.varint();
    if (offsetDelta !== BigInt(records.length)) throw new BatchError("PW-BATCH-010", `record ${records.length} has offset_delta ${offsetDelta}`);
    const typeId = record.varint();
    if (typeId < 0n || typeId > 2n ** 53n - 1n) throw new BatchError("PW-BATCH-014", `type_id ${typeId} is outside 0 .. 2^53-1`);
    const key = record.bytesOrNull("key");
    const value = record.bytesOrNull("value");
    const count = record.varint();
    if (count < 0n) throw new BatchError("PW-BATCH-011", `header_count ${count} is negative`);
    const headers: TestHeader[] = [];
    for (let i = 0n; i < count; i++) {
      const keyBytes = record.bytesOrNull("header key");
      if (keyBytes === null) throw new BatchError("PW-BATCH-011", "a header key is null");
      let headerKey: string;
      try {
        headerKey = utf8.decode(keyBytes);
      } catch {
        throw new BatchError("PW-BATCH-012", "a header key is not valid UTF-8");
      }
      headers.push({ key: headerKey, value: record.bytesOrNull("header value") });
    }
    if (record.pos !== record.end) throw new BatchError("PW-BATCH-011", `record ${records.length} has ${record.end - record.pos} bytes its length counts but its fields do not use`);
    reader.pos = record.end;
    if (maxTimestamp === undefined || timestamp > maxTimestamp) maxTimestamp = timestamp;
    records.push({ offset: header.baseOffset + BigInt(records.length), key, value, headers, typeId, timestamp });
  }
  if (records.length !== header.recordCount) throw new BatchError("PW-BATCH-006", `record_count ${header.recordCount} but the section holds ${records.length} records`);
  if (maxTimestamp !== header.maxTimestamp) throw new BatchError("PW-BATCH-008", `max_timestamp ${header.maxTimestamp} but the largest record timestamp is ${maxTimestamp}`);
  return { header, records };
}

/**
 * Splits a fetch section into whole batches; throws when the bytes do not
 * end on a batch boundary (PW-LOG-011: sections hold whole batches).
 */
export function splitSection(section: Uint8Array): Uint8Array[] {
  const batches: Uint8Array[] = [];
  let pos = 0;
  while (pos < section.length) {
    if (section.length - pos < 12) throw new BatchError("PW-LOG-011", `${section.length - pos} bytes at the end of a fetch section are not a whole batch`);
    const length = new DataView(section.buffer, section.byteOffset + pos).getUint32(8);
    if (pos + 12 + length > section.length) throw new BatchError("PW-LOG-011", `the batch at byte ${pos} of a fetch section is cut short`);
    batches.push(section.subarray(pos, pos + 12 + length));
    pos += 12 + length;
  }
  return batches;
}

/** A record from text, for readable cases. */
export function textRecord(value: string, options: { key?: string | null; timestamp?: bigint; headers?: TestHeader[]; typeId?: bigint } = {}): TestRecord {
  return {
    key: options.key === undefined || options.key === null ? null : encoder.encode(options.key),
    value: encoder.encode(value),
    headers: options.headers ?? [],
    typeId: options.typeId ?? 0n,
    timestamp: options.timestamp ?? BigInt(Date.now()),
  };
}

/** Compares two records field by field (offset aside); returns the first difference or undefined. */
export function recordDifference(actual: TestRecord, expected: TestRecord): string | undefined {
  const bytes = (a: Uint8Array | null, b: Uint8Array | null): boolean => (a === null || b === null ? a === b : Buffer.from(a).equals(Buffer.from(b)));
  if (!bytes(actual.key, expected.key)) return "key";
  if (!bytes(actual.value, expected.value)) return "value";
  if (actual.typeId !== expected.typeId) return "type id";
  if (actual.timestamp !== expected.timestamp) return "timestamp";
  if (actual.headers.length !== expected.headers.length) return "header count";
  for (let i = 0; i < actual.headers.length; i++) {
    const a = actual.headers[i] as TestHeader;
    const b = expected.headers[i] as TestHeader;
    if (a.key !== b.key || !bytes(a.value, b.value)) return `header ${i}`;
  }
  return undefined;
}
