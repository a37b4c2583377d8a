/**
 * Field positions of the fixed record batch header (spec §5.1). The stored
 * log is the batches themselves, so recovery and reads walk batches by these
 * fields without the codec; only CRC checks call into it.
 */
export const BATCH_HEADER_SIZE = 57;
/** base_offset and batch_length: the part of a batch not counted by batch_length. */
export const BATCH_LENGTH_PREFIX = 12;
/** Smallest legal batch_length (PW-BATCH-001). */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - BATCH_LENGTH_PREFIX;
/** The CRC covers bytes from attributes (offset 17) to the end (PW-BATCH-003). */
export const CRC_START = 17;

const BASE_OFFSET = 0;
const BATCH_LENGTH = 8;
const MAGIC = 12;
const CRC = 13;
const RECORD_COUNT = 19;
const MAX_TIMESTAMP = 31;
const PRODUCER_ID = 39;
const PRODUCER_EPOCH = 47;
const BASE_SEQUENCE = 49;

/** The header fields a log walk needs, read from `bytes` at `at` (at least 57 bytes must be there). */
export interface WalkedBatch {
  baseOffset: number;
  /** Total size, 12 + batch_length. */
  size: number;
  magic: number;
  crc: number;
  recordCount: number;
  maxTimestamp: number;
}

/** Reads a u64 that fits a safe integer; offsets in Polywire logs stay below 2^53. */
function uint53(view: DataView, at: number): number {
  return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}

/** Reads the walk fields of the batch at `at` into `out` (reused to keep walks allocation-free). */
export function readWalkFields(view: DataView, at: number, out: WalkedBatch): WalkedBatch {
  out.baseOffset = uint53(view, at + BASE_OFFSET);
  out.size = BATCH_LENGTH_PREFIX + view.getUint32(at + BATCH_LENGTH);
  out.magic = view.getUint8(at + MAGIC);
  out.crc = view.getUint32(at + CRC);
  out.recordCount = view.getUint32(at + RECORD_COUNT);
  out.maxTimestamp = Number(view.getBigInt64(at + MAX_TIMESTAMP));
  return out;
}

/** A fresh reusable {@link WalkedBatch}. */
export function walkedBatch(): WalkedBatch {
  return { baseOffset: 0, size: 0, magic: 0, crc: 0, recordCount: 0, maxTimestamp: 0 };
}

/** The idempotence fields of a stored batch, for producer-state replay. */
export interface BatchProducer {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

export function readProducerFields(view: DataView, at: number): BatchProducer {
  return {
    producerId: view.getBigInt64(at + PRODUCER_ID),
    producerEpoch: view.getInt16(at + PRODUCER_EPOCH),
    baseSequence: view.getInt32(at + BASE_SEQUENCE),
  };
}

/** A DataView over exactly `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
