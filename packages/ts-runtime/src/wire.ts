import { ErrorSchema, FrameKind } from "@polywire/proto/session";
import type { Frame } from "@polywire/wasm-codec";
import { decodeMessage } from "./decode.js";
import { PolywireError, errorCodeName } from "./errors.js";

/** The protocol version this library speaks (PW-SESS-003). */
export const PROTOCOL_VERSION = 1;

/** No end's maximum frame size may be smaller (PW-FRAME-020): every handshake frame fits it. */
export const MIN_MAX_FRAME_SIZE = 65_536;

/** Every frame kind v1 defines; anything else is answered with UNKNOWN_FRAME_KIND (PW-FRAME-009). */
export const frameKinds: ReadonlySet<number> = new Set(
  Object.values(FrameKind).filter((v): v is number => typeof v === "number" && v !== 0),
);

/** The total size of a frame (PW-FRAME-001): the codec owns the wire layout. */
export { frameSize } from "@polywire/wasm-codec";

/**
 * Turns an Error frame into a `PolywireError`, keeping the numeric code of
 * codes unknown here (PW-SESS-014), `retriable`, `limit`,
 * `supportedVersions` and `retryAfterMs`; a `request_correlation_id` is
 * named in the message.
 */
export function errorFromFrame(frame: Frame): PolywireError {
  let decoded;
  try {
    decoded = decodeMessage(ErrorSchema, frame.message);
  } catch (cause) {
    return new PolywireError("MALFORMED_FRAME", "cannot decode an Error frame", { cause });
  }
  const code = errorCodeName(decoded.code);
  // A connection-level Error caused by one request names it (PW-FRAME-016).
  const text = decoded.message || code;
  const message = decoded.requestCorrelationId === 0 ? text : `${text} (request correlation id ${decoded.requestCorrelationId})`;
  return new PolywireError(code, message, {
    wireCode: decoded.code,
    retriable: decoded.retriable,
    retryAfterMs: decoded.retryAfterMs,
    ...(decoded.limit === 0n ? {} : { limit: decoded.limit }),
    ...(decoded.supportedVersions === undefined ? {} : { supportedVersions: { min: decoded.supportedVersions.min, max: decoded.supportedVersions.max } }),
  });
}
