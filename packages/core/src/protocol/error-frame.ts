import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorSchema } from "@polywire/proto/session";
import type { Frame } from "@polywire/wasm-codec";
import { PolywireError, errorCodeName, type SupportedVersions } from "../errors.js";
import { decodeMessage } from "./decode.js";

/** What an Error frame says besides the error itself. */
export interface ErrorFrameExtra {
  /** With UNSUPPORTED_VERSION in answer to Hello: the versions this end speaks (PW-SESS-004). */
  readonly supportedVersions?: SupportedVersions;
  /** On a connection-level Error caused by one request: that request's correlation id (PW-FRAME-016). */
  readonly requestCorrelationId?: number;
}

/**
 * The message section of an Error frame for `error`: its wire code, message,
 * `retriable`, `retry_after_ms` and `limit`, plus `extra`.
 */
export function errorMessage(error: PolywireError, extra: ErrorFrameExtra = {}): Uint8Array {
  const versions = extra.supportedVersions ?? error.supportedVersions;
  return toBinary(ErrorSchema, create(ErrorSchema, {
    code: error.wireCode,
    message: error.message,
    retriable: error.retriable,
    retryAfterMs: error.retryAfterMs,
    limit: error.limit ?? 0n,
    requestCorrelationId: extra.requestCorrelationId ?? 0,
    ...(versions === undefined ? {} : { supportedVersions: { min: versions.min, max: versions.max } }),
  }));
}

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
