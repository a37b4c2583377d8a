import { ErrorCode } from "@polywire/proto/session";

/**
 * The stable error codes: the spec's `ErrorCode` names without the
 * `ERROR_CODE_` prefix (`"UNKNOWN_TOPIC"`, `"TIMEOUT"`, ...). Codec errors use
 * the same vocabulary, so a corrupt batch is `"CORRUPT_BATCH"` whether the
 * broker or the local codec found it.
 */
export type PolywireErrorCode = Exclude<keyof typeof ErrorCode, "UNSPECIFIED">;

/** The range of protocol versions a broker reported with UNSUPPORTED_VERSION. */
export interface SupportedVersions {
  readonly min: number;
  readonly max: number;
}

/**
 * Why a TLS handshake failed over a certificate, on `PolywireError.tls`
 * (AUTHENTICATION_FAILED). Retrying with the same settings cannot help.
 */
export interface TlsFailure {
  /**
   * "broker" when the broker refused this client's certificate (it sent a
   * TLS alert, or the Error of PW-TRANS-009); "client" when this client
   * refused the broker's certificate.
   */
  readonly refusedBy: "broker" | "client";
  /**
   * The reason in words: the TLS alert's description ("unknown ca", "bad
   * certificate", "certificate required", ...) or the verification failure
   * ("self-signed certificate in certificate chain", ...).
   */
  readonly reason: string;
  /** The TLS alert number (RFC 8446 §6) when the broker sent an alert: 42 bad certificate, 48 unknown ca, 116 certificate required, ... */
  readonly alert?: number;
  /** The runtime's code for it, e.g. "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA" or "SELF_SIGNED_CERT_IN_CHAIN". */
  readonly code?: string;
}

/** Options of the {@link PolywireError} constructor. */
export interface PolywireErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Overrides the default retriability of the code (PW-SESS-013). */
  retriable?: boolean;
  /** With a limit error: the limit that was exceeded. */
  limit?: number | bigint;
  /** With UNSUPPORTED_VERSION: the versions the broker speaks. */
  supportedVersions?: SupportedVersions;
  /** A broker's hint for how long to wait before retrying, in ms. */
  retryAfterMs?: number;
  /**
   * The numeric code as received on the wire. Set it when the number is not a
   * code this library knows (PW-SESS-014): `code` is then `"INTERNAL"`.
   */
  wireCode?: number;
  /** With AUTHENTICATION_FAILED from a TLS handshake: who refused which certificate, and why. */
  tls?: TlsFailure;
}

// The brand keeps the name it had when the class lived in @polywire/runtime,
// so that errors made by an older copy of the runtime still pass instanceof.
const brand = Symbol.for("@polywire/runtime/PolywireError");

const retriableCodes: ReadonlySet<PolywireErrorCode> = new Set<PolywireErrorCode>([
  "TIMEOUT",
  "TOO_MANY_IN_FLIGHT",
  "SHUTTING_DOWN",
  "STORAGE",
  "RESOURCE_EXHAUSTED",
  "CONNECTION_LOST",
  "TOO_MANY_CONNECTIONS",
]);

/**
 * True when a request that failed with `code` may succeed if sent again:
 * the codes PW-SESS-013 lists (the "retriable" column of the spec's §12
 * table).
 */
export function isRetriableCode(code: PolywireErrorCode): boolean {
  return retriableCodes.has(code);
}

/**
 * Maps a wire `ErrorCode` number to its stable name. Unknown numbers map to
 * `"INTERNAL"` (PW-SESS-014); the caller keeps the number in `wireCode`.
 */
export function errorCodeName(value: number): PolywireErrorCode {
  const name = (ErrorCode as unknown as Record<number, string | undefined>)[value];
  if (name === undefined || name === "UNSPECIFIED") return "INTERNAL";
  return name as PolywireErrorCode;
}

/** Maps a stable code name to its wire number. */
export function errorCodeNumber(code: PolywireErrorCode): ErrorCode {
  return ErrorCode[code];
}

/**
 * The one error class of Polywire. Every failure a caller can see, from the
 * broker (an Error frame), the codec (a corrupt batch) or the transport (a
 * dropped connection), is a `PolywireError` with a stable `code`.
 *
 * `instanceof PolywireError` also holds for errors created by another copy of
 * this package (two versions in one bundle): the check looks at a
 * `Symbol.for` brand, not at the prototype chain.
 */
export class PolywireError extends Error {
  /** The stable error code. */
  readonly code: PolywireErrorCode;
  /** The numeric code as sent on the wire (differs from `code` only for codes unknown here). */
  readonly wireCode: number;
  /** True when sending the same request again may succeed. */
  readonly retriable: boolean;
  /** With a limit error: the limit that was exceeded. */
  readonly limit: bigint | undefined;
  /** With UNSUPPORTED_VERSION: the broker's version range. */
  readonly supportedVersions: SupportedVersions | undefined;
  /** A broker's hint for how long to wait before retrying, in ms (0: no hint). */
  readonly retryAfterMs: number;
  /** Set when a TLS handshake failed over a certificate (code AUTHENTICATION_FAILED). */
  readonly tls: TlsFailure | undefined;

  constructor(code: PolywireErrorCode, message: string, options: PolywireErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PolywireError";
    this.code = code;
    this.wireCode = options.wireCode ?? ErrorCode[code];
    this.retriable = options.retriable ?? isRetriableCode(code);
    this.limit = options.limit === undefined ? undefined : BigInt(options.limit);
    this.supportedVersions = options.supportedVersions;
    this.retryAfterMs = options.retryAfterMs ?? 0;
    this.tls = options.tls;
    Object.defineProperty(this, brand, { value: true });
  }

  /**
   * The error as JSON, for logs: name, code, message, retriable, and the
   * optional details that are set (`limit` as a decimal string).
   * `JSON.stringify(error)` would otherwise throw on the bigint `limit`.
   */
  toJSON(): { name: string; code: PolywireErrorCode; message: string; retriable: boolean; wireCode?: number; limit?: string; supportedVersions?: SupportedVersions; retryAfterMs?: number; tls?: TlsFailure } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      ...(this.wireCode === ErrorCode[this.code] ? {} : { wireCode: this.wireCode }),
      ...(this.limit === undefined ? {} : { limit: this.limit.toString() }),
      ...(this.supportedVersions === undefined ? {} : { supportedVersions: this.supportedVersions }),
      ...(this.retryAfterMs === 0 ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.tls === undefined ? {} : { tls: this.tls }),
    };
  }

  /**
   * A copy of this error with another message, every other field kept and
   * this error as its cause: for adding where a failure happened.
   */
  rephrased(message: string): PolywireError {
    return new PolywireError(this.code, message, {
      cause: this,
      retriable: this.retriable,
      wireCode: this.wireCode,
      retryAfterMs: this.retryAfterMs,
      ...(this.limit === undefined ? {} : { limit: this.limit }),
      ...(this.supportedVersions === undefined ? {} : { supportedVersions: this.supportedVersions }),
      ...(this.tls === undefined ? {} : { tls: this.tls }),
    });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /**
   * Converts anything thrown into a `PolywireError`: a `PolywireError` is
   * returned as is, a codec error keeps its code, an AbortSignal reason
   * becomes CANCELLED or TIMEOUT, and anything else becomes `fallback`
   * (default INTERNAL) with the original as `cause`.
   */
  static from(reason: unknown, fallback: PolywireErrorCode = "INTERNAL"): PolywireError {
    if (reason instanceof PolywireError) return reason;
    if (typeof reason === "object" && reason !== null) {
      const name = (reason as { name?: unknown }).name;
      const message = String((reason as { message?: unknown }).message ?? reason);
      if (name === "TimeoutError") return new PolywireError("TIMEOUT", message, { cause: reason });
      if (name === "AbortError") return new PolywireError("CANCELLED", message, { cause: reason });
      if (name === "CodecError") {
        const code = (reason as { code?: unknown }).code;
        const mapped = typeof code === "string" && code in ErrorCode && code !== "UNSPECIFIED"
          ? (code as PolywireErrorCode)
          : "INTERNAL";
        return new PolywireError(mapped, message, { cause: reason });
      }
      return new PolywireError(fallback, message, { cause: reason });
    }
    return new PolywireError(fallback, String(reason), { cause: reason });
  }
}
