// batches.json: codec-none record batches, which are canonical (PW-COMP-008),
// so they are encode and decode vectors; batches a conforming producer would
// not write but every receiver must accept (decode vectors only); and invalid
// batches, each with one defect and the ErrorCode a receiver must report.
import { crc32c } from "./crc32c.mjs";
import { HEADER_LENGTH, describeBatch, encodeBatch, encodeRecord, encodeRecords, headerFor } from "./batch.mjs";
import { hex } from "./messages.mjs";
import { ORDER_RECORDS, T0, text } from "./samples.mjs";
import { varint } from "./varint.mjs";

/** Records as the JSON description shows them: bytes as hex, null as null; deltas from `first` (the batch's first_timestamp). */
export function describeRecords(records, first = BigInt(records[0].timestamp)) {
  const h = (b) => (b === null ? null : hex(b));
  return records.map((r, i) => ({
    offsetDelta: i,
    timestamp: BigInt(r.timestamp).toString(),
    timestampDelta: (BigInt(r.timestamp) - first).toString(),
    typeId: String(r.typeId ?? 0),
    key: h(r.key),
    value: h(r.value),
    headers: (r.headers ?? []).map((x) => ({ key: x.key, value: h(x.value) })),
  }));
}

function batchVector(name, description, clauses, records, fields = {}) {
  const section = encodeRecords(records);
  const batch = encodeBatch({ section, ...headerFor(records, section), ...fields });
  return { name, description, clauses, header: describeBatch(batch), records: describeRecords(records), recordsHex: hex(section), hex: hex(batch) };
}

/**
 * A batch whose first_timestamp is `firstTimestamp` rather than its first
 * record's timestamp: a producer must not write it (PW-BATCH-016), a receiver
 * must accept it and read each timestamp as first_timestamp + delta.
 */
function acceptedVector(name, description, clauses, records, firstTimestamp) {
  const section = Uint8Array.from(records.flatMap((r, i) => [...encodeRecord(r, i, firstTimestamp)]));
  const batch = encodeBatch({ section, ...headerFor(records, section), firstTimestamp });
  return { name, description, clauses, header: describeBatch(batch), records: describeRecords(records, firstTimestamp), recordsHex: hex(section), hex: hex(batch) };
}

const NULLS = [
  { timestamp: T0, key: null, value: new Uint8Array(0) },
  { timestamp: T0, key: new Uint8Array(0), value: null },
  { timestamp: T0, key: null, value: null },
  { timestamp: T0, key: text("k"), value: text("v") },
];

const HEADERS = [
  {
    timestamp: T0,
    key: text("user-9"),
    value: text("login"),
    headers: [
      { key: "tag", value: text("a") },
      { key: "tag", value: text("b") },
      { key: "null-value", value: null },
      { key: "empty-value", value: new Uint8Array(0) },
      { key: "", value: text("empty key") },
      { key: "ключ", value: text("non-ASCII key") },
      { key: "Tag", value: text("keys are case-sensitive") },
    ],
  },
  { timestamp: T0 + 1n, key: text("user-9"), value: text("logout"), headers: [] },
];

const TYPE_IDS = [0n, 1n, 63n, 64n, 300n, 1n << 40n, (1n << 53n) - 1n].map((typeId, i) => ({ timestamp: T0 + BigInt(i), typeId, key: null, value: text(`t${typeId}`) }));

const TIMESTAMPS = [
  { timestamp: T0, key: null, value: text("first") },
  { timestamp: T0 - 1500n, key: null, value: text("1.5 s earlier") },
  { timestamp: T0 + 20n, key: null, value: text("the newest") },
  { timestamp: T0 - 86400000n, key: null, value: text("a day earlier") },
];

const PRE_EPOCH = [
  { timestamp: -1000n, key: text("old"), value: text("1969-12-31T23:59:59Z") },
  { timestamp: -1n, key: text("old"), value: text("1969-12-31T23:59:59.999Z") },
];

const IDEMPOTENT = [0, 1, 2].map((i) => ({ timestamp: T0 + BigInt(i), key: text(`acct-${i}`), value: text(`debit ${10 * (i + 1)}`) }));

const LARGE = [{ timestamp: T0, key: text("blob"), value: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), headers: [{ key: "content-type", value: text("application/octet-stream") }] }];

/** A valid batch with one field then changed; the CRC is recomputed unless `keepCrc`. */
function mutated(records, fields, mutate, { keepCrc = false } = {}) {
  const section = encodeRecords(records);
  const batch = encodeBatch({ section, ...headerFor(records, section), ...fields });
  const out = mutate(batch) ?? batch;
  if (!keepCrc && out.length >= HEADER_LENGTH) new DataView(out.buffer, out.byteOffset).setUint32(13, crc32c(out.subarray(17)));
  return out;
}

/** A batch around a hand-built records section (for record-level defects). */
function withSection(section, recordCount, fields = {}) {
  return encodeBatch({ section, recordCount, firstTimestamp: T0, maxTimestamp: T0, uncompressedSize: section.length, ...fields });
}

// One record with `fields` written raw: the building block for records that
// break a rule which encodeRecord would never break.
function rawRecord(parts) {
  const body = parts.flat();
  return [...varint(body.length), ...body];
}

const ONE = [{ timestamp: T0, key: text("k"), value: text("v") }];
const simpleFields = (over = {}) => ({ attributes: 0, tsDelta: varint(0), offsetDelta: varint(0), typeId: varint(0), key: [...varint(1), 0x6b], value: [...varint(1), 0x76], headers: varint(0), ...over });
const recordOf = (f) => rawRecord([f.attributes, f.tsDelta, f.offsetDelta, f.typeId, f.key, f.value, f.headers]);

function invalid(name, description, clauses, error, bytes, extra = {}) {
  return { name, description, clauses, error, ...extra, hex: hex(bytes) };
}

export function batchVectors() {
  const orders = encodeRecords(ORDER_RECORDS);
  const twoRecords = [...encodeRecord(ORDER_RECORDS[0], 0, T0), ...encodeRecord(ORDER_RECORDS[1], 1, T0)];
  return {
    description:
      "Record batch vectors (spec §5), codec none. Valid batches are canonical: decoding `hex` must give `header` and `records`, and encoding those must give `hex` byte for byte. Accepted batches are not what a conforming producer writes (their first_timestamp is not the first record's timestamp, PW-BATCH-016), but every receiver must accept them: decoding `hex` must give `header` and `records`, each record's `timestamp` being first_timestamp + `timestampDelta`. Keys, values and header values are hex strings, or null for a null (length -1) field; integers that may exceed 2^53 are decimal strings. Invalid batches must be rejected, as a ProduceRequest payload, with `error`.",
    valid: [
      batchVector("orders-uncompressed", "Two keyed JSON records with a header: the payload of the frame vectors in log.json.", ["PW-BATCH-001", "PW-BATCH-003", "PW-BATCH-010"], ORDER_RECORDS),
      batchVector("null-and-empty", "Null key with empty value, empty key with null value, both null, both set: null (-1) and empty (0) stay distinct.", ["PW-BATCH-013"], NULLS),
      batchVector("headers", "Repeated header keys, a null and an empty header value, an empty key, a non-ASCII key, case-distinct keys; then a record with no headers.", ["PW-BATCH-012", "PW-BATCH-013"], HEADERS),
      batchVector("type-ids", "Type ids 0, 1, 63, 64 (first two-byte zigzag varint), 300, 2^40 and 2^63-1 (ten-byte varint).", ["PW-BATCH-014"], TYPE_IDS),
      batchVector("negative-timestamp-deltas", "Records older than the first: negative deltas; max_timestamp is the largest, not the last.", ["PW-BATCH-008"], TIMESTAMPS),
      batchVector("pre-epoch-timestamps", "Negative Unix timestamps.", ["PW-BATCH-008"], PRE_EPOCH),
      batchVector("idempotent", "An idempotent producer's batch: producer id 4242, epoch 3, base sequence 17.", ["PW-BATCH-009", "PW-IDEM-002"], IDEMPOTENT, { producerId: 4242n, producerEpoch: 3, baseSequence: 17 }),
      batchVector("idempotent-sequence-max", "Base sequence 2^31-1: the next batch wraps to 0.", ["PW-BATCH-009", "PW-IDEM-002"], ONE, { producerId: 1n, producerEpoch: 0, baseSequence: 0x7fffffff }),
      batchVector("stored-base-offset", "orders-uncompressed as the broker stores and serves it at offset 1200: only base_offset differs, the CRC is the same.", ["PW-BATCH-003", "PW-BATCH-004", "PW-LOG-011"], ORDER_RECORDS, { baseOffset: 1200n }),
      batchVector("large-value", "A 300-byte value: two-byte length varints for the value and the record.", ["PW-BATCH-011"], LARGE),
    ],
    accepted: [
      acceptedVector("first-timestamp-before-first-record", "first_timestamp 1 s before the first record (its timestamp_delta is 1000); the second record is 2 s older than the first.", ["PW-BATCH-016", "PW-BATCH-008"], [
        { timestamp: T0, key: null, value: text("first") },
        { timestamp: T0 - 2000n, key: null, value: text("2 s earlier") },
      ], T0 - 1000n),
      acceptedVector("first-timestamp-after-every-record", "first_timestamp one minute after the only record (its timestamp_delta is -60000): max_timestamp is the record's, below first_timestamp.", ["PW-BATCH-016", "PW-BATCH-008"], [
        { timestamp: T0, key: text("k"), value: text("v") },
      ], T0 + 60000n),
    ],
    invalid: [
      invalid("crc-mismatch", "The CRC's last bit flipped.", ["PW-BATCH-003"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, {}, (b) => void (b[16] ^= 1), { keepCrc: true })),
      invalid("crc-over-records-mismatch", "One value byte changed after the CRC was computed.", ["PW-BATCH-003"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, {}, (b) => void (b[b.length - 20] ^= 0x20), { keepCrc: true })),
      invalid("magic-2", "magic 2.", ["PW-BATCH-002"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { magic: 2 }, () => undefined)),
      invalid("magic-0", "magic 0.", ["PW-BATCH-002"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { magic: 0 }, () => undefined)),
      invalid("batch-length-below-minimum", "batch_length 44, and exactly 56 bytes: shorter than the fixed header.", ["PW-BATCH-001"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { batchLength: 44 }, (b) => b.slice(0, 56), { keepCrc: true })),
      invalid("batch-length-past-end", "batch_length 10 bytes more than the bytes present (a truncated batch).", ["PW-BATCH-001"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, {}, (b) => void new DataView(b.buffer).setUint32(8, b.length - 2), { keepCrc: true })),
      invalid("trailing-bytes", "Three zero bytes after the batch in the produce payload: the declared length disagrees with the bytes available.", ["PW-BATCH-001", "PW-LOG-001"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, {}, (b) => Uint8Array.from([...b, 0, 0, 0]), { keepCrc: true })),
      invalid("reserved-attribute-bit", "Attribute bit 3 set.", ["PW-BATCH-005"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { attributes: 0x0008 }, () => undefined)),
      invalid("reserved-attribute-bit-15", "Attribute bit 15 set.", ["PW-BATCH-005"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { attributes: 0x8000 }, () => undefined)),
      invalid("codec-5", "Codec 5 (reserved), records uncompressed.", ["PW-BATCH-005"], "ERROR_CODE_UNSUPPORTED_CODEC", mutated(ORDER_RECORDS, { attributes: 5 }, () => undefined)),
      invalid("codec-7", "Codec 7 (reserved).", ["PW-BATCH-005"], "ERROR_CODE_UNSUPPORTED_CODEC", mutated(ORDER_RECORDS, { attributes: 7 }, () => undefined)),
      invalid("record-count-zero", "record_count 0 with an empty records section.", ["PW-BATCH-006"], "ERROR_CODE_CORRUPT_BATCH", withSection(new Uint8Array(0), 0)),
      invalid("record-count-too-high", "record_count 3, two records.", ["PW-BATCH-006"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { recordCount: 3 }, () => undefined)),
      invalid("record-count-too-low", "record_count 1, two records: bytes are left after the counted records.", ["PW-BATCH-006"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { recordCount: 1 }, () => undefined)),
      invalid("uncompressed-size-mismatch", "Codec none with uncompressed_size one more than the records section.", ["PW-BATCH-007"], "ERROR_CODE_CORRUPT_BATCH", mutated(ORDER_RECORDS, { uncompressedSize: orders.length + 1 }, () => undefined)),
      invalid("max-timestamp-wrong", "max_timestamp one more than the largest record timestamp.", ["PW-BATCH-008", "PW-BATCH-015"], "ERROR_CODE_CORRUPT_BATCH", mutated(TIMESTAMPS, { maxTimestamp: T0 + 21n }, () => undefined)),
      invalid("producer-fields-mixed", "producer_id 4242 with epoch -1 and sequence -1.", ["PW-BATCH-009"], "ERROR_CODE_CORRUPT_BATCH", mutated(ONE, { producerId: 4242n }, () => undefined)),
      invalid("producer-sequence-negative", "producer_id 4242, epoch 0, base_sequence -5.", ["PW-BATCH-009"], "ERROR_CODE_CORRUPT_BATCH", mutated(ONE, { producerId: 4242n, producerEpoch: 0, baseSequence: -5 }, () => undefined)),
      invalid("offset-delta-gap", "The second record has offset_delta 5.", ["PW-BATCH-010", "PW-BATCH-015"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from([...recordOf(simpleFields()), ...recordOf(simpleFields({ offsetDelta: varint(5) }))]), 2)),
      invalid("record-attributes-nonzero", "Record attributes 1.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ attributes: 1 }))), 1)),
      invalid("record-length-too-short", "The record's length is one less than its fields occupy.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from((() => { const r = recordOf(simpleFields()); r[0] -= 2; return r; })()), 1)),
      invalid("record-length-past-section", "The only record's length runs one byte past the records section.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from((() => { const r = recordOf(simpleFields()); r[0] += 2; return r; })()), 1)),
      invalid("varint-eleven-bytes", "timestamp_delta written as an 11-byte varint.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ tsDelta: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00] }))), 1)),
      invalid("key-length-minus-2", "key_length -2.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ key: varint(-2) }))), 1)),
      invalid("value-length-past-record", "value_length 100 in a record with 1 byte left.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ value: [...varint(100), 0x76] }))), 1)),
      invalid("header-key-null", "A header key_length of -1: header keys are never null.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ headers: [...varint(1), ...varint(-1), ...varint(1), 0x31] }))), 1)),
      invalid("header-key-invalid-utf8", "A header key of bytes ff fe.", ["PW-BATCH-012", "PW-BATCH-015"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ headers: [...varint(1), ...varint(2), 0xff, 0xfe, ...varint(1), 0x31] }))), 1)),
      invalid("negative-type-id", "type_id -1.", ["PW-BATCH-014", "PW-BATCH-015"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ typeId: varint(-1) }))), 1)),
      invalid("type-id-above-2-53", "type_id 2^53, one above the largest allowed.", ["PW-BATCH-014", "PW-BATCH-015"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(recordOf(simpleFields({ typeId: varint(1n << 53n) }))), 1)),
      invalid("records-section-ends-mid-record", "The second record cut after 3 bytes; record_count and sizes agree with the bytes present.", ["PW-BATCH-011"], "ERROR_CODE_CORRUPT_BATCH", withSection(Uint8Array.from(twoRecords.slice(0, encodeRecord(ORDER_RECORDS[0], 0, T0).length + 3)), 2)),
    ],
  };
}
