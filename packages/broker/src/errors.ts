import { PolywireError, type PolywireErrorCode } from "@polywire/core";
import { StorageError } from "./storage/errors.js";

/**
 * Converts anything a handler throws into the `PolywireError` sent back in
 * an Error frame: storage and codec errors keep their codes, anything else
 * is INTERNAL.
 */
export function toPolywireError(error: unknown): PolywireError {
  if (error instanceof PolywireError) return error;
  if (error instanceof StorageError) {
    return new PolywireError(error.code as PolywireErrorCode, error.message, {
      cause: error,
      ...(error.limit === undefined ? {} : { limit: error.limit }),
    });
  }
  return PolywireError.from(error, "INTERNAL");
}
