export { CodecError } from "./errors.js";
export { init, initSync } from "./init.js";
export { MAX_CODEC_INPUT, codecMemory, trimMemory } from "./wasm.js";
export { crc32c } from "./checksum.js";
export { murmur2, partitionForKey } from "./partition.js";
export { COMPRESSIONS, DEFAULT_MAX_UNCOMPRESSED_SIZE, compress, decompress } from "./compression.js";
export { BATCH_CRC_START, BATCH_HEADER_SIZE, BATCH_LENGTH_PREFIX, BATCH_MAGIC, BatchField, DEFAULT_MAX_FRAME_SIZE, FLAG_CHECKSUM, FRAME_CHECKSUM_SIZE, FRAME_HEADER_SIZE, FRAME_LENGTH_PREFIX, FrameField, MIN_BATCH_LENGTH, batchSizeAt, forEachBatch, frameSize, } from "./layout.js";
export { encodeFrame, encodeFrameHead, putFrameHead } from "./frame.js";
export { FrameDecoder } from "./frame-decoder.js";
export { readBatchHeader, setBaseOffset, splitBatches } from "./batch-header.js";
export { encodeBatch, verifyBatch } from "./batch.js";
export { BatchRecords, decodeBatch, openBatch } from "./batch-records.js";
//# sourceMappingURL=index.js.map