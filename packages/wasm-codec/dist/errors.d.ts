/** Stable error codes; they match the spec's ErrorCode names without the `ERROR_CODE_` prefix. */
export type CodecErrorCode = "MALFORMED_FRAME" | "FRAME_TOO_LARGE" | "CHECKSUM_MISMATCH" | "CORRUPT_BATCH" | "UNSUPPORTED_CODEC" | "DECOMPRESSION_LIMIT" | "INVALID_ARGUMENT" | "RESOURCE_EXHAUSTED" | "INTERNAL" | "NOT_INITIALIZED";
/**
 * The one error class of the codec. `code` is stable and safe to switch on;
 * `message` explains the failure (and names the spec clause) for humans.
 */
export declare class CodecError extends Error {
    readonly code: CodecErrorCode;
    constructor(code: CodecErrorCode, message: string);
}
/** The code of a non-zero WASM status. */
export declare function codeOfStatus(status: number): CodecErrorCode;
/** Throws INVALID_ARGUMENT with `message`. */
export declare function invalid(message: string): never;
/** Checks that `value` is a Uint8Array, naming it in the error. */
export declare function requireBytes(value: unknown, what: string): Uint8Array;
/** Checks that `value` is an integer in [min, max], naming it in the error. */
export declare function requireInteger(value: unknown, what: string, min: number, max: number): number;
//# sourceMappingURL=errors.d.ts.map