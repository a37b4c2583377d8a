import { CodecError, invalid, requireBytes, requireInteger } from "./errors.js";
import { crc32c } from "./checksum.js";
import { DEFAULT_MAX_FRAME_SIZE, FLAG_CHECKSUM, FRAME_CHECKSUM_SIZE, FRAME_HEADER_SIZE, FRAME_LENGTH_PREFIX, FrameField } from "./layout.js";
import { wasm } from "./wasm.js";
// Pieces of a partial frame at least this long, and at least half of the
// buffer they sit in, are kept as views; shorter ones are copied, so that a
// peer trickling bytes (or leaving a few bytes at the end of a large read)
// cannot make the decoder hold many small buffers or a large one for them.
const KEEP_VIEW_FROM = 16 * 1024;
// The copy area for short pieces starts this small and doubles with what
// has arrived, never past MAX_SCRATCH: its size follows the bytes received,
// never the length the peer announced.
const MIN_SCRATCH = 256;
const MAX_SCRATCH = 64 * 1024;
function fail(code, message) {
    throw new CodecError(code, message);
}
function be32(b, at) {
    return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
/**
 * Checks the header fields among the `avail` bytes at `b[at]` (a frame's
 * first bytes), in the PW-FRAME-015 order, and returns the frame's total
 * size once the `length` field is there (0 before).
 */
function checkHeader(b, at, avail, max) {
    if (avail < 4)
        return 0;
    const length = be32(b, at + FrameField.length);
    const total = FRAME_LENGTH_PREFIX + length;
    if (total > max)
        fail("FRAME_TOO_LARGE", `frame of ${total} bytes exceeds the maximum frame size of ${max} (PW-FRAME-006)`);
    if (length < FRAME_HEADER_SIZE - FRAME_LENGTH_PREFIX) {
        const headerSize = avail > FrameField.headerSize ? b[at + FrameField.headerSize] : FRAME_HEADER_SIZE;
        fail("MALFORMED_FRAME", `length ${length} is too small for header_size ${headerSize} (PW-FRAME-005)`);
    }
    if (avail <= FrameField.headerSize)
        return total;
    const headerSize = b[at + FrameField.headerSize];
    if (headerSize < FRAME_HEADER_SIZE)
        fail("MALFORMED_FRAME", `header_size ${headerSize} is below 16 (PW-FRAME-002)`);
    if (headerSize - FRAME_LENGTH_PREFIX > length)
        fail("MALFORMED_FRAME", `length ${length} is too small for header_size ${headerSize} (PW-FRAME-005)`);
    if (avail <= FrameField.flags)
        return total;
    const flags = b[at + FrameField.flags];
    if ((flags & ~FLAG_CHECKSUM) !== 0)
        fail("MALFORMED_FRAME", `reserved flag bits set in 0x${flags.toString(16).padStart(2, "0")} (PW-FRAME-003)`);
    if (avail < FRAME_HEADER_SIZE)
        return total;
    const available = length - (headerSize - FRAME_LENGTH_PREFIX) - ((flags & FLAG_CHECKSUM) !== 0 ? FRAME_CHECKSUM_SIZE : 0);
    if (available < 0)
        fail("MALFORMED_FRAME", `length ${length} is too small for header_size ${headerSize} (PW-FRAME-005)`);
    const messageLength = be32(b, at + FrameField.messageLength);
    if (messageLength > available)
        fail("MALFORMED_FRAME", `message_length ${messageLength} exceeds the ${available} bytes available (PW-FRAME-005)`);
    return total;
}
/**
 * The frame of `total` bytes at `b[at]`, whose header checkHeader passed:
 * checks the checksum (PW-FRAME-004) and returns message and payload as
 * views into `b`.
 */
function frameAt(b, at, total) {
    const flags = b[at + FrameField.flags];
    let end = at + total;
    if ((flags & FLAG_CHECKSUM) !== 0) {
        end -= FRAME_CHECKSUM_SIZE;
        const stored = be32(b, end);
        // CRC-32C runs in WASM: the one part of decoding that is not plain JavaScript.
        const computed = crc32c(b.subarray(at, end));
        if (stored !== computed) {
            fail("CHECKSUM_MISMATCH", `frame checksum 0x${stored.toString(16).padStart(8, "0")} does not match computed 0x${computed.toString(16).padStart(8, "0")} (PW-FRAME-004)`);
        }
    }
    const messageStart = at + b[at + FrameField.headerSize];
    const messageEnd = messageStart + be32(b, at + FrameField.messageLength);
    // The constructor is markedly faster than subarray() (no species lookup).
    return {
        kind: (b[at + FrameField.kind] << 8) | b[at + FrameField.kind + 1],
        flags,
        correlationId: be32(b, at + FrameField.correlationId),
        message: new Uint8Array(b.buffer, b.byteOffset + messageStart, messageEnd - messageStart),
        payload: new Uint8Array(b.buffer, b.byteOffset + messageEnd, end - messageEnd),
    };
}
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
export class FrameDecoder {
    #max;
    // The partial frame's pieces, in order, after the ones sealed in the scratch.
    #parts = [];
    #held = 0;
    // The partial frame's first bytes, up to the whole header, for checking.
    #head = new Uint8Array(FRAME_HEADER_SIZE);
    #headLength = 0;
    // The partial frame's total size once its length field is known, else 0.
    #total = 0;
    #scratch;
    #scratchUsed = 0;
    #failed;
    #freed = false;
    constructor(options = {}) {
        wasm();
        this.#max = FrameDecoder.#checkMax(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
    }
    // Below the 16-byte header no frame can fit: that is a configuration mistake, not a limit.
    static #checkMax(value) {
        return requireInteger(value, "maxFrameSize", FRAME_HEADER_SIZE, 0xffff_ffff);
    }
    /**
     * The largest frame accepted, header included. Changing it applies to
     * frames whose length field arrives afterwards (a broker raises it once
     * the handshake is done, PW-FRAME-017).
     */
    get maxFrameSize() {
        return this.#max;
    }
    set maxFrameSize(value) {
        this.#max = FrameDecoder.#checkMax(value);
    }
    /** Feeds one chunk; returns the frames it completes, in order. */
    push(chunk) {
        if (this.#freed)
            invalid("FrameDecoder.push() after free()");
        if (this.#failed !== undefined)
            throw this.#failed;
        requireBytes(chunk, "chunk");
        try {
            return this.#push(chunk);
        }
        catch (error) {
            if (error instanceof CodecError) {
                this.#failed = error;
                this.#reset();
            }
            throw error;
        }
    }
    #push(chunk) {
        const frames = [];
        const n = chunk.length;
        let pos = 0;
        if (this.#held > 0) {
            pos = this.#continue(chunk, frames);
            if (pos === n)
                return frames;
        }
        while (pos < n) {
            const rest = n - pos;
            const total = checkHeader(chunk, pos, Math.min(rest, FRAME_HEADER_SIZE), this.#max);
            if (total === 0 || rest < total) {
                this.#start(chunk.subarray(pos), total);
                break;
            }
            frames.push(frameAt(chunk, pos, total));
            pos += total;
        }
        return frames;
    }
    // Holds `piece`, the first bytes of a frame (`total` 0: its length is not known yet).
    #start(piece, total) {
        this.#headLength = Math.min(piece.length, FRAME_HEADER_SIZE);
        this.#head.set(piece.subarray(0, this.#headLength));
        this.#total = total;
        this.#hold(piece);
    }
    // Adds bytes of `chunk` to the partial frame; returns how many it took. A frame it completes goes to `frames`.
    #continue(chunk, frames) {
        if (this.#headLength < FRAME_HEADER_SIZE) {
            const take = Math.min(FRAME_HEADER_SIZE - this.#headLength, chunk.length);
            this.#head.set(chunk.subarray(0, take), this.#headLength);
            this.#headLength += take;
            this.#total = checkHeader(this.#head, 0, this.#headLength, this.#max);
        }
        const need = this.#total === 0 ? chunk.length + 1 : this.#total - this.#held;
        if (chunk.length < need) {
            this.#hold(chunk);
            return chunk.length;
        }
        const whole = this.#join(chunk.subarray(0, need));
        this.#reset();
        frames.push(frameAt(whole, 0, whole.length));
        return need;
    }
    #hold(piece) {
        if (piece.length === 0)
            return;
        this.#held += piece.length;
        if (piece.length >= KEEP_VIEW_FROM && piece.length * 2 >= piece.buffer.byteLength) {
            this.#seal();
            this.#parts.push(piece);
            return;
        }
        if (this.#held === piece.length) {
            // A frame's first bytes (the end of a read, usually): an exact copy.
            this.#parts.push(piece.slice());
            return;
        }
        if (this.#scratch === undefined || this.#scratch.length - this.#scratchUsed < piece.length) {
            this.#seal();
            const size = Math.max(piece.length, Math.min(MAX_SCRATCH, Math.max(MIN_SCRATCH, 2 * this.#held)));
            this.#scratch = new Uint8Array(size);
        }
        this.#scratch.set(piece, this.#scratchUsed);
        this.#scratchUsed += piece.length;
    }
    // Moves the scratch's bytes into the list of pieces.
    #seal() {
        if (this.#scratch === undefined)
            return;
        this.#parts.push(this.#scratch.subarray(0, this.#scratchUsed));
        this.#scratch = undefined;
        this.#scratchUsed = 0;
    }
    // The held frame and its `last` bytes as one buffer: all of it has
    // arrived, so its size is what was received. The last piece is copied
    // straight in, never through the scratch.
    #join(last) {
        this.#seal();
        const whole = new Uint8Array(this.#held + last.length);
        let at = 0;
        for (const part of this.#parts) {
            whole.set(part, at);
            at += part.length;
        }
        whole.set(last, at);
        return whole;
    }
    #reset() {
        this.#parts = [];
        this.#held = 0;
        this.#headLength = 0;
        this.#total = 0;
        this.#scratch = undefined;
        this.#scratchUsed = 0;
    }
    /** Bytes held waiting for the rest of a frame. */
    get buffered() {
        return this.#held;
    }
    /** Drops the bytes held; idempotent. Later `push` calls throw INVALID_ARGUMENT. */
    free() {
        this.#freed = true;
        this.#reset();
    }
    /** Same as `free()`, for `using`. */
    [Symbol.dispose]() {
        this.free();
    }
}
//# sourceMappingURL=frame-decoder.js.map