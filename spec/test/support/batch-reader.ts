// Reads one record batch the way spec §5 says a receiver must, with every
// check of PW-BATCH-001 to PW-BATCH-014 and PW-COMP-005/006. Snappy and LZ4
// are decoded by strict decoders of this folder, gzip by node:zlib and zstd by
// fzstd: none of it shares code with the generator in scripts/vectors.
import { gunzipSync } from "node:zlib";
import { decompress as fzstdDecompress } from "fzstd";
import { Decompressor } from "zstd-napi";
import { crc32c } from "./crc32c.js";
import { lz4BlockDecode } from "./lz4-block.js";
import { snappyRawDecode } from "./snappy-raw.js";
import { WireError } from "./wire-error.js";

export interface RecordView {
  offsetDelta: number;
  timestamp: string;
  timestampDelta: string;
  typeId: string;
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

export interface BatchView {
  header: {
    baseOffset: string;
    batchLength: number;
    magic: number;
    crc: number;
    attributes: number;
    codec: string;
    recordCount: number;
    firstTimestamp: string;
    maxTimestamp: string;
    producerId: string;
    producerEpoch: number;
    baseSequence: number;
    uncompressedSize: number;
  };
  recordsHex: string;
  records: RecordView[];
}

const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];
// PW-BATCH-014.
const MAX_TYPE_ID = (1n << 53n) - 1n;
const corrupt = (detail: string) => new WireError("ERROR_CODE_CORRUPT_BATCH", detail);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

class Cursor {
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly end: number,
  ) {}

  varint(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw corrupt("varint runs past the end");
      const byte = this.bytes[this.pos++]!;
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
    }
    throw corrupt("varint longer than 10 bytes");
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) throw corrupt(`${n} bytes run past the end`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  nullable(what: string): Uint8Array | null {
    const n = this.varint();
    if (n < -1n) throw corrupt(`${what} length ${n}`);
    return n === -1n ? null : this.take(Number(n));
  }
}

/**
 * fzstd does not verify a Content_Checksum (PW-COMP-012) and computes a
 * frame's window in 32-bit signed arithmetic, so cannot take Window_Log 31
 * (PW-COMP-010): such frames go to libzstd's native build (zstd-napi),
 * allowed Window_Log 31; every other frame to fzstd.
 */
function zstdDecompress(data: Uint8Array): Uint8Array {
  const checksum = data.length > 4 && (data[4]! & 4) !== 0;
  const windowLog31 = data.length > 5 && (data[4]! & 0x20) === 0 && data[5]! >> 3 === 31 - 10;
  if (!checksum && !windowLog31) return fzstdDecompress(data);
  const decoder = new Decompressor();
  decoder.setParameters({ windowLogMax: 31 });
  return decoder.decompress(data);
}

function decompress(codec: number, data: Uint8Array, size: number): Uint8Array {
  let out: Uint8Array;
  try {
    switch (codec) {
      case 1:
        out = gunzipSync(data, { maxOutputLength: size + 1 });
        break;
      case 2:
        out = snappyRawDecode(data);
        break;
      case 3:
        out = lz4BlockDecode(data, size);
        break;
      default:
        out = zstdDecompress(data);
    }
  } catch (error) {
    throw corrupt(`codec ${CODEC_NAMES[codec]} failed: ${(error as Error).message}`);
  }
  if (out.length !== size) throw corrupt(`decompressed to ${out.length} bytes, uncompressed_size ${size}`);
  return out;
}

export function readBatch(bytes: Uint8Array, maxUncompressed = 64 * 1024 * 1024): BatchView {
  if (bytes.length < 12) throw corrupt("shorter than base_offset and batch_length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const batchLength = view.getUint32(8);
  if (batchLength < 45) throw corrupt(`batch_length ${batchLength} < 45`);
  if (12 + batchLength !== bytes.length) throw corrupt(`batch_length ${batchLength} but ${bytes.length - 12} bytes`);
  const magic = view.getUint8(12);
  if (magic !== 1) throw corrupt(`magic ${magic}`);
  const crc = view.getUint32(13);
  if (crc !== crc32c(bytes.subarray(17))) throw corrupt("crc mismatch");
  const attributes = view.getUint16(17);
  if ((attributes & 0xfff8) !== 0) throw corrupt(`reserved attribute bits ${attributes.toString(2)}`);
  const codec = attributes & 7;
  if (codec > 4) throw new WireError("ERROR_CODE_UNSUPPORTED_CODEC", `codec ${codec}`);
  const recordCount = view.getUint32(19);
  const firstTimestamp = view.getBigInt64(23);
  const maxTimestamp = view.getBigInt64(31);
  const producerId = view.getBigInt64(39);
  const producerEpoch = view.getInt16(47);
  const baseSequence = view.getInt32(49);
  const uncompressedSize = view.getUint32(53);
  const none = producerId === -1n && producerEpoch === -1 && baseSequence === -1;
  const idempotent = producerId >= 0n && producerEpoch >= 0 && baseSequence >= 0;
  if (!none && !idempotent) throw corrupt("inconsistent producer fields");
  if (recordCount < 1) throw corrupt("record_count 0");
  if (uncompressedSize > maxUncompressed) throw new WireError("ERROR_CODE_DECOMPRESSION_LIMIT", `${uncompressedSize} > ${maxUncompressed}`);
  const stored = bytes.subarray(57);
  let section: Uint8Array;
  if (codec === 0) {
    if (stored.length !== uncompressedSize) throw corrupt(`records section ${stored.length} bytes, uncompressed_size ${uncompressedSize}`);
    section = stored;
  } else {
    section = decompress(codec, stored, uncompressedSize);
  }

  const records: RecordView[] = [];
  const cursor = new Cursor(section, section.length);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  let largest: bigint | undefined;
  for (let i = 0; i < recordCount; i++) {
    const length = cursor.varint();
    const end = cursor.pos + Number(length);
    if (length < 0n || end > section.length) throw corrupt(`record ${i} length ${length}`);
    const record = new Cursor(section, end);
    record.pos = cursor.pos;
    const [attr] = record.take(1);
    if (attr !== 0) throw corrupt(`record ${i} attributes ${attr}`);
    const timestampDelta = record.varint();
    const offsetDelta = record.varint();
    if (offsetDelta !== BigInt(i)) throw corrupt(`record ${i} offset_delta ${offsetDelta}`);
    const typeId = record.varint();
    if (typeId < 0n || typeId > MAX_TYPE_ID) throw corrupt(`record ${i} type_id ${typeId}`);
    const key = record.nullable("key");
    const value = record.nullable("value");
    const headerCount = record.varint();
    if (headerCount < 0n) throw corrupt(`record ${i} header_count ${headerCount}`);
    const headers: RecordView["headers"] = [];
    for (let h = 0n; h < headerCount; h++) {
      const keyLength = record.varint();
      if (keyLength < 0n) throw corrupt(`record ${i} header key length ${keyLength}`);
      let headerKey: string;
      try {
        headerKey = utf8.decode(record.take(Number(keyLength)));
      } catch (error) {
        if (error instanceof WireError) throw error;
        throw corrupt(`record ${i} header key is not UTF-8`);
      }
      const headerValue = record.nullable("header value");
      headers.push({ key: headerKey, value: headerValue === null ? null : hex(headerValue) });
    }
    if (record.pos !== end) throw corrupt(`record ${i} length ${length} but fields take ${record.pos - cursor.pos}`);
    cursor.pos = end;
    const timestamp = firstTimestamp + timestampDelta;
    if (largest === undefined || timestamp > largest) largest = timestamp;
    records.push({
      offsetDelta: i,
      timestamp: timestamp.toString(),
      timestampDelta: timestampDelta.toString(),
      typeId: typeId.toString(),
      key: key === null ? null : hex(key),
      value: value === null ? null : hex(value),
      headers,
    });
  }
  if (cursor.pos !== section.length) throw corrupt(`${section.length - cursor.pos} bytes after record ${recordCount}`);
  if (largest !== maxTimestamp) throw corrupt(`max_timestamp ${maxTimestamp}, largest record timestamp ${largest}`);
  return {
    header: {
      baseOffset: view.getBigInt64(0).toString(),
      batchLength,
      magic,
      crc,
      attributes,
      codec: CODEC_NAMES[codec]!,
      recordCount,
      firstTimestamp: firstTimestamp.toString(),
      maxTimestamp: maxTimestamp.toString(),
      producerId: producerId.toString(),
      producerEpoch,
      baseSequence,
      uncompressedSize,
    },
    recordsHex: hex(section),
    records,
  };
}
