/** The exports of polywire_codec.wasm (see src/abi.rs). */
export interface CodecExports {
    readonly memory: WebAssembly.Memory;
    pw_input(len: number): number;
    pw_output_ptr(): number;
    pw_output_len(): number;
    pw_table_ptr(): number;
    pw_table_len(): number;
    pw_crc32c(len: number, crc: number): number;
    pw_murmur2(len: number): number;
    pw_compress(codec: number, len: number, level: number, hasLevel: number): number;
    pw_decompress(codec: number, len: number, expected: number, max: number): number;
    pw_encode_frame(kind: number, correlationId: number, messageLen: number, payloadLen: number, checksum: number): number;
    pw_encode_batch(len: number, count: number, codec: number, level: number, hasLevel: number, minCompressSize: number, baseOffset: bigint, producerId: bigint, producerEpoch: number, baseSequence: number): number;
    pw_verify_batch(len: number, maxUncompressed: number): number;
    pw_decode_batch(len: number, maxUncompressed: number, verifyCrc: number): number;
}
/**
 * The most bytes one call may hand the codec, as input or as decompressed
 * output: larger inputs are refused with RESOURCE_EXHAUSTED before any WASM
 * memory grows, and decompression limits are capped to it. Input, output
 * and scratch of one call then stay well inside the 4 GiB a 32-bit module
 * can address, and pointers inside 2 GiB.
 */
export declare const MAX_CODEC_INPUT: number;
/**
 * For the catch block around a function's calls into WASM: a CodecError
 * (bad input, a limit) goes on as it is; anything else means the module
 * failed internally (a trap: its allocator aborting, an out-of-bounds
 * access). After a trap its state (Rust's allocator, borrowed cells)
 * cannot be trusted and keeping it would fail every later call, so the
 * module is replaced at once and the failure reported as INTERNAL. A
 * try/catch in the caller costs nothing until something is thrown; a
 * wrapper around every export cost tens of ns per call.
 */
export declare function failed(error: unknown, where: string): never;
/**
 * Installs an instantiated module; later calls keep the first one. With
 * `source`, the module it came from, the codec can replace a failed or
 * bloated instance (see {@link trimMemory}).
 */
export declare function setInstance(instance: WebAssembly.Instance, source?: WebAssembly.Module): void;
/** Whether init()/initSync() has completed. */
export declare function isInitialized(): boolean;
/** The module's exports; throws NOT_INITIALIZED before init, INTERNAL while no instance can be made. */
export declare function wasm(): CodecExports;
/** What the codec holds and how often it was replaced. */
export interface CodecMemory {
    /** Bytes of WASM memory now (it grows with the largest call, never shrinks). */
    readonly bytes: number;
    /** Bytes of WASM memory of a fresh instance. */
    readonly baselineBytes: number;
    /** Instances made after the first: after failures and by {@link trimMemory}. */
    readonly restarts: number;
}
/** The codec's memory and restarts (zeros before init). */
export declare function codecMemory(): CodecMemory;
/**
 * WASM memory never shrinks: after a burst of large batches it stays at its
 * peak. This replaces the instance with a fresh one when its memory passed
 * `threshold` bytes (default eight times a fresh instance's, at least
 * 64 MiB), so the old memory can be garbage-collected; returns whether it
 * did. Safe between any two codec calls: nothing the codec returned refers
 * to its memory except views documented as valid only until the next call
 * (`copy: false`), and those keep the old memory alive, unchanged. Call it
 * when the process is quiet, e.g. from a timer.
 */
export declare function trimMemory(threshold?: number): boolean;
/** A view of the whole of wasm memory, renewed when memory has grown. */
export declare function memory(): Uint8Array;
/** Throws RESOURCE_EXHAUSTED when `len` bytes are more than one call may hand the codec. */
export declare function requireWithinCeiling(len: number, what: string): void;
/** Reserves `len` input bytes in WASM memory; returns their address. */
export declare function reserveInput(len: number): number;
/** Copies `data` into the input buffer; returns its length for the call. */
export declare function writeInput(data: Uint8Array): number;
/** Throws the CodecError a non-zero status stands for, with Rust's message. */
export declare function check(status: number): void;
/** A copy of the last call's output bytes. */
export declare function outputCopy(): Uint8Array;
/** A view of the last call's output bytes in WASM memory, valid until the next call. */
export declare function outputView(): Uint8Array;
/** A view of the last call's u32 table, valid until the next call. */
export declare function table(): Uint32Array;
//# sourceMappingURL=wasm.d.ts.map