import { ErrorCode } from "@polywire/proto/session";
import { PolywireError, errorCodeName } from "@polywire/core";

/**
 * The outcome fields of a response, or of one result in it (a topic of a
 * MetadataResponse, a partition of a FetchResponse): `error_code`, and on
 * the responses that have one, `error_message`.
 */
export interface Outcome {
  readonly errorCode: ErrorCode;
  readonly errorMessage?: string;
}

/** How to describe an error a response carries. */
export interface OutcomeContext {
  /** What failed, put before the code: `listing offsets of orders/0`. */
  readonly what?: string;
  /** Said after the code: why it happened, how to fix it. */
  readonly detail?: string;
  /** The clause that defines the answer, put last in parentheses. */
  readonly clause?: string;
  /** The limit exceeded, for limit errors. */
  readonly limit?: number;
}

/**
 * The error an outcome carries as a `PolywireError`, or undefined when it
 * carries none. The message is `what: code-or-broker-message detail
 * (clause)`; the wire number is kept (PW-SESS-014: an unknown code is
 * INTERNAL but its number survives).
 */
export function responseError(outcome: Outcome, context: OutcomeContext = {}): PolywireError | undefined {
  if (outcome.errorCode === ErrorCode.UNSPECIFIED) return undefined;
  const code = errorCodeName(outcome.errorCode);
  const { what, detail = "", clause, limit } = context;
  const said = outcome.errorMessage || code;
  const message = `${what === undefined ? "" : `${what}: `}${said}${detail}${clause === undefined ? "" : ` (${clause})`}`;
  return new PolywireError(code, message, { wireCode: outcome.errorCode, ...(limit === undefined ? {} : { limit }) });
}

/** Throws the error an outcome carries (see {@link responseError}); returns when it carries none. */
export function throwIfError(outcome: Outcome, context?: OutcomeContext): void {
  const error = responseError(outcome, context);
  if (error !== undefined) throw error;
}
