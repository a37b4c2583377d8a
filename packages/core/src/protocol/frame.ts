import { FLAG_CHECKSUM, FRAME_HEADER_SIZE } from "@polywire/wasm-codec";

/** The protocol version this library speaks (PW-SESS-003). */
export const PROTOCOL_VERSION = 1;

/** No end's maximum frame size may be smaller (PW-FRAME-020): every handshake frame fits it. */
export const MIN_MAX_FRAME_SIZE = 65_536;

/** PW-FRAME-017: the largest frame a broker reads before it has sent Welcome (or its own maximum, if smaller). */
export const PRE_HANDSHAKE_MAX_FRAME_SIZE = 65_536;

/** Bytes of the CRC-32C trailer of a frame with the CHECKSUM flag (PW-FRAME-004). */
export const CHECKSUM_SIZE = 4;

/** The total size of a frame (PW-FRAME-001): header, message, payload and optional checksum. */
export function frameSize(messageLength: number, payloadLength: number, checksum: boolean): number {
  return FRAME_HEADER_SIZE + messageLength + payloadLength + (checksum ? CHECKSUM_SIZE : 0);
}

/** True when a received frame carries the CHECKSUM flag (PW-FRAME-004). */
export function hasChecksum(flags: number): boolean {
  return (flags & FLAG_CHECKSUM) !== 0;
}
