// The frame layout of spec §2, written field by field.
import { crc32c } from "./crc32c.mjs";

export const HEADER_SIZE = 16;
export const FLAG_CHECKSUM = 0x01;

/**
 * Encodes one frame. `extension` adds header-extension bytes (a receiver
 * must skip them, PW-FRAME-002); senders of v1 never do, so only decode
 * vectors use it.
 */
export function encodeFrame({ kind, correlationId, message = new Uint8Array(0), payload = new Uint8Array(0), checksum = false, extension = new Uint8Array(0) }) {
  const headerSize = HEADER_SIZE + extension.length;
  const total = headerSize + message.length + payload.length + (checksum ? 4 : 0);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, total - 4);
  view.setUint8(4, headerSize);
  view.setUint8(5, checksum ? FLAG_CHECKSUM : 0);
  view.setUint16(6, kind);
  view.setUint32(8, correlationId);
  view.setUint32(12, message.length);
  frame.set(extension, HEADER_SIZE);
  frame.set(message, headerSize);
  frame.set(payload, headerSize + message.length);
  if (checksum) view.setUint32(total - 4, crc32c(frame.subarray(0, total - 4)));
  return frame;
}

/** The header fields of an encoded frame, for the JSON description. */
export function describeHeader(frame) {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    length: view.getUint32(0),
    headerSize: view.getUint8(4),
    flags: view.getUint8(5),
    kind: view.getUint16(6),
    correlationId: view.getUint32(8),
    messageLength: view.getUint32(12),
  };
}
