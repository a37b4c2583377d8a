import { type BatchHeader, readBatchHeader, requireI64 } from "./batch-header.js";
import { type Compression, DEFAULT_MAX_UNCOMPRESSED_SIZE, compressionId, levelArgs } from "./compression.js";
import { invalid, requireBytes, requireInteger } from "./errors.js";
import { IN_HEADER_FIXED, IN_KEY, IN_LENGTH_BYTES, IN_NULL_LENGTH, IN_RECORD_FIXED, IN_TYPE_ID } from "./abi.js";
import { MAX_CODEC_INPUT, check, failed, memory, outputCopy, reserveInput, wasm, writeInput } from "./wasm.js";

const utf8Encoder = new TextEncoder();

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

/** The decompression limit of a call: above the codec's per-call limit sections are DECOMPRESSION_LIMIT, whatever the caller allows. */
export function maxSizeOf(value: unknown): number {
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
    size += IN_RECORD_FIXED;
    if (r.key != null) size += requireBytes(r.key, "record key").length;
    if (r.value !== null) size += requireBytes(r.value, "record value").length;
    const headers = r.headers ?? [];
    if (!Array.isArray(headers)) invalid("record headers must be an array");
    for (const h of headers) {
      if (typeof h?.key !== "string") invalid("a header key must be a string");
      size += IN_HEADER_FIXED + h.key.length * 3;
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
        dv.setInt32(pos, IN_NULL_LENGTH, true);
        pos += IN_LENGTH_BYTES;
      } else {
        dv.setInt32(pos, b.length, true);
        mem.set(b, pos + IN_LENGTH_BYTES);
        pos += IN_LENGTH_BYTES + b.length;
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
      dv.setUint32(pos + IN_TYPE_ID, typeId % 4294967296, true);
      dv.setUint32(pos + IN_TYPE_ID + 4, Math.floor(typeId / 4294967296), true);
      pos += IN_KEY;
      putBytes(r.key);
      putBytes(r.value);
      const headers = r.headers ?? [];
      dv.setInt32(pos, headers.length, true);
      pos += IN_LENGTH_BYTES;
      for (const h of headers) {
        const written = putKey(mem, pos + IN_LENGTH_BYTES, h.key);
        dv.setInt32(pos, written, true);
        pos += IN_LENGTH_BYTES + written;
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
 * under `maxUncompressedSize` (default 64 MiB), and what some conforming
 * decoders refuse though ours decode it: an LZ4 block breaking the
 * end-of-block rules (PW-COMP-013/014). Returns the header.
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
