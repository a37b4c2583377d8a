/**
 * The error codes storage raises, named as the spec's ErrorCode values
 * without the `ERROR_CODE_` prefix so protocol code maps them one to one.
 */
export type StorageErrorCode =
  | "UNKNOWN_TOPIC"
  | "UNKNOWN_PARTITION"
  | "TOPIC_ALREADY_EXISTS"
  | "INVALID_TOPIC"
  | "INVALID_CONFIG"
  | "INVALID_ARGUMENT"
  | "OFFSET_OUT_OF_RANGE"
  | "BATCH_TOO_LARGE"
  | "OUT_OF_ORDER_SEQUENCE"
  | "PRODUCER_FENCED"
  | "UNKNOWN_PRODUCER"
  | "STORAGE"
  | "SHUTTING_DOWN";

const BRAND = Symbol.for("@polywire/broker/StorageError");

/**
 * The one error class of the storage layer. `code` is stable; `instanceof`
 * works across duplicate copies of the package because it checks a
 * registered symbol rather than the prototype chain.
 */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** With a limit error: the limit that was exceeded (spec `Error.limit`). */
  readonly limit: number | undefined;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown; limit?: number }) {
    super(message, options);
    this.name = "StorageError";
    this.code = code;
    this.limit = options?.limit;
  }

  get [BRAND](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
