import { CodecError } from "./errors.js";
// The wire layout of frames (spec §2) and record batches (spec §5.1):
// sizes, field offsets, a batch walker and frame sizes. The codec owns
// them; the broker, the runtime and the CLI read and size bytes through
// these names instead of spelling out numbers. Plain JavaScript over
// bytes: unlike the rest of the codec, nothing here needs init(). (The
// conformance suite and the vector generator keep their own copies on
// purpose: they are there to check this one.)
/** Bytes of the v1 frame header, `length` field included (PW-FRAME-001). */
export const FRAME_HEADER_SIZE = 16;
/** The `length` field: the bytes `length` does not count. */
export const FRAME_LENGTH_PREFIX = 4;
/** Bytes of the CRC-32C a frame with the CHECKSUM flag ends with (PW-FRAME-004). */
export const FRAME_CHECKSUM_SIZE = 4;
/** Flag bit 0: the frame ends with a CRC-32C of every byte before it (PW-FRAME-004). */
export const FLAG_CHECKSUM = 1;
/** Default maximum frame size: 16 MiB (PW-FRAME-007). */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** Where each frame header field starts (spec §2.1); all are big-endian. */
export const FrameField = Object.freeze({
    /** u32: the bytes after this field. */
    length: 0,
    /** u8: at least 16 (PW-FRAME-002). */
    headerSize: 4,
    /** u8: bit 0 is CHECKSUM, the rest reserved (PW-FRAME-003). */
    flags: 5,
    /** u16 */
    kind: 6,
    /** u32 */
    correlationId: 8,
    /** u32: the message's bytes; the payload takes the rest. */
    messageLength: 12,
});
/**
 * The total size of a frame (PW-FRAME-001): header, message, payload and,
 * with `checksum`, the CRC-32C trailer. `maxFrameSize - frameSize(m, 0, c)`
 * is the room a frame leaves for a payload after an `m`-byte message.
 */
export function frameSize(messageLength, payloadLength, checksum) {
    return FRAME_HEADER_SIZE + messageLength + payloadLength + (checksum ? FRAME_CHECKSUM_SIZE : 0);
}
/** Bytes of the fixed record batch header (spec §5.1). */
export const BATCH_HEADER_SIZE = 57;
/** `base_offset` and `batch_length`: the bytes `batch_length` does not count. */
export const BATCH_LENGTH_PREFIX = 12;
/** Smallest legal `batch_length` (PW-BATCH-001). */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - BATCH_LENGTH_PREFIX;
/** The only v1 magic (PW-BATCH-002). */
export const BATCH_MAGIC = 1;
/**
 * Where each batch header field starts (spec §5.1); all are big-endian.
 * The Rust side names the same offsets (`batch::field` in src/batch.rs).
 */
export const BatchField = Object.freeze({
    /** i64: assigned by the broker, not covered by the CRC (PW-BATCH-004). */
    baseOffset: 0,
    /** u32: the bytes after this field (PW-BATCH-001). */
    batchLength: 8,
    /** u8: 1 (PW-BATCH-002). */
    magic: 12,
    /** u32: CRC-32C of every byte from `attributes` to the end (PW-BATCH-003). */
    crc: 13,
    /** u16: bits 0-2 the compression codec, the rest reserved (PW-BATCH-005). */
    attributes: 17,
    /** u32 (PW-BATCH-006) */
    recordCount: 19,
    /** i64, Unix ms */
    firstTimestamp: 23,
    /** i64, Unix ms (PW-BATCH-008) */
    maxTimestamp: 31,
    /** i64 (PW-BATCH-009) */
    producerId: 39,
    /** i16 */
    producerEpoch: 47,
    /** i32 */
    baseSequence: 49,
    /** u32: the records section's size once decompressed (PW-BATCH-007). */
    uncompressedSize: 53,
});
/** The first byte the batch CRC covers (PW-BATCH-003). */
export const BATCH_CRC_START = BatchField.attributes;
/**
 * The total size (`12 + batch_length`) of the batch starting at `at` in
 * `view`, which must hold at least its first 12 bytes. Nothing is checked:
 * the bytes may be a partial read or a stored log the caller trusts.
 */
export function batchSizeAt(view, at) {
    return BATCH_LENGTH_PREFIX + view.getUint32(at + BatchField.batchLength);
}
/**
 * Walks whole batches laid end to end (a fetch section, or a read of a
 * stored log), calling `visit` for each in order. Every declared length is
 * checked (PW-BATCH-001): a batch shorter than its header or running past
 * the end, or trailing bytes too short to be a batch, throw CORRUPT_BATCH,
 * after the batches before them were visited. Nothing else is checked.
 */
export function forEachBatch(section, visit) {
    const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
    const end = section.byteLength;
    let at = 0;
    while (at < end) {
        const rest = end - at;
        if (rest < BATCH_LENGTH_PREFIX) {
            throw new CodecError("CORRUPT_BATCH", `${rest} trailing bytes are not a batch (PW-BATCH-001)`);
        }
        const size = batchSizeAt(view, at);
        if (size < BATCH_HEADER_SIZE || size > rest) {
            throw new CodecError("CORRUPT_BATCH", `batch at byte ${at} declares ${size} bytes but ${rest} remain (PW-BATCH-001)`);
        }
        // The constructor is markedly faster than subarray() (no species lookup).
        visit(new Uint8Array(section.buffer, section.byteOffset + at, size), view, at);
        at += size;
    }
}
//# sourceMappingURL=layout.js.map