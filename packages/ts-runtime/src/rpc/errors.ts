import { CallStatus } from "@polywire/proto/rpc";
import { PolywireError, type PolywireErrorCode } from "@polywire/core";
import type { Headers } from "./headers.js";

/**
 * A call's responder answered with an application error (CALL_STATUS_ERROR,
 * PW-RPC-022): `code` is APPLICATION_ERROR, distinct from every protocol
 * failure (PW-RPC-046); the application's own code, message and details
 * are on `applicationCode`, `applicationMessage` and `details`.
 *
 * A `serve` handler throws one to answer with an application error.
 */
export class ApplicationError extends PolywireError {
  /** The application's stable code (`NOT_FOUND`). */
  readonly applicationCode: string;
  /** The application's message for humans. */
  readonly applicationMessage: string;
  /** Error details the responder sent (the CallResponse payload); empty when none. */
  readonly details: Uint8Array;
  /** The headers of the error response. */
  readonly headers: Headers;

  // PolywireError's instanceof holds for every copy's errors (a brand); this one narrows it to application errors.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return PolywireError[Symbol.hasInstance](value) && (value as PolywireError).code === "APPLICATION_ERROR" && "applicationCode" in (value as object);
  }

  constructor(applicationCode: string, applicationMessage = "", options: { details?: Uint8Array | string; headers?: Headers } = {}) {
    super("APPLICATION_ERROR", `${applicationCode}${applicationMessage === "" ? "" : `: ${applicationMessage}`}`);
    if (applicationCode === "") throw new PolywireError("INVALID_ARGUMENT", "an application error needs a non-empty code (PW-RPC-022)");
    this.applicationCode = applicationCode;
    this.applicationMessage = applicationMessage;
    this.details = typeof options.details === "string" ? new TextEncoder().encode(options.details) : options.details ?? new Uint8Array(0);
    this.headers = options.headers ?? [];
  }
}

/** The error of a call that ended with a status other than OK and ERROR (PW-RPC-046). */
export function statusError(status: CallStatus, service: string): PolywireError {
  const [code, what]: [PolywireErrorCode, string] = status === CallStatus.NO_RESPONDERS ? ["NO_RESPONDERS", "no responder serves it"]
    : status === CallStatus.DEADLINE_EXCEEDED ? ["TIMEOUT", "its deadline passed"]
    : status === CallStatus.CANCELLED ? ["CANCELLED", "it was cancelled"]
    : status === CallStatus.RESPONDER_GONE ? ["RESPONDER_GONE", "its responder went away"]
    : ["MALFORMED_FRAME", `the broker ended it with status ${status}`];
  return new PolywireError(code, `call to ${service} failed: ${what}`);
}
