import { COMPRESSIONS } from "./compression.js";
import { CodecError, invalid, requireBytes } from "./errors.js";
import { BATCH_HEADER_SIZE, BATCH_MAGIC, BatchField, batchSizeAt, forEachBatch } from "./layout.js";
import { wasm } from "./wasm.js";
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
/** Checks that `value` is a bigint in the i64 range, naming it in the error. */
export function requireI64(value, what) {
    if (typeof value !== "bigint" || value < I64_MIN || value > I64_MAX)
        invalid(`${what} must be a bigint in the i64 range`);
    return value;
}
function corrupt(message) {
    throw new CodecError("CORRUPT_BATCH", message);
}
function view(bytes) {
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
/** Checks that `batch` is one whole batch by its declared length (PW-BATCH-001); returns a view of it. */
function wholeBatch(batch) {
    if (batch.length < BATCH_HEADER_SIZE)
        corrupt(`a batch needs at least ${BATCH_HEADER_SIZE} bytes, got ${batch.length} (PW-BATCH-001)`);
    const v = view(batch);
    const size = batchSizeAt(v, 0);
    if (size < BATCH_HEADER_SIZE || size !== batch.length) {
        corrupt(`batch declares ${size} bytes but ${batch.length} are given (PW-BATCH-001)`);
    }
    return v;
}
/**
 * Reads the fixed 57-byte header of one whole batch: checks `batch_length`
 * against the bytes given (PW-BATCH-001) and the magic (PW-BATCH-002), not
 * the CRC. A reserved codec (5-7) throws UNSUPPORTED_CODEC (PW-BATCH-005).
 */
export function readBatchHeader(batch) {
    wasm();
    requireBytes(batch, "batch");
    const v = wholeBatch(batch);
    const magic = v.getUint8(BatchField.magic);
    if (magic !== BATCH_MAGIC)
        corrupt(`magic ${magic} is not ${BATCH_MAGIC} (PW-BATCH-002)`);
    const attributes = v.getUint16(BatchField.attributes);
    const compression = COMPRESSIONS[attributes & 7];
    if (compression === undefined)
        throw new CodecError("UNSUPPORTED_CODEC", `compression codec ${attributes & 7} is reserved (PW-BATCH-005)`);
    return {
        baseOffset: v.getBigInt64(BatchField.baseOffset),
        batchLength: v.getUint32(BatchField.batchLength),
        magic,
        crc: v.getUint32(BatchField.crc),
        attributes,
        compression,
        recordCount: v.getUint32(BatchField.recordCount),
        firstTimestamp: Number(v.getBigInt64(BatchField.firstTimestamp)),
        maxTimestamp: Number(v.getBigInt64(BatchField.maxTimestamp)),
        producerId: v.getBigInt64(BatchField.producerId),
        producerEpoch: v.getInt16(BatchField.producerEpoch),
        baseSequence: v.getInt32(BatchField.baseSequence),
        uncompressedSize: v.getUint32(BatchField.uncompressedSize),
    };
}
/**
 * Rewrites `base_offset` in place; it is not covered by the CRC
 * (PW-BATCH-003/004). Checks only that `batch` is one whole batch by its
 * declared length: the caller has verified it, and the header is not read.
 */
export function setBaseOffset(batch, baseOffset) {
    wasm();
    requireBytes(batch, "batch");
    wholeBatch(batch).setBigInt64(BatchField.baseOffset, requireI64(baseOffset, "baseOffset"));
}
/**
 * Splits a concatenation of whole batches (a fetch section) into views of
 * each batch, checking every declared length (PW-BATCH-001). The layout
 * module's `forEachBatch` walks them without building the array.
 */
export function splitBatches(bytes) {
    wasm();
    requireBytes(bytes, "bytes");
    const out = [];
    forEachBatch(bytes, (batch) => out.push(batch));
    return out;
}
//# sourceMappingURL=batch-header.js.map