/**
 * A decoded frame (spec §2). `message` and `payload` are views: into the
 * chunk given to `FrameDecoder.push` when the frame arrived inside it, else
 * into one buffer holding just this frame.
 */
export interface Frame {
    kind: number;
    flags: number;
    correlationId: number;
    message: Uint8Array;
    payload: Uint8Array;
}
/** What `encodeFrame` takes; `payload` defaults to empty, `checksum` to false. */
export interface FrameInput {
    kind: number;
    correlationId: number;
    message: Uint8Array;
    payload?: Uint8Array;
    checksum?: boolean;
}
/** Encodes one frame with header_size 16 (PW-FRAME-001/002), with a CRC-32C trailer when `checksum` is set. */
export declare function encodeFrame(frame: FrameInput): Uint8Array;
/**
 * Writes the 16-byte header of a frame without CHECKSUM (PW-FRAME-001/002)
 * at `out[at]`, for a message of `messageLength` bytes and a payload of
 * `payloadLength` behind it; returns where the message starts. For writers
 * that lay frames into a buffer of their own (a socket's output): no buffer
 * is allocated here. Built in JavaScript: for the small headers of hot
 * requests this costs less than the call into WASM, and the bytes equal
 * `encodeFrame`'s (its tests check that, through {@link encodeFrameHead}).
 */
export declare function putFrameHead(out: Uint8Array, at: number, kind: number, correlationId: number, messageLength: number, payloadLength: number): number;
/**
 * The start of a frame without CHECKSUM: the 16-byte header (PW-FRAME-001/002)
 * and `message`, with `room` spare bytes after them. The caller sends the
 * payload of `payloadLength` bytes right after it, either copied into the
 * room (`room` = `payloadLength`) or as its own write on a byte stream, so a
 * large payload is never copied.
 */
export declare function encodeFrameHead(kind: number, correlationId: number, message: Uint8Array, payloadLength: number, room?: number): Uint8Array;
//# sourceMappingURL=frame.d.ts.map