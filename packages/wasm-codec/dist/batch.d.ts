import { type BatchHeader } from "./batch-header.js";
import { type Compression } from "./compression.js";
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
export declare function maxSizeOf(value: unknown): number;
/**
 * Encodes records into one batch (spec §5) in a single call into WASM:
 * varints, CRC-32C and compression included. Throws INVALID_ARGUMENT for
 * records that cannot be represented (no records, a typeId outside 0..2^53-1,
 * producer fields that are neither all -1 nor all non-negative).
 */
export declare function encodeBatch(records: readonly RecordInput[], options?: EncodeBatchOptions): Uint8Array;
/**
 * Full validation a broker does before storing a batch: length, magic, CRC,
 * attributes, producer fields and every record's structure, decompressing
 * under `maxUncompressedSize` (default 64 MiB), and what some conforming
 * decoders refuse though ours decode it: an LZ4 block breaking the
 * end-of-block rules (PW-COMP-013/014). Returns the header.
 */
export declare function verifyBatch(batch: Uint8Array, options?: {
    maxUncompressedSize?: number;
}): BatchHeader;
//# sourceMappingURL=batch.d.ts.map