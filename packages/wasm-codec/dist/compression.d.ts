/** A record-batch compression codec; the batch attribute codes are 0..4 in this order (spec §5.1). */
export type Compression = "none" | "gzip" | "snappy" | "lz4" | "zstd";
/** Codec names indexed by their attribute code. */
export declare const COMPRESSIONS: readonly Compression[];
/** Default cap on a declared uncompressed size: 64 MiB (PW-LIM-005). */
export declare const DEFAULT_MAX_UNCOMPRESSED_SIZE: number;
/** The attribute code of a codec name; throws UNSUPPORTED_CODEC for anything else. */
export declare function compressionId(codec: unknown): number;
/** Validates an optional level; returns [level, hasLevel] for the WASM call. */
export declare function levelArgs(level: unknown): [number, number];
/**
 * Compresses `data` in the spec's format for `codec` (gzip member, Snappy raw
 * block, LZ4 block, zstd frame with content size). `level` is the codec's own
 * (gzip 0-12, default 6; zstd up to 22, default 3); Snappy and LZ4 have none.
 * `copy: false` returns a view into WASM memory, valid only until the next
 * codec call, instead of a copy (default true).
 */
export declare function compress(codec: Compression, data: Uint8Array, options?: {
    level?: number;
    copy?: boolean;
}): Uint8Array;
/**
 * Decompresses `data`, which must decode to exactly `uncompressedSize` bytes
 * (else CORRUPT_BATCH). Throws DECOMPRESSION_LIMIT before doing anything if
 * `uncompressedSize` exceeds `maxSize` (default 64 MiB; capped at the codec's
 * 256 MiB per call), so a decompression bomb is an error, never an out-of-memory. `copy: false` returns a view
 * into WASM memory, valid only until the next codec call, instead of a copy
 * (default true).
 */
export declare function decompress(codec: Compression, data: Uint8Array, options: {
    uncompressedSize: number;
    maxSize?: number;
    copy?: boolean;
}): Uint8Array;
//# sourceMappingURL=compression.d.ts.map