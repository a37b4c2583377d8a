export { CodecError, type CodecErrorCode } from "./errors.js";
export { init, initSync, type InitSource } from "./init.js";
export { type CodecMemory, MAX_CODEC_INPUT, codecMemory, trimMemory } from "./wasm.js";
export { crc32c } from "./checksum.js";
export { murmur2, partitionForKey } from "./partition.js";
export { type Compression, COMPRESSIONS, DEFAULT_MAX_UNCOMPRESSED_SIZE, compress, decompress } from "./compression.js";
export { type BatchVisitor, BATCH_CRC_START, BATCH_HEADER_SIZE, BATCH_LENGTH_PREFIX, BATCH_MAGIC, BatchField, DEFAULT_MAX_FRAME_SIZE, FLAG_CHECKSUM, FRAME_CHECKSUM_SIZE, FRAME_HEADER_SIZE, FRAME_LENGTH_PREFIX, FrameField, MIN_BATCH_LENGTH, batchSizeAt, forEachBatch, frameSize, } from "./layout.js";
export { type Frame, type FrameInput, encodeFrame, encodeFrameHead, putFrameHead } from "./frame.js";
export { FrameDecoder } from "./frame-decoder.js";
export { type BatchHeader, readBatchHeader, setBaseOffset, splitBatches } from "./batch-header.js";
export { type DecodedRecord, type EncodeBatchOptions, type RecordHeader, type RecordInput, encodeBatch, verifyBatch } from "./batch.js";
export { BatchRecords, decodeBatch, openBatch } from "./batch-records.js";
//# sourceMappingURL=index.d.ts.map