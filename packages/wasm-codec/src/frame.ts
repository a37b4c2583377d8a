import { invalid, requireBytes, requireInteger } from "./errors.js";
import { FRAME_HEADER_SIZE, FRAME_LENGTH_PREFIX, FrameField } from "./layout.js";
import { check, failed, memory, outputCopy, reserveInput, wasm } from "./wasm.js";

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
export function encodeFrame(frame: FrameInput): Uint8Array {
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
  } catch (error) {
    return failed(error, "encodeFrame");
  }
}

/**
 * Writes the 16-byte header of a frame without CHECKSUM (PW-FRAME-001/002)
 * at `out[at]`, for a message of `messageLength` bytes and a payload of
 * `payloadLength` behind it; returns where the message starts. For writers
 * that lay frames into a buffer of their own (a socket's output): no buffer
 * is allocated here. Built in JavaScript: for the small headers of hot
 * requests this costs less than the call into WASM, and the bytes equal
 * `encodeFrame`'s (its tests check that, through {@link encodeFrameHead}).
 */
export function putFrameHead(out: Uint8Array, at: number, kind: number, correlationId: number, messageLength: number, payloadLength: number): number {
  requireInteger(kind, "kind", 0, 0xffff);
  requireInteger(correlationId, "correlationId", 0, 0xffff_ffff);
  requireInteger(messageLength, "messageLength", 0, 0xffff_ffff);
  requireInteger(payloadLength, "payloadLength", 0, 0xffff_ffff);
  const length = FRAME_HEADER_SIZE - FRAME_LENGTH_PREFIX + messageLength + payloadLength;
  if (length > 0xffff_ffff) invalid(`a frame of ${length + 4} bytes cannot be encoded`);
  if (at < 0 || at + FRAME_HEADER_SIZE > out.length) invalid("the frame header does not fit in the buffer");
  putU32(out, at + FrameField.length, length);
  out[at + FrameField.headerSize] = FRAME_HEADER_SIZE;
  out[at + FrameField.flags] = 0;
  out[at + FrameField.kind] = kind >>> 8;
  out[at + FrameField.kind + 1] = kind & 0xff;
  putU32(out, at + FrameField.correlationId, correlationId);
  putU32(out, at + FrameField.messageLength, messageLength);
  return at + FRAME_HEADER_SIZE;
}

function putU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

/**
 * The start of a frame without CHECKSUM: the 16-byte header (PW-FRAME-001/002)
 * and `message`, with `room` spare bytes after them. The caller sends the
 * payload of `payloadLength` bytes right after it, either copied into the
 * room (`room` = `payloadLength`) or as its own write on a byte stream, so a
 * large payload is never copied.
 */
export function encodeFrameHead(kind: number, correlationId: number, message: Uint8Array, payloadLength: number, room = 0): Uint8Array {
  requireBytes(message, "message");
  if (room !== 0 && room !== payloadLength) invalid("room must be 0 or payloadLength");
  requireInteger(payloadLength, "payloadLength", 0, 0xffff_ffff);
  if (FRAME_HEADER_SIZE - FRAME_LENGTH_PREFIX + message.length + payloadLength > 0xffff_ffff) invalid(`a frame of ${FRAME_HEADER_SIZE + message.length + payloadLength} bytes cannot be encoded`);
  const head = new Uint8Array(FRAME_HEADER_SIZE + message.length + room);
  head.set(message, putFrameHead(head, 0, kind, correlationId, message.length, payloadLength));
  return head;
}
