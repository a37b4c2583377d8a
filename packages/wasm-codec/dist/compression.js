import { CodecError, requireBytes, requireInteger } from "./errors.js";
import { MAX_CODEC_INPUT, check, failed, outputCopy, outputView, wasm, writeInput } from "./wasm.js";
/** Codec names indexed by their attribute code. */
export const COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"];
/** Default cap on a declared uncompressed size: 64 MiB (PW-LIM-005). */
export const DEFAULT_MAX_UNCOMPRESSED_SIZE = 64 * 1024 * 1024;
/** The attribute code of a codec name; throws UNSUPPORTED_CODEC for anything else. */
export function compressionId(codec) {
    const id = COMPRESSIONS.indexOf(codec);
    if (id < 0)
        throw new CodecError("UNSUPPORTED_CODEC", `unknown compression ${String(codec)}`);
    return id;
}
/** Validates an optional level; returns [level, hasLevel] for the WASM call. */
export function levelArgs(level) {
    if (level === undefined)
        return [0, 0];
    return [requireInteger(level, "level", -(2 ** 31), 2 ** 31 - 1), 1];
}
/**
 * Compresses `data` in the spec's format for `codec` (gzip member, Snappy raw
 * block, LZ4 block, zstd frame with content size). `level` is the codec's own
 * (gzip 0-12, default 6; zstd up to 22, default 3); Snappy and LZ4 have none.
 * `copy: false` returns a view into WASM memory, valid only until the next
 * codec call, instead of a copy (default true).
 */
export function compress(codec, data, options = {}) {
    const w = wasm();
    const id = compressionId(codec);
    requireBytes(data, "data");
    const [level, hasLevel] = levelArgs(options.level);
    try {
        check(w.pw_compress(id, writeInput(data), level, hasLevel));
        return options.copy === false ? outputView() : outputCopy();
    }
    catch (error) {
        return failed(error, "compress");
    }
}
/**
 * Decompresses `data`, which must decode to exactly `uncompressedSize` bytes
 * (else CORRUPT_BATCH). Throws DECOMPRESSION_LIMIT before doing anything if
 * `uncompressedSize` exceeds `maxSize` (default 64 MiB; capped at the codec's
 * 256 MiB per call), so a decompression bomb is an error, never an out-of-memory. `copy: false` returns a view
 * into WASM memory, valid only until the next codec call, instead of a copy
 * (default true).
 */
export function decompress(codec, data, options) {
    const w = wasm();
    const id = compressionId(codec);
    requireBytes(data, "data");
    const size = requireInteger(options?.uncompressedSize, "uncompressedSize", 0, Number.MAX_SAFE_INTEGER);
    const max = Math.min(requireInteger(options.maxSize ?? DEFAULT_MAX_UNCOMPRESSED_SIZE, "maxSize", 0, Number.MAX_SAFE_INTEGER), MAX_CODEC_INPUT);
    if (size > max) {
        throw new CodecError("DECOMPRESSION_LIMIT", `uncompressed size ${size} exceeds the limit of ${max} bytes (PW-COMP-006)`);
    }
    try {
        check(w.pw_decompress(id, writeInput(data), size, max));
        return options.copy === false ? outputView() : outputCopy();
    }
    catch (error) {
        return failed(error, "decompress");
    }
}
//# sourceMappingURL=compression.js.map