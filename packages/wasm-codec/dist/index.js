export { CodecError } from "./errors.js";
export { init, initSync } from "./init.js";
export { MAX_CODEC_INPUT, codecMemory, trimMemory } from "./wasm.js";
export { crc32c } from "./checksum.js";
export { murmur2, partitionForKey } from "./partition.js";
export { COMPRESSIONS, DEFAULT_MAX_UNCOMPRESSED_SIZE, compress, decompress } from "./compression.js";
export { FRAME_HEADER_SIZE, FLAG_CHECKSUM, DEFAULT_MAX_FRAME_SIZE, encodeFrame, encodeFrameHead } from "./frame.js";
export { FrameDecoder } from "./frame-decoder.js";
export { BATCH_HEADER_SIZE, BatchRecords, decodeBatch, encodeBatch, openBatch, readBatchHeader, setBaseOffset, splitBatches, verifyBatch, } from "./batch.js";
//# sourceMappingURL=index.js.map