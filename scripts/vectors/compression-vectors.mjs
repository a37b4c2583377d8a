// compression.json: one decode vector per codec and data shape. Compressed
// bytes are not canonical (PW-COMP-008), so a decoder must turn `hex` into
// `records` (and its records section into `recordsHex`), while an encoder is
// only required to produce something that decodes to the same records.
import { decompress as fzstdDecompress } from "fzstd";
import lz4 from "lz4js";
import { Compressor, Decompressor } from "zstd-napi";
import { crc32c } from "./crc32c.mjs";
import { describeBatch, encodeBatch, encodeRecords, headerFor } from "./batch.mjs";
import { describeRecords } from "./batch-vectors.mjs";
import { compressChecked, liblz4Accepts, lz4jsBlock } from "./codecs.mjs";
import { hex } from "./messages.mjs";
import { ORDER_RECORDS, T0, text } from "./samples.mjs";

const EVENTS = Array.from({ length: 40 }, (_, i) => ({
  timestamp: T0 + BigInt(i * 250),
  typeId: 7,
  key: text(`device-${i % 4}`),
  value: text(JSON.stringify({ device: `device-${i % 4}`, seq: i, temperature: 20 + (i % 5), unit: "celsius", status: "ok" })),
  headers: i % 3 === 0 ? [{ key: "schema", value: text("telemetry.v2") }] : [],
}));

const IDEMPOTENT = EVENTS.slice(0, 5);

function compressedBatch(codec, records, { level, fields = {}, reframe = (packed) => packed } = {}) {
  const section = encodeRecords(records);
  const packed = reframe(compressChecked(codec, section, level), section);
  const batch = encodeBatch({ section: packed, codec, ...headerFor(records, section), ...fields });
  return { section, packed, batch };
}

function vector(name, description, clauses, codec, records, options) {
  const { section, packed, batch } = compressedBatch(codec, records, options);
  // Every client decodes a valid vector, those built on liblz4 included (PW-COMP-013).
  if (codec === "lz4" && !liblz4Accepts(packed, section.length)) throw new Error(`liblz4 refuses the LZ4 block of ${name}`);
  return { name, description, clauses, codec, header: describeBatch(batch), records: describeRecords(records), recordsHex: hex(section), compressedHex: hex(packed), hex: hex(batch) };
}

// Changes header fields of a compressed batch and recomputes its CRC, so the
// compression defect is the only one.
function reheader(batch, edit) {
  const out = batch.slice();
  const view = new DataView(out.buffer);
  edit(view);
  view.setUint32(13, crc32c(out.subarray(17)));
  return out;
}

function aroundSection(codec, packed, uncompressedSize, recordCount = 1) {
  return encodeBatch({ section: packed, codec, recordCount, firstTimestamp: T0, maxTimestamp: T0, uncompressedSize });
}

// The Snappy framing format (stream identifier, then one uncompressed chunk
// with its masked CRC-32C): what PW-COMP-002 rules out.
function snappyFramed(data) {
  const crc = crc32c(data);
  const masked = (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
  const length = 4 + data.length;
  const chunk = new Uint8Array(4 + length);
  const view = new DataView(chunk.buffer);
  chunk.set([0x01, length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff]);
  view.setUint32(4, masked, true);
  chunk.set(data, 8);
  return Uint8Array.from([0xff, 0x06, 0x00, 0x00, ...text("sNaPpY"), ...chunk]);
}

// The zstd frame `packed` re-headed as a streaming encoder set to windowLog
// 31 writes it (zstd-jni's output stream, for one): a Window_Descriptor of
// 2^31 bytes and no content size; the blocks and checksum stay as they are.
function zstdWindowLog31(packed) {
  const descriptor = packed[4];
  const singleSegment = (descriptor >> 5) & 1;
  if ((descriptor & 3) !== 0) throw new Error("a zstd frame with a dictionary id");
  const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6];
  const blocks = packed.subarray(5 + (singleSegment ? 0 : 1) + contentSizeBytes);
  const frame = Uint8Array.from([...packed.subarray(0, 4), descriptor & 4, (31 - 10) << 3, ...blocks]);
  // fzstd cannot hold a 2^31 window: native libzstd, allowed Window_Log 31, checks the result.
  const decoder = new Decompressor();
  decoder.setParameters({ windowLogMax: 31 });
  if (Buffer.compare(decoder.decompress(frame), Buffer.from(fzstdDecompress(packed))) !== 0) throw new Error("re-headed zstd frame decodes differently");
  return frame;
}

// The records section as one zstd frame with a Content_Checksum (PW-COMP-012),
// from native libzstd: zstd-wasm cannot write one.
function zstdWithChecksum(section) {
  const compressor = new Compressor();
  compressor.setParameters({ checksumFlag: true });
  const frame = new Uint8Array(compressor.compress(section));
  if (Buffer.compare(new Decompressor().decompress(frame), Buffer.from(section)) !== 0) throw new Error("checksummed zstd frame does not round-trip");
  return frame;
}

// One record whose value repeats, as an LZ4 block whose first match has its
// offset set to 0 (PW-COMP-011). Whatever a lenient decoder copies there
// (liblz4: zeros; lz4_flex < 0.11.6: stale memory), it lands inside the
// value, so the section still parses as a valid record: only the offset
// check rejects the batch.
function lz4OffsetZeroBatch() {
  const records = [{ timestamp: T0, typeId: 0, key: text("license"), value: text("GNU LIBRARY GENERAL PUBLIC LICENSE ".repeat(3)), headers: [] }];
  const section = encodeRecords(records);
  const packed = compressChecked("lz4", section);
  // The first sequence: a token, its literal length bytes, the literals, then the offset.
  let at = 1;
  if (packed[0] >> 4 === 15) while (packed[at++] === 255);
  at += (packed[0] >> 4 === 15 ? 15 + packed.subarray(1, at).reduce((a, b) => a + b, 0) : packed[0] >> 4);
  const offset = packed[at] | (packed[at + 1] << 8);
  if (at + 2 > packed.length || offset === 0 || offset > at) throw new Error("no first match to zero in the LZ4 block");
  packed[at] = 0;
  packed[at + 1] = 0;
  return encodeBatch({ section: packed, codec: "lz4", ...headerFor(records, section) });
}

// The records of orders-lz4 as lz4js writes them: its last match starts 11
// bytes before the end of the output, which the LZ4 block format forbids
// (PW-COMP-013). lz4js decodes it back; liblz4 must refuse it, or the vector
// would test nothing.
function lz4EndOfBlockBatch() {
  const section = encodeRecords(ORDER_RECORDS);
  const packed = lz4jsBlock(section);
  const back = new Uint8Array(section.length);
  if (lz4.decompressBlock(packed, back, 0, packed.length, 0) !== section.length || Buffer.compare(back, section) !== 0) throw new Error("lz4js does not decode its own block");
  if (liblz4Accepts(packed, section.length)) throw new Error("liblz4 accepts lz4js's block of the orders: lz4-end-of-block would not break PW-COMP-013");
  return encodeBatch({ section: packed, codec: "lz4", ...headerFor(ORDER_RECORDS, section) });
}

function invalid(name, description, clauses, error, bytes, extra = {}) {
  return { name, description, clauses, error, ...extra, hex: hex(bytes) };
}

export function compressionVectors() {
  const valid = [];
  for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
    const clause = { gzip: "PW-COMP-001", snappy: "PW-COMP-002", lz4: "PW-COMP-003", zstd: "PW-COMP-004" }[codec];
    valid.push(vector(`orders-${codec}`, `The records of batches.json orders-uncompressed, ${codec}-compressed.`, [clause, "PW-COMP-005", "PW-COMP-008"], codec, ORDER_RECORDS));
    valid.push(vector(`telemetry-${codec}`, `40 repetitive JSON telemetry records with type id 7, ${codec}-compressed.`, [clause, "PW-COMP-005", "PW-COMP-008"], codec, EVENTS));
  }
  valid.push(vector("telemetry-gzip-level-1", "gzip at level 1: a decoder must accept any level.", ["PW-COMP-001"], "gzip", EVENTS, { level: 1 }));
  valid.push(vector("telemetry-gzip-level-9", "gzip at level 9.", ["PW-COMP-001"], "gzip", EVENTS, { level: 9 }));
  valid.push(vector("telemetry-zstd-level-19", "zstd at level 19.", ["PW-COMP-004"], "zstd", EVENTS, { level: 19 }));
  valid.push(vector("telemetry-zstd-window-log-31", "zstd with the header a streaming encoder set to windowLog 31 writes: Window_Descriptor 0xa8 (a 2 GiB window) and no content size. A decoder must accept it without allocating for the window.", ["PW-COMP-004", "PW-COMP-010"], "zstd", EVENTS, { reframe: zstdWindowLog31 }));
  valid.push(vector("telemetry-zstd-checksum", "zstd with a Content_Checksum, which a decoder must verify.", ["PW-COMP-004", "PW-COMP-012"], "zstd", EVENTS, { reframe: (_, section) => zstdWithChecksum(section) }));
  valid.push(vector("idempotent-lz4", "An idempotent producer's lz4 batch: the CRC covers the compressed bytes.", ["PW-COMP-003", "PW-BATCH-003", "PW-BATCH-009"], "lz4", IDEMPOTENT, { fields: { producerId: 4242n, producerEpoch: 3, baseSequence: 20 } }));

  const gz = compressedBatch("gzip", EVENTS);
  const lz = compressedBatch("lz4", EVENTS);
  const zs = compressedBatch("zstd", EVENTS);
  const sn = compressedBatch("snappy", EVENTS);
  const zsSummed = compressedBatch("zstd", EVENTS, { reframe: (_, section) => zstdWithChecksum(section) });
  const badSum = zsSummed.packed.slice();
  badSum[badSum.length - 1] ^= 0xff;
  const lz4Frame = new Uint8Array(lz4.compress(gz.section));
  const snappyBadOffset = Uint8Array.of(0x08, 0x04, 0x61, 0x62, 0x09, 0x10);
  return {
    description:
      "Compressed record batch vectors (spec §5.3). These are decode vectors: compressed bytes are not canonical (PW-COMP-008), so a decoder must turn `hex` into `header`, `records` and the uncompressed records section `recordsHex`; an encoder must produce a batch that decodes to the same records, not the same bytes. Invalid batches must be rejected with `error`; `maxUncompressedBatchSize`, when given, is the decoder's limit; `refusedBy: \"broker\"` marks a batch a broker must refuse on produce while a client's decoder may decode it (PW-COMP-014).",
    valid,
    invalid: [
      invalid("gzip-longer-than-declared", "gzip output one byte longer than uncompressed_size.", ["PW-COMP-005"], "ERROR_CODE_CORRUPT_BATCH", reheader(gz.batch, (v) => v.setUint32(53, gz.section.length - 1))),
      invalid("lz4-shorter-than-declared", "lz4 output one byte shorter than uncompressed_size.", ["PW-COMP-005"], "ERROR_CODE_CORRUPT_BATCH", reheader(lz.batch, (v) => v.setUint32(53, lz.section.length + 1))),
      invalid("zstd-truncated", "The zstd frame with its last 4 bytes cut (batch length adjusted).", ["PW-COMP-004", "PW-COMP-005"], "ERROR_CODE_CORRUPT_BATCH", aroundSection("zstd", zs.packed.subarray(0, zs.packed.length - 4), zs.section.length, EVENTS.length)),
      invalid("snappy-bad-copy-offset", "A Snappy raw block whose copy refers 16 bytes back after only 2 bytes of output.", ["PW-COMP-002", "PW-COMP-005"], "ERROR_CODE_CORRUPT_BATCH", aroundSection("snappy", snappyBadOffset, 8)),
      invalid("snappy-framing-format", "The records in the Snappy framing format (stream identifier chunk first): not a raw block.", ["PW-COMP-002"], "ERROR_CODE_CORRUPT_BATCH", aroundSection("snappy", snappyFramed(sn.section), sn.section.length, EVENTS.length)),
      invalid("lz4-frame-format", "The records in the LZ4 frame format (magic 04 22 4d 18): not a block.", ["PW-COMP-003"], "ERROR_CODE_CORRUPT_BATCH", aroundSection("lz4", lz4Frame, gz.section.length, EVENTS.length)),
      invalid("zstd-checksum-mismatch", "The checksummed zstd frame of telemetry-zstd-checksum with the last byte of its Content_Checksum changed: the content decodes, the checksum does not match.", ["PW-COMP-012"], "ERROR_CODE_CORRUPT_BATCH", aroundSection("zstd", badSum, zsSummed.section.length, EVENTS.length)),
      invalid("lz4-match-offset-zero", "One record whose value repeats, LZ4-compressed, with the offset of the first match set to 0, CRC correct. Decoded leniently (liblz4 copies zeros there) it still parses as one valid record; a conforming decoder rejects it.", ["PW-COMP-011", "PW-COMP-003"], "ERROR_CODE_CORRUPT_BATCH", lz4OffsetZeroBatch()),
      invalid("lz4-end-of-block", "The records of orders-lz4 in an LZ4 block whose last match starts 11 bytes before the end of the output (as lz4js writes it): it breaks the end-of-block rules. It decodes, but liblz4, the decoder of the C, Python and Java clients, refuses it, so a broker must refuse it on produce; a client's decoder may decode it.", ["PW-COMP-014", "PW-COMP-013", "PW-COMP-003"], "ERROR_CODE_CORRUPT_BATCH", lz4EndOfBlockBatch(), { refusedBy: "broker" }),
      invalid("gzip-not-gzip", "Codec gzip over an uncompressed records section.", ["PW-COMP-001"], "ERROR_CODE_CORRUPT_BATCH", aroundSection("gzip", gz.section, gz.section.length, EVENTS.length)),
      invalid("decompression-limit", "A valid zstd batch whose uncompressed_size exceeds the decoder's limit of 1,024 bytes: rejected before decompressing.", ["PW-COMP-006"], "ERROR_CODE_DECOMPRESSION_LIMIT", zs.batch, { maxUncompressedBatchSize: 1024 }),
    ],
  };
}
