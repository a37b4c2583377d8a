import { type Compression, COMPRESSIONS, DEFAULT_MAX_UNCOMPRESSED_SIZE, compressionId, levelArgs } from "./compression.js";
import { CodecError, invalid, requireBytes, requireInteger } from "./errors.js";
import { MAX_CODEC_INPUT, check, failed, memory, outputCopy, reserveInput, table, wasm, writeInput } from "./wasm.js";

/** A record header; keys repeat and keep their order (PW-BATCH-012). */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record to encode. `null` stays distinct from empty (PW-BATCH-013). */
export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  /** Application message type, 0 (the default) for untyped; at most 2^53-1 (PW-BATCH-014). */
  typeId?: number;
  /** Unix ms, default the time of the encodeBatch call. */
  timestamp?: number;
}

/** Options of `encodeBatch`; every field has the default given in its comment. */
export interface EncodeBatchOptions {
  /** Default "none". */
  compression?: Compression;
  /** Codec level; the codec's default if absent. */
  level?: number;
  /** Records sections smaller than this are stored uncompressed (default 1024); so is anything compression would not shrink. */
  minCompressSize?: number;
  /** Default 0n (PW-BATCH-004: the broker assigns offsets). */
  baseOffset?: bigint;
  /** Default -1n (not idempotent). */
  producerId?: bigint;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
}

/** The fixed 57-byte batch header (spec §5.1). */
export interface BatchHeader {
  baseOffset: bigint;
  batchLength: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: Compression;
  recordCount: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  uncompressedSize: number;
}

/**
 * A decoded record; `offset` is `baseOffset + i`. `typeId` is exact: the
 * spec caps it at 2^53-1 (PW-BATCH-014).
 */
export interface DecodedRecord {
  offset: bigint;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  typeId: number;
}

/** Bytes of the fixed batch header. */
export const BATCH_HEADER_SIZE = 57;
const NULL_LEN = 0xffff_ffff;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function requireI64(value: unknown, what: string): bigint {
  if (typeof value !== "bigint" || value < I64_MIN || value > I64_MAX) invalid(`${what} must be a bigint in the i64 range`);
  return value;
}

function corrupt(message: string): never {
  throw new CodecError("CORRUPT_BATCH", message);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads the fixed 57-byte header of one whole batch: checks `batch_length`
 * against the bytes given (PW-BATCH-001) and the magic (PW-BATCH-002), not
 * the CRC. A reserved codec (5-7) throws UNSUPPORTED_CODEC (PW-BATCH-005).
 */
export function readBatchHeader(batch: Uint8Array): BatchHeader {
  wasm();
  requireBytes(batch, "batch");
  if (batch.length < BATCH_HEADER_SIZE) corrupt(`a batch needs at least ${BATCH_HEADER_SIZE} bytes, got ${batch.length} (PW-BATCH-001)`);
  const v = view(batch);
  const batchLength = v.getUint32(8);
  if (batchLength < BATCH_HEADER_SIZE - 12 || 12 + batchLength !== batch.length) {
    corrupt(`batch declares ${12 + batchLength} bytes but ${batch.length} are given (PW-BATCH-001)`);
  }
  const magic = v.getUint8(12);
  if (magic !== 1) corrupt(`magic ${magic} is not 1 (PW-BATCH-002)`);
  const attributes = v.getUint16(17);
  const compression = COMPRESSIONS[attributes & 7];
  if (compression === undefined) throw new CodecError("UNSUPPORTED_CODEC", `compression codec ${attributes & 7} is reserved (PW-BATCH-005)`);
  return {
    baseOffset: v.getBigInt64(0),
    batchLength,
    magic,
    crc: v.getUint32(13),
    attributes,
    compression,
    recordCount: v.getUint32(19),
    firstTimestamp: Number(v.getBigInt64(23)),
    maxTimestamp: Number(v.getBigInt64(31)),
    producerId: v.getBigInt64(39),
    producerEpoch: v.getInt16(47),
    baseSequence: v.getInt32(49),
    uncompressedSize: v.getUint32(53),
  };
}

/** Rewrites `base_offset` in place; it is not covered by the CRC (PW-BATCH-003/004). */
export function setBaseOffset(batch: Uint8Array, baseOffset: bigint): void {
  readBatchHeader(batch);
  view(batch).setBigInt64(0, requireI64(baseOffset, "baseOffset"));
}

/**
 * Splits a concatenation of whole batches (a fetch section) into views of
 * each batch, checking every declared length (PW-BATCH-001).
 */
export function splitBatches(bytes: Uint8Array): Uint8Array[] {
  wasm();
  requireBytes(bytes, "bytes");
  const v = view(bytes);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const rest = bytes.length - pos;
    if (rest < 12) corrupt(`${rest} trailing bytes are not a batch (PW-BATCH-001)`);
    const batchLength = v.getUint32(pos + 8);
    const total = 12 + batchLength;
    if (batchLength < BATCH_HEADER_SIZE - 12 || total > rest) {
      corrupt(`batch at byte ${pos} declares ${total} bytes but ${rest} remain (PW-BATCH-001)`);
    }
    out.push(bytes.subarray(pos, pos + total));
    pos += total;
  }
  return out;
}

// Decompressed sections above the codec's per-call limit are DECOMPRESSION_LIMIT, whatever the caller allows.
function maxSizeOf(value: unknown): number {
  const max = requireInteger(value ?? DEFAULT_MAX_UNCOMPRESSED_SIZE, "maxUncompressedSize", 0, Number.MAX_SAFE_INTEGER);
  return Math.min(max, MAX_CODEC_INPUT);
}

/**
 * Encodes records into one batch (spec §5) in a single call into WASM:
 * varints, CRC-32C and compression included. Throws INVALID_ARGUMENT for
 * records that cannot be represented (no records, a typeId outside 0..2^53-1,
 * producer fields that are neither all -1 nor all non-negative).
 */
export function encodeBatch(records: readonly RecordInput[], options: EncodeBatchOptions = {}): Uint8Array {
  const w = wasm();
  if (!Array.isArray(records)) invalid("records must be an array");
  const codec = compressionId(options.compression ?? "none");
  const [level, hasLevel] = levelArgs(options.level);
  const minCompressSize = requireInteger(options.minCompressSize ?? 1024, "minCompressSize", 0, Number.MAX_SAFE_INTEGER);
  const baseOffset = requireI64(options.baseOffset ?? 0n, "baseOffset");
  const producerId = requireI64(options.producerId ?? -1n, "producerId");
  const producerEpoch = requireInteger(options.producerEpoch ?? -1, "producerEpoch", -1, 0x7fff);
  const baseSequence = requireInteger(options.baseSequence ?? -1, "baseSequence", -1, 0x7fff_ffff);
  if (records.length > 0xffff_ffff) invalid("too many records for one batch");

  // First pass: validate and size the flat layout src/abi.rs reads.
  let size = 0;
  for (const r of records) {
    if (typeof r !== "object" || r === null) invalid("each record must be an object");
    size += 8 + 8 + 4 + 4 + 4;
    if (r.key != null) size += requireBytes(r.key, "record key").length;
    if (r.value !== null) size += requireBytes(r.value, "record value").length;
    const headers = r.headers ?? [];
    if (!Array.isArray(headers)) invalid("record headers must be an array");
    for (const h of headers) {
      if (typeof h?.key !== "string") invalid("a header key must be a string");
      size += 8 + h.key.length * 3;
      if (h.value !== null) size += requireBytes(h.value, "header value").length;
    }
  }

  try {
    const ptr = reserveInput(size);
    const mem = memory();
    const dv = new DataView(mem.buffer);
    const now = Date.now();
    let pos = ptr;
    const putBytes = (b: Uint8Array | null | undefined): void => {
      if (b == null) {
        dv.setInt32(pos, -1, true);
        pos += 4;
      } else {
        dv.setInt32(pos, b.length, true);
        mem.set(b, pos + 4);
        pos += 4 + b.length;
      }
    };
    for (const r of records) {
      const timestamp = r.timestamp ?? now;
      if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp)) invalid(`timestamp must be an integer (Unix ms), got ${String(timestamp)}`);
      const typeId = r.typeId ?? 0;
      dv.setFloat64(pos, timestamp, true);
      if (typeof typeId !== "number" || !Number.isSafeInteger(typeId) || typeId < 0) {
        invalid(`typeId must be an integer in 0..2^53-1, got ${String(typeId)} (PW-BATCH-014)`);
      }
      dv.setUint32(pos + 8, typeId % 4294967296, true);
      dv.setUint32(pos + 12, Math.floor(typeId / 4294967296), true);
      pos += 16;
      putBytes(r.key);
      putBytes(r.value);
      const headers = r.headers ?? [];
      dv.setInt32(pos, headers.length, true);
      pos += 4;
      for (const h of headers) {
        const written = putKey(mem, pos + 4, h.key);
        dv.setInt32(pos, written, true);
        pos += 4 + written;
        putBytes(h.value);
      }
    }
    check(
      w.pw_encode_batch(
        pos - ptr,
        records.length,
        codec,
        level,
        hasLevel,
        Math.min(minCompressSize, 0xffff_ffff),
        baseOffset,
        producerId,
        producerEpoch,
        baseSequence,
      ),
    );
    return outputCopy();
  } catch (error) {
    return failed(error, "encodeBatch");
  }
}

/**
 * Full validation a broker does before storing a batch: length, magic, CRC,
 * attributes, producer fields and every record's structure, decompressing
 * under `maxUncompressedSize` (default 64 MiB). Returns the header.
 */
export function verifyBatch(batch: Uint8Array, options: { maxUncompressedSize?: number } = {}): BatchHeader {
  const w = wasm();
  requireBytes(batch, "batch");
  try {
    check(w.pw_verify_batch(writeInput(batch), maxSizeOf(options.maxUncompressedSize)));
    return readBatchHeader(batch);
  } catch (error) {
    return failed(error, "verifyBatch");
  }
}

// Writes a header key as UTF-8 at `at`; returns its length. Short ASCII keys
// (the usual case) are written by hand: TextEncoder costs more per call.
function putKey(mem: Uint8Array, at: number, key: string): number {
  if (key.length <= 32) {
    let i = 0;
    for (; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) break;
      mem[at + i] = c;
    }
    if (i === key.length) return i;
  }
  return utf8Encoder.encodeInto(key, mem.subarray(at, at + key.length * 3)).written;
}

// Header keys are short and usually ASCII: decoding them by hand avoids a
// TextDecoder call per header, which dominates small records.
function decodeKey(mem: Uint8Array, ptr: number, len: number): string {
  if (len <= 32) {
    let s = "";
    for (let i = ptr; i < ptr + len; i++) {
      const c = mem[i]!;
      if (c >= 0x80) return utf8Decoder.decode(mem.subarray(ptr, ptr + len));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(mem.subarray(ptr, ptr + len));
}

/**
 * The records of one batch, decoded and validated in a single call into
 * WASM (see {@link openBatch}) but materialised only when asked for: each
 * accessor takes the record's index (0 .. `count` - 1) and builds just
 * that field, so a reader that looks at values only never pays for
 * offsets, keys or headers. Key and value bytes are views: into the batch
 * given to `openBatch` when it is uncompressed, else into one copy of the
 * decompressed records section. An index outside 0 .. `count` - 1 throws
 * INVALID_ARGUMENT.
 */
export class BatchRecords {
  /** The batch header. */
  readonly header: BatchHeader;
  /** How many records the batch holds. */
  readonly count: number;
  // The decode table past its 3 leading words: 9 words per record, then 4 per header.
  readonly #table: Uint32Array;
  // Where each record starts in the table; null when no record has headers (9 words each).
  readonly #starts: Uint32Array | null;
  readonly #buffer: ArrayBufferLike;
  // Added to a WASM address to get the position in #buffer.
  readonly #shift: number;
  #bytes: Uint8Array | undefined;

  /** @internal Use {@link openBatch}. */
  constructor(header: BatchHeader, table: Uint32Array, buffer: ArrayBufferLike, shift: number) {
    this.header = header;
    this.count = header.recordCount;
    this.#table = table;
    this.#buffer = buffer;
    this.#shift = shift;
    if (table.length === 9 * this.count) {
      this.#starts = null;
    } else {
      const starts = new Uint32Array(this.count);
      for (let n = 0, i = 0; n < this.count; n++) {
        starts[n] = i;
        i += 9 + 4 * table[i + 8]!;
      }
      this.#starts = starts;
    }
  }

  #at(index: number): number {
    if (!(index >= 0 && index < this.count && Number.isInteger(index))) invalid(`record index ${String(index)} is outside 0..${this.count - 1}`);
    return this.#starts === null ? 9 * index : this.#starts[index]!;
  }

  #bytesAt(ptr: number, len: number): Uint8Array | null {
    // The constructor is markedly faster than subarray() (no species lookup).
    return len === NULL_LEN ? null : new Uint8Array(this.#buffer, ptr + this.#shift, len);
  }

  /** The offset of record `index`: `header.baseOffset + index`. */
  offset(index: number): bigint {
    this.#at(index);
    return this.header.baseOffset + BigInt(index);
  }

  /** The timestamp of record `index`, Unix ms. */
  timestamp(index: number): number {
    const i = this.#at(index);
    return (this.#table[i + 1]! | 0) * 4294967296 + this.#table[i]!;
  }

  /** The message type id of record `index` (PW-BATCH-014). */
  typeId(index: number): number {
    const i = this.#at(index);
    return (this.#table[i + 3]! | 0) * 4294967296 + this.#table[i + 2]!;
  }

  /** The key of record `index`, or null (PW-BATCH-013). */
  key(index: number): Uint8Array | null {
    const i = this.#at(index);
    return this.#bytesAt(this.#table[i + 4]!, this.#table[i + 5]!);
  }

  /** The value of record `index`, or null (PW-BATCH-013). */
  value(index: number): Uint8Array | null {
    const i = this.#at(index);
    return this.#bytesAt(this.#table[i + 6]!, this.#table[i + 7]!);
  }

  /** The headers of record `index`, in order; a new array on every call. */
  headers(index: number): RecordHeader[] {
    let i = this.#at(index);
    const t = this.#table;
    const count = t[i + 8]!;
    i += 9;
    const headers: RecordHeader[] = [];
    if (count === 0) return headers;
    this.#bytes ??= new Uint8Array(this.#buffer);
    for (let h = 0; h < count; h++, i += 4) {
      headers.push({ key: decodeKey(this.#bytes, t[i]! + this.#shift, t[i + 1]!), value: this.#bytesAt(t[i + 2]!, t[i + 3]!) });
    }
    return headers;
  }

  /** Record `index` with every field built. */
  record(index: number): DecodedRecord {
    return {
      offset: this.offset(index),
      timestamp: this.timestamp(index),
      key: this.key(index),
      value: this.value(index),
      headers: this.headers(index),
      typeId: this.typeId(index),
    };
  }
}

/**
 * Decodes and validates one batch like {@link decodeBatch} (one call into
 * WASM, CRC checked unless `verifyCrc: false`), but builds no record:
 * the {@link BatchRecords} it returns materialises fields on access. An
 * uncompressed batch is not copied (keys and values are views into
 * `batch`, so they change if `batch` does); a compressed one is
 * decompressed into one copy owned by the result.
 */
export function openBatch(batch: Uint8Array, options: { maxUncompressedSize?: number; verifyCrc?: boolean } = {}): BatchRecords {
  const w = wasm();
  requireBytes(batch, "batch");
  try {
    const inputPtr = reserveInput(batch.length);
    memory().set(batch, inputPtr);
    check(w.pw_decode_batch(batch.length, maxSizeOf(options.maxUncompressedSize), options.verifyCrc === false ? 0 : 1));
    const header = readBatchHeader(batch);
    const t = table();
    const sectionPtr = t[1]!;
    const sectionLen = t[2]!;
    const records = t.slice(3);
    if (sectionPtr >= inputPtr && sectionPtr + sectionLen <= inputPtr + batch.length) {
      // Uncompressed: the section is the batch's own bytes.
      return new BatchRecords(header, records, batch.buffer, batch.byteOffset - inputPtr);
    }
    const section = memory().slice(sectionPtr, sectionPtr + sectionLen);
    return new BatchRecords(header, records, section.buffer, -sectionPtr);
  } catch (error) {
    return failed(error, "openBatch");
  }
}

/**
 * Decodes one batch in a single call into WASM, with the validation of
 * `verifyBatch` (the CRC check can be skipped with `verifyCrc: false`).
 * With `copy: true` (default) the records' bytes are copied out of WASM
 * memory, once per batch; with `copy: false` keys and values are views into
 * WASM memory, valid only until the next codec call.
 */
export function decodeBatch(
  batch: Uint8Array,
  options: { maxUncompressedSize?: number; verifyCrc?: boolean; copy?: boolean } = {},
): { header: BatchHeader; records: DecodedRecord[] } {
  const w = wasm();
  requireBytes(batch, "batch");
  try {
    check(w.pw_decode_batch(writeInput(batch), maxSizeOf(options.maxUncompressedSize), options.verifyCrc === false ? 0 : 1));
    const header = readBatchHeader(batch);
    const t = table();
    const mem = memory();
    const count = t[0]!;
    const sectionPtr = t[1]!;
    // One copy of the whole records section; records are views into it.
    const source = options.copy === false ? mem : mem.slice(sectionPtr, sectionPtr + t[2]!);
    const buffer = source.buffer;
    const shift = options.copy === false ? 0 : -sectionPtr;
    // The constructor is markedly faster than subarray() (no species lookup).
    const bytesAt = (ptr: number, len: number): Uint8Array | null => (len === NULL_LEN ? null : new Uint8Array(buffer, ptr + shift, len));
    const records: DecodedRecord[] = new Array(count);
    let i = 3;
    for (let n = 0; n < count; n++) {
      const timestamp = (t[i + 1]! | 0) * 4294967296 + t[i]!;
      const typeId = (t[i + 3]! | 0) * 4294967296 + t[i + 2]!;
      const key = bytesAt(t[i + 4]!, t[i + 5]!);
      const value = bytesAt(t[i + 6]!, t[i + 7]!);
      const headerCount = t[i + 8]!;
      i += 9;
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        headers.push({ key: decodeKey(mem, t[i]!, t[i + 1]!), value: bytesAt(t[i + 2]!, t[i + 3]!) });
        i += 4;
      }
      records[n] = { offset: header.baseOffset + BigInt(n), timestamp, key, value, headers, typeId };
    }
    return { header, records };
  } catch (error) {
    return failed(error, "decodeBatch");
  }
}
