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
export declare const BATCH_HEADER_SIZE = 57;
/**
 * Reads the fixed 57-byte header of one whole batch: checks `batch_length`
 * against the bytes given (PW-BATCH-001) and the magic (PW-BATCH-002), not
 * the CRC. A reserved codec (5-7) throws UNSUPPORTED_CODEC (PW-BATCH-005).
 */
export declare function readBatchHeader(batch: Uint8Array): BatchHeader;
/** Rewrites `base_offset` in place; it is not covered by the CRC (PW-BATCH-003/004). */
export declare function setBaseOffset(batch: Uint8Array, baseOffset: bigint): void;
/**
 * Splits a concatenation of whole batches (a fetch section) into views of
 * each batch, checking every declared length (PW-BATCH-001).
 */
export declare function splitBatches(bytes: Uint8Array): Uint8Array[];
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
 * under `maxUncompressedSize` (default 64 MiB). Returns the header.
 */
export declare function verifyBatch(batch: Uint8Array, options?: {
    maxUncompressedSize?: number;
}): BatchHeader;
/**
 * Decodes one batch in a single call into WASM, with the validation of
 * `verifyBatch` (the CRC check can be skipped with `verifyCrc: false`).
 * With `copy: true` (default) the records' bytes are copied out of WASM
 * memory, once per batch; with `copy: false` keys and values are views into
 * WASM memory, valid only until the next codec call.
 */
export declare function decodeBatch(batch: Uint8Array, options?: {
    maxUncompressedSize?: number;
    verifyCrc?: boolean;
    copy?: boolean;
}): {
    header: BatchHeader;
    records: DecodedRecord[];
};
//# sourceMappingURL=batch.d.ts.map