import { CodecError, codeOfStatus } from "./errors.js";
/**
 * The most bytes one call may hand the codec, as input or as decompressed
 * output: larger inputs are refused with RESOURCE_EXHAUSTED before any WASM
 * memory grows, and decompression limits are capped to it. Input, output
 * and scratch of one call then stay well inside the 4 GiB a 32-bit module
 * can address, and pointers inside 2 GiB.
 */
export const MAX_CODEC_INPUT = 256 * 1024 * 1024;
// trimMemory() replaces an instance whose memory passed this many times its size when new...
const TRIM_FACTOR = 8;
// ...and at least this many bytes: below it, re-instantiating saves nothing worth the work.
const TRIM_FLOOR = 64 * 1024 * 1024;
let module;
let exports;
let baseline = 0;
let restarts = 0;
// Set while the codec cannot be used: the failure, and no instance to call.
let broken;
let bytes = new Uint8Array(0);
function install(instance) {
    exports = instance.exports;
    baseline = exports.memory.buffer.byteLength;
    broken = undefined;
}
// A fresh instance of the same module; on failure (no memory left) the
// codec is unusable until a later call manages it.
function reinstantiate() {
    if (module === undefined)
        return false;
    exports = undefined;
    bytes = new Uint8Array(0);
    try {
        install(new WebAssembly.Instance(module, {}));
        restarts++;
        return true;
    }
    catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        return false;
    }
}
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
export function failed(error, where) {
    if (error instanceof CodecError)
        throw error;
    throw recover(error, where);
}
function recover(error, where) {
    const reason = error instanceof Error ? error.message : String(error);
    const restarted = reinstantiate();
    return new CodecError("INTERNAL", `the codec failed in ${where} (${reason}); ${restarted ? "it was restarted with a fresh instance" : `it could not be restarted: ${broken?.message}`}`);
}
/**
 * Installs an instantiated module; later calls keep the first one. With
 * `source`, the module it came from, the codec can replace a failed or
 * bloated instance (see {@link trimMemory}).
 */
export function setInstance(instance, source) {
    if (exports !== undefined || module !== undefined)
        return;
    module = source;
    install(instance);
}
/** Whether init()/initSync() has completed. */
export function isInitialized() {
    return exports !== undefined || module !== undefined;
}
/** The module's exports; throws NOT_INITIALIZED before init, INTERNAL while no instance can be made. */
export function wasm() {
    if (exports !== undefined)
        return exports;
    if (module === undefined) {
        throw new CodecError("NOT_INITIALIZED", "@polywire/wasm-codec is not initialised: await init() or call initSync() first");
    }
    if (!reinstantiate())
        throw new CodecError("INTERNAL", `the codec is unusable: ${broken?.message ?? "no instance"}`);
    return exports;
}
/** The codec's memory and restarts (zeros before init). */
export function codecMemory() {
    return { bytes: exports?.memory.buffer.byteLength ?? 0, baselineBytes: baseline, restarts };
}
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
export function trimMemory(threshold = Math.max(TRIM_FLOOR, TRIM_FACTOR * baseline)) {
    if (exports === undefined || module === undefined)
        return false;
    if (exports.memory.buffer.byteLength <= threshold)
        return false;
    return reinstantiate();
}
/** A view of the whole of wasm memory, renewed when memory has grown. */
export function memory() {
    const buffer = wasm().memory.buffer;
    // Growing memory detaches the old ArrayBuffer, so compare identities.
    if (bytes.buffer !== buffer)
        bytes = new Uint8Array(buffer);
    return bytes;
}
/** Throws RESOURCE_EXHAUSTED when `len` bytes are more than one call may hand the codec. */
export function requireWithinCeiling(len, what) {
    if (len > MAX_CODEC_INPUT) {
        throw new CodecError("RESOURCE_EXHAUSTED", `${what} of ${len} bytes exceeds the codec's limit of ${MAX_CODEC_INPUT} bytes per call`);
    }
}
/** Reserves `len` input bytes in WASM memory; returns their address. */
export function reserveInput(len) {
    requireWithinCeiling(len, "an input");
    // Addresses are u32: above 2 GiB they come back from WASM as negative i32.
    const ptr = wasm().pw_input(len) >>> 0;
    if (ptr === 0 && len > 0)
        throw new CodecError("RESOURCE_EXHAUSTED", `${len} bytes do not fit in WASM memory`);
    return ptr;
}
/** Copies `data` into the input buffer; returns its length for the call. */
export function writeInput(data) {
    // Reserve first: growing memory detaches any view taken before.
    const ptr = reserveInput(data.length);
    memory().set(data, ptr);
    return data.length;
}
/** Throws the CodecError a non-zero status stands for, with Rust's message. */
export function check(status) {
    if (status === 0)
        return;
    const w = wasm();
    const ptr = w.pw_output_ptr() >>> 0;
    const message = new TextDecoder().decode(memory().subarray(ptr, ptr + (w.pw_output_len() >>> 0)));
    throw new CodecError(codeOfStatus(status >>> 0), message);
}
/** A copy of the last call's output bytes. */
export function outputCopy() {
    const w = wasm();
    const ptr = w.pw_output_ptr() >>> 0;
    return memory().slice(ptr, ptr + (w.pw_output_len() >>> 0));
}
/** A view of the last call's output bytes in WASM memory, valid until the next call. */
export function outputView() {
    const w = wasm();
    return new Uint8Array(w.memory.buffer, w.pw_output_ptr() >>> 0, w.pw_output_len() >>> 0);
}
/** A view of the last call's u32 table, valid until the next call. */
export function table() {
    const w = wasm();
    return new Uint32Array(w.memory.buffer, w.pw_table_ptr() >>> 0, w.pw_table_len() >>> 0);
}
//# sourceMappingURL=wasm.js.map