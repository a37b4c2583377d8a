import { Code, ConnectError } from "@connectrpc/connect";
import { StorageError, type StorageErrorCode } from "../storage/errors.js";

// Every storage code, so a new one cannot be added without deciding its
// Connect code (PW-ADMIN-002). The data-plane codes cannot come out of an
// admin RPC today; they are mapped as a Connect user would read them.
const CONNECT_CODES: Readonly<Record<StorageErrorCode, Code>> = {
  UNKNOWN_TOPIC: Code.NotFound,
  UNKNOWN_PARTITION: Code.NotFound,
  TOPIC_ALREADY_EXISTS: Code.AlreadyExists,
  INVALID_TOPIC: Code.InvalidArgument,
  INVALID_CONFIG: Code.InvalidArgument,
  INVALID_ARGUMENT: Code.InvalidArgument,
  OFFSET_OUT_OF_RANGE: Code.OutOfRange,
  BATCH_TOO_LARGE: Code.InvalidArgument,
  OUT_OF_ORDER_SEQUENCE: Code.FailedPrecondition,
  PRODUCER_FENCED: Code.FailedPrecondition,
  UNKNOWN_PRODUCER: Code.FailedPrecondition,
  STORAGE: Code.Internal,
  SHUTTING_DOWN: Code.Unavailable,
};

/**
 * A ConnectError whose message starts with the ErrorCode name (PW-ERR-005),
 * e.g. `ERROR_CODE_INVALID_CONFIG: unknown topic config key "x"`, so tools
 * can map it back.
 */
export function adminError(code: Code, errorCode: string, message: string, cause?: unknown): ConnectError {
  return new ConnectError(`ERROR_CODE_${errorCode}: ${message}`, code, undefined, undefined, cause);
}

/**
 * Converts what an admin RPC throws into the ConnectError it answers with
 * (PW-ADMIN-002): storage errors by their code, ConnectErrors as they are,
 * anything else `internal`.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof StorageError) return adminError(CONNECT_CODES[error.code], error.code, error.message, error);
  return adminError(Code.Internal, "INTERNAL", error instanceof Error ? error.message : String(error), error);
}
