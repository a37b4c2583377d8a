import { crc32c } from "./crc32c.js";

/** Bytes of the v1 frame header (PW-FRAME-002). */
export const HEADER_SIZE = 16;
/** Flag bit 0: the frame ends with a CRC-32C (PW-FRAME-004). */
export const FLAG_CHECKSUM = 1;
/** The protocol default maximum frame size (PW-FRAME-007). */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

/**
 * A frame to write, with knobs to break it on purpose: the wire-level cases
 * send frames that a conforming encoder never produces.
 */
export interface RawFrameInit {
  readonly kind: number;
  readonly correlationId: number;
  readonly message?: Uint8Array;
  readonly payload?: Uint8Array;
  /** Sets CHECKSUM and appends the CRC-32C. */
  readonly checksum?: boolean;
  /** Writes a wrong CRC-32C (with `checksum`). */
  readonly corruptChecksum?: boolean;
  /** header_size to write; bytes past 16 are zero extension bytes. Default 16. */
  readonly headerSize?: number;
  /** Extra flag bits (reserved ones, to break PW-FRAME-003). */
  readonly extraFlags?: number;
  /** Writes this `length` instead of the true one. */
  readonly length?: number;
  /** Writes this `message_length` instead of the true one. */
  readonly messageLength?: number;
}

/** Encodes one frame byte for byte as §2 lays it out (or broken as `init` asks). */
export function encodeRawFrame(init: RawFrameInit): Uint8Array {
  const message = init.message ?? new Uint8Array(0);
  const payload = init.payload ?? new Uint8Array(0);
  const headerSize = init.headerSize ?? HEADER_SIZE;
  const physicalHeader = Math.max(headerSize, HEADER_SIZE);
  const checksum = init.checksum === true;
  const total = physicalHeader + message.length + payload.length + (checksum ? 4 : 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, init.length ?? total - 4);
  view.setUint8(4, headerSize);
  view.setUint8(5, (checksum ? FLAG_CHECKSUM : 0) | (init.extraFlags ?? 0));
  view.setUint16(6, init.kind);
  view.setUint32(8, init.correlationId);
  view.setUint32(12, init.messageLength ?? message.length);
  bytes.set(message, physicalHeader);
  bytes.set(payload, physicalHeader + message.length);
  if (checksum) {
    const crc = crc32c(bytes.subarray(0, total - 4));
    view.setUint32(total - 4, init.corruptChecksum === true ? (crc ^ 1) >>> 0 : crc);
  }
  return bytes;
}

/** A frame read from the wire. */
export interface WireFrame {
  readonly kind: number;
  readonly correlationId: number;
  readonly flags: number;
  readonly headerSize: number;
  readonly message: Uint8Array;
  readonly payload: Uint8Array;
  readonly checksum: boolean;
  /** Total size, `4 + length`. */
  readonly size: number;
}

/** Why bytes from a peer are not a valid frame, with the clause the sender broke. */
export class FrameFormatError extends Error {
  override readonly name = "FrameFormatError";
  constructor(
    readonly code: "MALFORMED_FRAME" | "FRAME_TOO_LARGE" | "CHECKSUM_MISMATCH",
    readonly clause: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits a byte stream into frames and checks each one in the order of
 * PW-FRAME-015, the way a receiver must. Once it has thrown, the stream is
 * out of sync and the splitter stays failed.
 */
export class FrameSplitter {
  #buffer = new Uint8Array(0);
  #failed: FrameFormatError | undefined;

  constructor(readonly maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE) {}

  /** Bytes held that do not make a whole frame yet. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Adds bytes and returns every frame they complete. */
  push(chunk: Uint8Array): WireFrame[] {
    if (this.#failed !== undefined) throw this.#failed;
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const frames: WireFrame[] = [];
    let pos = 0;
    try {
      while (joined.length - pos >= 4) {
        const view = new DataView(joined.buffer, joined.byteOffset + pos);
        const length = view.getUint32(0);
        if (4 + length > this.maxFrameSize) {
          throw new FrameFormatError("FRAME_TOO_LARGE", "PW-FRAME-007", `a ${4 + length}-byte frame exceeds the receiver's maximum of ${this.maxFrameSize}`);
        }
        if (joined.length - pos < 4 + length) break;
        frames.push(parseFrame(joined.subarray(pos, pos + 4 + length)));
        pos += 4 + length;
      }
    } catch (error) {
      this.#failed = error as FrameFormatError;
      throw error;
    }
    this.#buffer = joined.slice(pos);
    return frames;
  }
}

/** Checks and splits one whole frame (`bytes` is exactly `4 + length` long). */
export function parseFrame(bytes: Uint8Array): WireFrame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0);
  if (length < HEADER_SIZE - 4 || bytes.length < HEADER_SIZE) {
    throw new FrameFormatError("MALFORMED_FRAME", "PW-FRAME-001", `length ${length} is below the 12 header bytes after it`);
  }
  const headerSize = view.getUint8(4);
  if (headerSize < HEADER_SIZE || headerSize > bytes.length) {
    throw new FrameFormatError("MALFORMED_FRAME", "PW-FRAME-002", `header_size ${headerSize} is not within 16 and the frame`);
  }
  const flags = view.getUint8(5);
  if ((flags & ~FLAG_CHECKSUM) !== 0) {
    throw new FrameFormatError("MALFORMED_FRAME", "PW-FRAME-003", `reserved flag bits set: 0x${flags.toString(16)}`);
  }
  const checksum = (flags & FLAG_CHECKSUM) !== 0;
  const messageLength = view.getUint32(12);
  const room = bytes.length - headerSize - (checksum ? 4 : 0);
  if (room < 0 || messageLength > room) {
    throw new FrameFormatError("MALFORMED_FRAME", "PW-FRAME-001", `message_length ${messageLength} exceeds the ${Math.max(room, 0)} bytes left after the header`);
  }
  if (checksum) {
    const expected = view.getUint32(bytes.length - 4);
    const actual = crc32c(bytes.subarray(0, bytes.length - 4));
    if (expected !== actual) {
      throw new FrameFormatError("CHECKSUM_MISMATCH", "PW-FRAME-004", `frame CRC-32C is 0x${expected.toString(16)}, expected 0x${actual.toString(16)}`);
    }
  }
  const messageEnd = headerSize + messageLength;
  return {
    kind: view.getUint16(6),
    correlationId: view.getUint32(8),
    flags,
    headerSize,
    message: bytes.slice(headerSize, messageEnd),
    payload: bytes.slice(messageEnd, bytes.length - (checksum ? 4 : 0)),
    checksum,
    size: bytes.length,
  };
}

/** Hex of `bytes`, for reports. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a hex string. */
export function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
