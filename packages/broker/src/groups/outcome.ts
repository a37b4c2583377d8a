import type { ErrorCode } from "@polywire/proto/session";

/** The ErrorCode names a group request can fail with as a whole (PW-SESS-012). */
export type GroupErrorName = Extract<
  keyof typeof ErrorCode,
  | "INVALID_ARGUMENT"
  | "INVALID_TOPIC"
  | "UNKNOWN_MEMBER_ID"
  | "FENCED_MEMBER_EPOCH"
  | "UNRELEASED_INSTANCE_ID"
  | "UNSUPPORTED_ASSIGNOR"
  | "STALE_MEMBER_EPOCH"
  | "GROUP_MAX_SIZE_REACHED"
  | "GROUP_NOT_EMPTY"
  | "UNKNOWN_GROUP"
  | "STORAGE"
>;

/**
 * A request's result: its response, or the failure of the whole request,
 * which the session answers with an Error frame (PW-SESS-012). Returned, not
 * thrown, because these failures are ordinary protocol outcomes.
 */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: GroupErrorName; readonly message: string };

export function success<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function failure<T>(code: GroupErrorName, message: string): Outcome<T> {
  return { ok: false, code, message };
}
