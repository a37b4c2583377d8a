import { BatchField, batchSizeAt } from "@polywire/wasm-codec";

/*
 * The header fields storage reads from stored batches (spec §5.1). The
 * stored log is the batches themselves, so recovery and reads walk batches
 * by these fields without decoding them; only CRC checks call into the
 * codec. Sizes and offsets are the codec's (its layout module).
 */
/** The header fields a log walk needs, read from `bytes` at `at` (a whole header must be there). */
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
  out.baseOffset = uint53(view, at + BatchField.baseOffset);
  out.size = batchSizeAt(view, at);
  out.magic = view.getUint8(at + BatchField.magic);
  out.crc = view.getUint32(at + BatchField.crc);
  out.recordCount = view.getUint32(at + BatchField.recordCount);
  out.maxTimestamp = Number(view.getBigInt64(at + BatchField.maxTimestamp));
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
    producerId: view.getBigInt64(at + BatchField.producerId),
    producerEpoch: view.getInt16(at + BatchField.producerEpoch),
    baseSequence: view.getInt32(at + BatchField.baseSequence),
  };
}
