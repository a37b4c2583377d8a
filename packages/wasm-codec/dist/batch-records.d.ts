import { type BatchHeader } from "./batch-header.js";
import { type DecodedRecord, type RecordHeader } from "./batch.js";
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
//# sourceMappingURL=batch-records.d.ts.map