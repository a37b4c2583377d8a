import { CodecError, codeOfStatus } from "./errors.js";

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
  pw_frame_decoder_new(maxFrameSize: number): number;
  pw_frame_decoder_free(handle: number): void;
  pw_frame_decoder_buffered(handle: number): number;
  pw_frame_decoder_push(handle: number, len: number): number;
  pw_encode_batch(
    len: number,
    count: number,
    codec: number,
    level: number,
    hasLevel: number,
    minCompressSize: number,
    baseOffset: bigint,
    producerId: bigint,
    producerEpoch: number,
    baseSequence: number,
  ): number;
  pw_verify_batch(len: number, maxUncompressed: number): number;
  pw_decode_batch(len: number, maxUncompressed: number, verifyCrc: number): number;
}

let exports: CodecExports | undefined;
let bytes = new Uint8Array(0);

/** Installs an instantiated module; later calls keep the first one. */
export function setInstance(instance: WebAssembly.Instance): void {
  exports ??= instance.exports as unknown as CodecExports;
}

/** Whether init()/initSync() has completed. */
export function isInitialized(): boolean {
  return exports !== undefined;
}

/** The module's exports; throws NOT_INITIALIZED before init. */
export function wasm(): CodecExports {
  if (exports === undefined) {
    throw new CodecError("NOT_INITIALIZED", "@polywire/wasm-codec is not initialised: await init() or call initSync() first");
  }
  return exports;
}

/** A view of the whole of wasm memory, renewed when memory has grown. */
export function memory(): Uint8Array {
  const buffer = wasm().memory.buffer;
  // Growing memory detaches the old ArrayBuffer, so compare identities.
  if (bytes.buffer !== buffer) bytes = new Uint8Array(buffer);
  return bytes;
}

/** Reserves `len` input bytes in WASM memory; returns their address. */
export function reserveInput(len: number): number {
  const ptr = wasm().pw_input(len);
  if (ptr === 0 && len > 0) throw new CodecError("INVALID_ARGUMENT", `${len} bytes do not fit in WASM memory`);
  return ptr;
}

/** Copies `data` into the input buffer; returns its length for the call. */
export function writeInput(data: Uint8Array): number {
  // Reserve first: growing memory detaches any view taken before.
  const ptr = reserveInput(data.length);
  memory().set(data, ptr);
  return data.length;
}

/** Throws the CodecError a non-zero status stands for, with Rust's message. */
export function check(status: number): void {
  if (status === 0) return;
  const w = wasm();
  const message = new TextDecoder().decode(memory().subarray(w.pw_output_ptr(), w.pw_output_ptr() + w.pw_output_len()));
  throw new CodecError(codeOfStatus(status), message);
}

/** A copy of the last call's output bytes. */
export function outputCopy(): Uint8Array {
  const w = wasm();
  const ptr = w.pw_output_ptr();
  return memory().slice(ptr, ptr + w.pw_output_len());
}

/** A view of the last call's output bytes in WASM memory, valid until the next call. */
export function outputView(): Uint8Array {
  const w = wasm();
  return new Uint8Array(w.memory.buffer, w.pw_output_ptr(), w.pw_output_len());
}

/** A view of the last call's u32 table, valid until the next call. */
export function table(): Uint32Array {
  const w = wasm();
  return new Uint32Array(w.memory.buffer, w.pw_table_ptr(), w.pw_table_len());
}
