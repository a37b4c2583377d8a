/** Stable error codes; they match the spec's ErrorCode names without the `ERROR_CODE_` prefix. */
export type CodecErrorCode =
  | "MALFORMED_FRAME"
  | "FRAME_TOO_LARGE"
  | "CHECKSUM_MISMATCH"
  | "CORRUPT_BATCH"
  | "UNSUPPORTED_CODEC"
  | "DECOMPRESSION_LIMIT"
  | "INVALID_ARGUMENT"
  | "RESOURCE_EXHAUSTED"
  | "INTERNAL"
  | "NOT_INITIALIZED";

/**
 * The one error class of the codec. `code` is stable and safe to switch on;
 * `message` explains the failure (and names the spec clause) for humans.
 */
export class CodecError extends Error {
  readonly code: CodecErrorCode;

  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.name = "CodecError";
    this.code = code;
  }
}

// Index = the status a WASM export returns (the Rust ErrorCode discriminant).
const STATUS_CODES: readonly (CodecErrorCode | undefined)[] = [
  undefined,
  "MALFORMED_FRAME",
  "FRAME_TOO_LARGE",
  "CHECKSUM_MISMATCH",
  "CORRUPT_BATCH",
  "UNSUPPORTED_CODEC",
  "DECOMPRESSION_LIMIT",
  "INVALID_ARGUMENT",
];

/** The code of a non-zero WASM status. */
export function codeOfStatus(status: number): CodecErrorCode {
  return STATUS_CODES[status] ?? "INVALID_ARGUMENT";
}

/** Throws INVALID_ARGUMENT with `message`. */
export function invalid(message: string): never {
  throw new CodecError("INVALID_ARGUMENT", message);
}

/** Checks that `value` is a Uint8Array, naming it in the error. */
export function requireBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) invalid(`${what} must be a Uint8Array`);
  return value;
}

/** Checks that `value` is an integer in [min, max], naming it in the error. */
export function requireInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
