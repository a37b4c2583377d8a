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
 * The records of one batch, decoded and validated in a single call into
 * WASM (see {@link openBatch}) but materialised only when asked for: each
 * accessor takes the record's index (0 .. `count` - 1) and builds just
 * that field, so a reader that looks at values only never pays for
 * offsets, keys or headers. Key and value bytes are views: into the batch
 * given to `openBatch` when it is uncompressed, else into one copy of the
 * decompressed records section. An index outside 0 .. `count` - 1 throws
 * INVALID_ARGUMENT.
 */
export declare class BatchRecords {
    #private;
    /** The batch header. */
    readonly header: BatchHeader;
    /** How many records the batch holds. */
    readonly count: number;
    /** @internal Use {@link openBatch}. */
    constructor(header: BatchHeader, table: Uint32Array, buffer: ArrayBufferLike, shift: number);
    /** The offset of record `index`: `header.baseOffset + index`. */
    offset(index: number): bigint;
    /** The timestamp of record `index`, Unix ms. */
    timestamp(index: number): number;
    /** The message type id of record `index` (PW-BATCH-014). */
    typeId(index: number): number;
    /** The key of record `index`, or null (PW-BATCH-013). */
    key(index: number): Uint8Array | null;
    /** The value of record `index`, or null (PW-BATCH-013). */
    value(index: number): Uint8Array | null;
    /** The headers of record `index`, in order; a new array on every call. */
    headers(index: number): RecordHeader[];
    /** Record `index` with every field built. */
    record(index: number): DecodedRecord;
}
/**
 * Decodes and validates one batch like {@link decodeBatch} (one call into
 * WASM, CRC checked unless `verifyCrc: false`), but builds no record:
 * the {@link BatchRecords} it returns materialises fields on access. An
 * uncompressed batch is not copied (keys and values are views into
 * `batch`, so they change if `batch` does); a compressed one is
 * decompressed into one copy owned by the result.
 */
export declare function openBatch(batch: Uint8Array, options?: {
    maxUncompressedSize?: number;
    verifyCrc?: boolean;
}): BatchRecords;
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