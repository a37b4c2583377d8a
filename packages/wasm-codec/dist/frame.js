import { invalid, requireBytes, requireInteger } from "./errors.js";
import { FRAME_HEADER_SIZE, FRAME_LENGTH_PREFIX, FrameField } from "./layout.js";
import { check, failed, memory, outputCopy, reserveInput, wasm } from "./wasm.js";
/** Encodes one frame with header_size 16 (PW-FRAME-001/002), with a CRC-32C trailer when `checksum` is set. */
export function encodeFrame(frame) {
    const w = wasm();
    const kind = requireInteger(frame.kind, "kind", 0, 0xffff);
    const correlationId = requireInteger(frame.correlationId, "correlationId", 0, 0xffff_ffff);
    const message = requireBytes(frame.message, "message");
    const payload = frame.payload === undefined ? new Uint8Array(0) : requireBytes(frame.payload, "payload");
    try {
        const ptr = reserveInput(message.length + payload.length);
        const mem = memory();
        mem.set(message, ptr);
        mem.set(payload, ptr + message.length);
        check(w.pw_encode_frame(kind, correlationId, message.length, payload.length, frame.checksum === true ? 1 : 0));
        return outputCopy();
    }
    catch (error) {
        return failed(error, "encodeFrame");
    }
}
/**
 * The start of a frame without CHECKSUM: the 16-byte header (PW-FRAME-001/002)
 * and `message`, with `room` spare bytes after them. The caller sends the
 * payload of `payloadLength` bytes right after it, either copied into the
 * room (`room` = `payloadLength`) or as its own write on a byte stream, so a
 * large payload is never copied. Built in JavaScript: for the small headers
 * of hot requests this costs less than the call into WASM, and the bytes
 * equal `encodeFrame`'s (its tests check that).
 */
export function encodeFrameHead(kind, correlationId, message, payloadLength, room = 0) {
    requireInteger(kind, "kind", 0, 0xffff);
    requireInteger(correlationId, "correlationId", 0, 0xffff_ffff);
    requireBytes(message, "message");
    requireInteger(payloadLength, "payloadLength", 0, 0xffff_ffff);
    if (room !== 0 && room !== payloadLength)
        invalid("room must be 0 or payloadLength");
    const length = FRAME_HEADER_SIZE - FRAME_LENGTH_PREFIX + message.length + payloadLength;
    if (length > 0xffff_ffff)
        invalid(`a frame of ${length + 4} bytes cannot be encoded`);
    const head = new Uint8Array(FRAME_HEADER_SIZE + message.length + room);
    const dv = new DataView(head.buffer);
    dv.setUint32(FrameField.length, length);
    head[FrameField.headerSize] = FRAME_HEADER_SIZE;
    dv.setUint16(FrameField.kind, kind);
    dv.setUint32(FrameField.correlationId, correlationId);
    dv.setUint32(FrameField.messageLength, message.length);
    head.set(message, FRAME_HEADER_SIZE);
    return head;
}
//# sourceMappingURL=frame.js.map