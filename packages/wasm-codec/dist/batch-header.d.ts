import { type Compression } from "./compression.js";
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
/** Checks that `value` is a bigint in the i64 range, naming it in the error. */
export declare function requireI64(value: unknown, what: string): bigint;
/**
 * Reads the fixed 57-byte header of one whole batch: checks `batch_length`
 * against the bytes given (PW-BATCH-001) and the magic (PW-BATCH-002), not
 * the CRC. A reserved codec (5-7) throws UNSUPPORTED_CODEC (PW-BATCH-005).
 */
export declare function readBatchHeader(batch: Uint8Array): BatchHeader;
/**
 * Rewrites `base_offset` in place; it is not covered by the CRC
 * (PW-BATCH-003/004). Checks only that `batch` is one whole batch by its
 * declared length: the caller has verified it, and the header is not read.
 */
export declare function setBaseOffset(batch: Uint8Array, baseOffset: bigint): void;
/**
 * Splits a concatenation of whole batches (a fetch section) into views of
 * each batch, checking every declared length (PW-BATCH-001). The layout
 * module's `forEachBatch` walks them without building the array.
 */
export declare function splitBatches(bytes: Uint8Array): Uint8Array[];
//# sourceMappingURL=batch-header.d.ts.map