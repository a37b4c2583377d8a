import type { Frame } from "./frame.js";
/**
 * Incremental frame decoder: feed arbitrary chunks, get whole frames. Fed one
 * byte at a time or a megabyte at a time, it returns the same frames. It
 * rejects a frame larger than `maxFrameSize` (default 16 MiB, at least 16) as
 * soon as the length field has arrived (PW-FRAME-006), and checks the header
 * and checksum in the PW-FRAME-015 order (PW-FRAME-002..005). After it
 * throws, the stream has lost sync: every later `push` throws the same error.
 *
 * It holds only the bytes that have arrived, never room for the length a
 * peer announced: a partial frame is a list of pieces (short ones copied
 * together), joined into one buffer only once the whole frame is there.
 * A frame that arrived inside one chunk is not copied at all: its `message`
 * and `payload` are views into that chunk, so the caller must not reuse a
 * chunk it passed to `push` while it still uses frames decoded from it.
 */
export declare class FrameDecoder {
    #private;
    constructor(options?: {
        maxFrameSize?: number;
    });
    /**
     * The largest frame accepted, header included. Changing it applies to
     * frames whose length field arrives afterwards (a broker raises it once
     * the handshake is done, PW-FRAME-017).
     */
    get maxFrameSize(): number;
    set maxFrameSize(value: number);
    /** Feeds one chunk; returns the frames it completes, in order. */
    push(chunk: Uint8Array): Frame[];
    /** Bytes held waiting for the rest of a frame. */
    get buffered(): number;
    /** Drops the bytes held; idempotent. Later `push` calls throw INVALID_ARGUMENT. */
    free(): void;
    /** Same as `free()`, for `using`. */
    [Symbol.dispose](): void;
}
//# sourceMappingURL=frame-decoder.d.ts.map