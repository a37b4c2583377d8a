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
    pw_encode_batch(len: number, count: number, codec: number, level: number, hasLevel: number, minCompressSize: number, baseOffset: bigint, producerId: bigint, producerEpoch: number, baseSequence: number): number;
    pw_verify_batch(len: number, maxUncompressed: number): number;
    pw_decode_batch(len: number, maxUncompressed: number, verifyCrc: number): number;
}
/** Installs an instantiated module; later calls keep the first one. */
export declare function setInstance(instance: WebAssembly.Instance): void;
/** Whether init()/initSync() has completed. */
export declare function isInitialized(): boolean;
/** The module's exports; throws NOT_INITIALIZED before init. */
export declare function wasm(): CodecExports;
/** A view of the whole of wasm memory, renewed when memory has grown. */
export declare function memory(): Uint8Array;
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