// Reads one frame the way spec §2 says a receiver must, checking in the order
// of PW-FRAME-015. Independent of scripts/vectors (the generator) and of
// packages/wasm-codec (the implementation under test elsewhere).
import { crc32c } from "./crc32c.js";
import { WireError } from "./wire-error.js";

export interface Frame {
  length: number;
  headerSize: number;
  flags: number;
  kind: number;
  correlationId: number;
  messageLength: number;
  message: Uint8Array;
  payload: Uint8Array;
  checksum: number | null;
}

const malformed = (detail: string) => new WireError("ERROR_CODE_MALFORMED_FRAME", detail);

export function readFrame(bytes: Uint8Array, maxFrameSize = 16 * 1024 * 1024): Frame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw malformed("shorter than the length field");
  const length = view.getUint32(0);
  if (4 + length > maxFrameSize) throw new WireError("ERROR_CODE_FRAME_TOO_LARGE", `${4 + length} > ${maxFrameSize}`);
  if (length < 12) throw malformed(`length ${length} < 12`);
  if (bytes.length !== 4 + length) throw malformed(`length ${length} but ${bytes.length - 4} bytes follow`);
  const headerSize = view.getUint8(4);
  if (headerSize < 16 || headerSize > 4 + length) throw malformed(`header_size ${headerSize}`);
  const flags = view.getUint8(5);
  if ((flags & 0xfe) !== 0) throw malformed(`reserved flags ${flags.toString(2)}`);
  const hasChecksum = (flags & 1) === 1;
  const messageLength = view.getUint32(12);
  const room = 4 + length - headerSize - (hasChecksum ? 4 : 0);
  if (messageLength > room) throw malformed(`message_length ${messageLength} > ${room}`);
  let checksum: number | null = null;
  if (hasChecksum) {
    checksum = view.getUint32(bytes.length - 4);
    const actual = crc32c(bytes.subarray(0, bytes.length - 4));
    if (checksum !== actual) throw new WireError("ERROR_CODE_CHECKSUM_MISMATCH", `${checksum} != ${actual}`);
  }
  const message = bytes.subarray(headerSize, headerSize + messageLength);
  const payload = bytes.subarray(headerSize + messageLength, bytes.length - (hasChecksum ? 4 : 0));
  return { length, headerSize, flags, kind: view.getUint16(6), correlationId: view.getUint32(8), messageLength, message, payload, checksum };
}

/** Encodes a v1 frame (header_size 16). */
export function writeFrame(kind: number, correlationId: number, message: Uint8Array, payload: Uint8Array, checksum: boolean): Uint8Array {
  const out = new Uint8Array(16 + message.length + payload.length + (checksum ? 4 : 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length - 4);
  view.setUint8(4, 16);
  view.setUint8(5, checksum ? 1 : 0);
  view.setUint16(6, kind);
  view.setUint32(8, correlationId);
  view.setUint32(12, message.length);
  out.set(message, 16);
  out.set(payload, 16 + message.length);
  if (checksum) view.setUint32(out.length - 4, crc32c(out.subarray(0, out.length - 4)));
  return out;
}
