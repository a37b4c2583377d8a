import { CodecError, codeOfStatus } from "./errors.js";
let exports;
let bytes = new Uint8Array(0);
/** Installs an instantiated module; later calls keep the first one. */
export function setInstance(instance) {
    exports ??= instance.exports;
}
/** Whether init()/initSync() has completed. */
export function isInitialized() {
    return exports !== undefined;
}
/** The module's exports; throws NOT_INITIALIZED before init. */
export function wasm() {
    if (exports === undefined) {
        throw new CodecError("NOT_INITIALIZED", "@polywire/wasm-codec is not initialised: await init() or call initSync() first");
    }
    return exports;
}
/** A view of the whole of wasm memory, renewed when memory has grown. */
export function memory() {
    const buffer = wasm().memory.buffer;
    // Growing memory detaches the old ArrayBuffer, so compare identities.
    if (bytes.buffer !== buffer)
        bytes = new Uint8Array(buffer);
    return bytes;
}
/** Reserves `len` input bytes in WASM memory; returns their address. */
export function reserveInput(len) {
    const ptr = wasm().pw_input(len);
    if (ptr === 0 && len > 0)
        throw new CodecError("INVALID_ARGUMENT", `${len} bytes do not fit in WASM memory`);
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
    const message = new TextDecoder().decode(memory().subarray(w.pw_output_ptr(), w.pw_output_ptr() + w.pw_output_len()));
    throw new CodecError(codeOfStatus(status), message);
}
/** A copy of the last call's output bytes. */
export function outputCopy() {
    const w = wasm();
    const ptr = w.pw_output_ptr();
    return memory().slice(ptr, ptr + w.pw_output_len());
}
/** A view of the last call's output bytes in WASM memory, valid until the next call. */
export function outputView() {
    const w = wasm();
    return new Uint8Array(w.memory.buffer, w.pw_output_ptr(), w.pw_output_len());
}
/** A view of the last call's u32 table, valid until the next call. */
export function table() {
    const w = wasm();
    return new Uint32Array(w.memory.buffer, w.pw_table_ptr(), w.pw_table_len());
}
//# sourceMappingURL=wasm.js.map