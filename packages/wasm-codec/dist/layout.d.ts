/** Bytes of the v1 frame header, `length` field included (PW-FRAME-001). */
export declare const FRAME_HEADER_SIZE: 16;
/** The `length` field: the bytes `length` does not count. */
export declare const FRAME_LENGTH_PREFIX: 4;
/** Bytes of the CRC-32C a frame with the CHECKSUM flag ends with (PW-FRAME-004). */
export declare const FRAME_CHECKSUM_SIZE: 4;
/** Flag bit 0: the frame ends with a CRC-32C of every byte before it (PW-FRAME-004). */
export declare const FLAG_CHECKSUM: 1;
/** Default maximum frame size: 16 MiB (PW-FRAME-007). */
export declare const DEFAULT_MAX_FRAME_SIZE: number;
/** Where each frame header field starts (spec §2.1); all are big-endian. */
export declare const FrameField: Readonly<{
    /** u32: the bytes after this field. */
    readonly length: 0;
    /** u8: at least 16 (PW-FRAME-002). */
    readonly headerSize: 4;
    /** u8: bit 0 is CHECKSUM, the rest reserved (PW-FRAME-003). */
    readonly flags: 5;
    /** u16 */
    readonly kind: 6;
    /** u32 */
    readonly correlationId: 8;
    /** u32: the message's bytes; the payload takes the rest. */
    readonly messageLength: 12;
}>;
/**
 * The total size of a frame (PW-FRAME-001): header, message, payload and,
 * with `checksum`, the CRC-32C trailer. `maxFrameSize - frameSize(m, 0, c)`
 * is the room a frame leaves for a payload after an `m`-byte message.
 */
export declare function frameSize(messageLength: number, payloadLength: number, checksum: boolean): number;
/** Bytes of the fixed record batch header (spec §5.1). */
export declare const BATCH_HEADER_SIZE: 57;
/** `base_offset` and `batch_length`: the bytes `batch_length` does not count. */
export declare const BATCH_LENGTH_PREFIX: 12;
/** Smallest legal `batch_length` (PW-BATCH-001). */
export declare const MIN_BATCH_LENGTH: number;
/** The only v1 magic (PW-BATCH-002). */
export declare const BATCH_MAGIC: 1;
/**
 * Where each batch header field starts (spec §5.1); all are big-endian.
 * The Rust side names the same offsets (`batch::field` in src/batch.rs).
 */
export declare const BatchField: Readonly<{
    /** i64: assigned by the broker, not covered by the CRC (PW-BATCH-004). */
    readonly baseOffset: 0;
    /** u32: the bytes after this field (PW-BATCH-001). */
    readonly batchLength: 8;
    /** u8: 1 (PW-BATCH-002). */
    readonly magic: 12;
    /** u32: CRC-32C of every byte from `attributes` to the end (PW-BATCH-003). */
    readonly crc: 13;
    /** u16: bits 0-2 the compression codec, the rest reserved (PW-BATCH-005). */
    readonly attributes: 17;
    /** u32 (PW-BATCH-006) */
    readonly recordCount: 19;
    /** i64, Unix ms */
    readonly firstTimestamp: 23;
    /** i64, Unix ms (PW-BATCH-008) */
    readonly maxTimestamp: 31;
    /** i64 (PW-BATCH-009) */
    readonly producerId: 39;
    /** i16 */
    readonly producerEpoch: 47;
    /** i32 */
    readonly baseSequence: 49;
    /** u32: the records section's size once decompressed (PW-BATCH-007). */
    readonly uncompressedSize: 53;
}>;
/** The first byte the batch CRC covers (PW-BATCH-003). */
export declare const BATCH_CRC_START: 17;
/**
 * The total size (`12 + batch_length`) of the batch starting at `at` in
 * `view`, which must hold at least its first 12 bytes. Nothing is checked:
 * the bytes may be a partial read or a stored log the caller trusts.
 */
export declare function batchSizeAt(view: DataView, at: number): number;
/**
 * Called by {@link forEachBatch} with each batch as a view of the section,
 * and the section's DataView with the batch's position in it, to read header
 * fields at `at + BatchField.…` without another view.
 */
export type BatchVisitor = (batch: Uint8Array, view: DataView, at: number) => void;
/**
 * Walks whole batches laid end to end (a fetch section, or a read of a
 * stored log), calling `visit` for each in order. Every declared length is
 * checked (PW-BATCH-001): a batch shorter than its header or running past
 * the end, or trailing bytes too short to be a batch, throw CORRUPT_BATCH,
 * after the batches before them were visited. Nothing else is checked.
 */
export declare function forEachBatch(section: Uint8Array, visit: BatchVisitor): void;
//# sourceMappingURL=layout.d.ts.map