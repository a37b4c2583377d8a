/** A spec violation found while reading a vector, with the ErrorCode name the spec gives it. */
export class WireError extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}
