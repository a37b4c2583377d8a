import { FLAG_CHECKSUM } from "@polywire/wasm-codec";

// The frame layout (header and trailer sizes, a frame's total size) is the
// codec's (its layout module); core re-exports the names protocol code uses.
export { FRAME_CHECKSUM_SIZE as CHECKSUM_SIZE, frameSize } from "@polywire/wasm-codec";

/** The protocol version this library speaks (PW-SESS-003). */
export const PROTOCOL_VERSION = 1;

/** No end's maximum frame size may be smaller (PW-FRAME-020): every handshake frame fits it. */
export const MIN_MAX_FRAME_SIZE = 65_536;

/** PW-FRAME-017: the largest frame a broker reads before it has sent Welcome (or its own maximum, if smaller). */
export const PRE_HANDSHAKE_MAX_FRAME_SIZE = 65_536;

/** True when a received frame carries the CHECKSUM flag (PW-FRAME-004). */
export function hasChecksum(flags: number): boolean {
  return (flags & FLAG_CHECKSUM) !== 0;
}
