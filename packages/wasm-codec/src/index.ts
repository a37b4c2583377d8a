export { CodecError, type CodecErrorCode } from "./errors.js";
export { init, initSync, type InitSource } from "./init.js";
export { type CodecMemory, MAX_CODEC_INPUT, codecMemory, trimMemory } from "./wasm.js";
export { crc32c } from "./checksum.js";
export { murmur2, partitionForKey } from "./partition.js";
export { type Compression, COMPRESSIONS, DEFAULT_MAX_UNCOMPRESSED_SIZE, compress, decompress } from "./compression.js";
export { type Frame, type FrameInput, FRAME_HEADER_SIZE, FLAG_CHECKSUM, DEFAULT_MAX_FRAME_SIZE, encodeFrame, encodeFrameHead } from "./frame.js";
export { FrameDecoder } from "./frame-decoder.js";
export {
  type BatchHeader,
  type DecodedRecord,
  type EncodeBatchOptions,
  type RecordHeader,
  type RecordInput,
  BATCH_HEADER_SIZE,
  BatchRecords,
  decodeBatch,
  encodeBatch,
  openBatch,
  readBatchHeader,
  setBaseOffset,
  splitBatches,
  verifyBatch,
} from "./batch.js";
