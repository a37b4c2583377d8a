import { create, toBinary } from "@bufbuild/protobuf";
import { FrameKind, PingSchema, PongSchema } from "@polywire/proto/session";
import { encodeFrame, encodeFrameHead, FRAME_HEADER_SIZE, FrameDecoder, putFrameHead, type Frame } from "@polywire/wasm-codec";
import { PolywireError } from "../errors.js";
import { decodeMessage } from "../protocol/decode.js";
import { errorMessage, type ErrorFrameExtra } from "../protocol/error-frame.js";
import type { StagedOutput, Transport } from "../transport/transport.js";

/**
 * A frame's payload: one buffer, or chunks laid end to end (the batches a
 * fetch read from storage), which a byte stream sends without joining them.
 */
export type FramePayload = Uint8Array | readonly Uint8Array[];

/**
 * A frame's message that its owner encodes straight into the frame, where
 * the transport gathers its output (`Transport.staged`), instead of into a
 * buffer of its own first. Read synchronously, during the write.
 */
export interface MessageEncoder {
  /** The message's bytes. */
  readonly size: number;
  /** Writes the `size` bytes at `out[at]`. */
  encodeInto(out: Uint8Array, at: number): void;
}

/** A frame's message: its bytes, or what encodes them. */
export type FrameMessage = Uint8Array | MessageEncoder;

function messageBytes(message: FrameMessage): Uint8Array {
  if (message instanceof Uint8Array) return message;
  const bytes = new Uint8Array(message.size);
  message.encodeInto(bytes, 0);
  return bytes;
}

/** What a {@link FrameChannel} calls back into; every callback runs on the event loop. */
export interface FrameChannelHandlers {
  /** One frame, in the order frames arrived. */
  onFrame(frame: Frame): void;
  /**
   * The input can no longer be read as frames: a framing error (PW-FRAME-002
   * to PW-FRAME-006, which PW-FRAME-013 says end the connection), a
   * WebSocket message that is text or not exactly one frame (PW-TRANS-003),
   * or one announcing more than the frame limit. No more input is delivered;
   * the owner reports `error` to the peer and closes.
   */
  onBroken(error: PolywireError): void;
  /** After a write returned false, the transport can take more. */
  onWritable?(): void;
  /** After each frame written; `accepted` is what the transport answered (false: wait for `onWritable`). */
  afterWrite?(kind: number, accepted: boolean): void;
  /**
   * After input arrived and its frames were delivered, or a WebSocket
   * message under way grew: what the channel holds ({@link FrameChannel.buffered}) may have changed.
   */
  afterInput?(): void;
  /** The transport closed; `error` is set when it did not end cleanly. Called once. */
  onClose(error: Error | undefined): void;
}

/** Options of a {@link FrameChannel}. */
export interface FrameChannelOptions {
  /** The largest frame read (PW-FRAME-006); may change later (`maxFrameSize`). */
  readonly maxFrameSize: number;
  /** Set CHECKSUM on every frame written (PW-FRAME-004); may change later (`checksum`). Default false. */
  readonly checksum?: boolean;
}

// Payloads from this size on leave as their own chunks instead of being copied behind their header.
const SEPARATE_PAYLOAD = 1024;
const NO_CHUNKS: readonly Uint8Array[] = [];

function payloadChunks(payload: FramePayload | undefined): readonly Uint8Array[] {
  if (payload === undefined) return NO_CHUNKS;
  return payload instanceof Uint8Array ? [payload] : payload;
}

function joined(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

// A frame without CHECKSUM laid straight into the transport's output.
function writeStaged(staged: StagedOutput, kind: number, correlationId: number, message: FrameMessage, payload: Uint8Array | undefined): boolean {
  const payloadLength = payload === undefined ? 0 : payload.byteLength;
  const bytes = message instanceof Uint8Array ? message : undefined;
  const messageLength = bytes === undefined ? (message as MessageEncoder).size : bytes.byteLength;
  const at = staged.reserve(FRAME_HEADER_SIZE + messageLength + payloadLength);
  const out = staged.bytes;
  const messageAt = putFrameHead(out, at, kind, correlationId, messageLength, payloadLength);
  if (bytes === undefined) (message as MessageEncoder).encodeInto(out, messageAt);
  else out.set(bytes, messageAt);
  if (payload !== undefined) out.set(payload, messageAt + messageLength);
  return staged.commit();
}

/**
 * Frames over one transport, the part of a connection both ends share:
 * decoding with the codec's `FrameDecoder` (one frame per WebSocket message,
 * PW-TRANS-003), writing a frame with its payload as separate chunks (a
 * CRC-32C when checksumming, PW-FRAME-004), writability for back-pressure,
 * and the Pong that answers a Ping. The client's `Connection` and the
 * broker's `ServerSession` each compose one and add their side of the
 * session on top.
 */
export class FrameChannel {
  readonly transport: Transport;
  readonly #handlers: FrameChannelHandlers;
  readonly #decoder: FrameDecoder;
  #checksum: boolean;
  #writable = true;
  #waiters: Array<() => void> = [];
  #stopped = false;
  #closed = false;
  // Bytes of a WebSocket message the transport holds while it arrives.
  #partial = 0;
  #lastReceived = performance.now();
  #lastWritten = 0;
  // The time of writing is taken once per synchronous stretch of writes, at its first.
  #stamped = false;
  readonly #unstamp = (): void => {
    this.#stamped = false;
  };

  constructor(transport: Transport, handlers: FrameChannelHandlers, options: FrameChannelOptions) {
    this.transport = transport;
    this.#handlers = handlers;
    this.#decoder = new FrameDecoder({ maxFrameSize: options.maxFrameSize });
    this.#checksum = options.checksum ?? false;
  }

  /** Starts reading: the transport delivers from now on. Call once, when the owner is ready for callbacks. */
  start(): void {
    this.transport.attach({
      onData: (chunk) => this.#onData(chunk),
      onDrain: () => this.#onDrain(),
      onInvalid: (reason) => this.#break(new PolywireError("MALFORMED_FRAME", `${reason} is not a frame (PW-TRANS-003)`)),
      onClose: (error) => this.#onClose(error),
      onPartial: (received, announced) => this.#onPartial(received, announced),
    });
  }

  /** The largest frame read; a broker raises it at Welcome (PW-FRAME-017). */
  get maxFrameSize(): number {
    return this.#decoder.maxFrameSize;
  }

  set maxFrameSize(value: number) {
    this.#decoder.maxFrameSize = value;
  }

  /** Whether frames written carry CHECKSUM (PW-FRAME-004). */
  get checksum(): boolean {
    return this.#checksum;
  }

  set checksum(value: boolean) {
    this.#checksum = value;
  }

  /** Bytes held of frames not complete yet: in the decoder, or of a WebSocket message under way (PW-LIM-006). */
  get buffered(): number {
    return this.#stopped ? 0 : this.#decoder.buffered + this.#partial;
  }

  /** `performance.now()` when bytes last arrived. */
  get lastReceived(): number {
    return this.#lastReceived;
  }

  /** `performance.now()` when a frame was last written (0 before the first); of several written in one synchronous stretch, the first. */
  get lastWritten(): number {
    return this.#lastWritten;
  }

  /** False from a write the transport pushed back on until it drains. */
  get writable(): boolean {
    return this.#writable;
  }

  /** Resolves when the transport can take more writes, or the channel stopped or closed. */
  whenWritable(): Promise<void> {
    if (this.#writable || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Writes one frame. Without CHECKSUM, a payload of 1 KiB or more leaves
   * as its own chunks behind the header (`Transport.writev`), so a byte
   * stream never copies it; a smaller one is copied behind the header, on a
   * byte stream that gathers writes straight into its output
   * (`Transport.staged`), header and message too.
   * Returns false when the transport asks to wait (see {@link whenWritable}).
   */
  write(kind: number, correlationId: number, message: FrameMessage, payload?: FramePayload): boolean {
    if (!this.#stamped) {
      this.#stamped = true;
      this.#lastWritten = performance.now();
      queueMicrotask(this.#unstamp);
    }
    let ok: boolean;
    const staged = this.#checksum ? undefined : this.transport.staged;
    // Arguments the codec would refuse take the other way, where they throw before anything is queued.
    if (staged !== undefined && (kind & 0xffff) === kind && correlationId >>> 0 === correlationId
      && (payload === undefined || (payload instanceof Uint8Array && payload.byteLength < SEPARATE_PAYLOAD))) {
      ok = writeStaged(staged, kind, correlationId, message, payload);
    } else {
      const bytes = messageBytes(message);
      const chunks = payloadChunks(payload);
      let length = 0;
      for (const chunk of chunks) length += chunk.byteLength;
      if (this.#checksum) {
        ok = this.transport.write(encodeFrame({ kind, correlationId, message: bytes, payload: joined(chunks, length), checksum: true }));
      } else if (length >= SEPARATE_PAYLOAD) {
        ok = this.transport.writev([encodeFrameHead(kind, correlationId, bytes, length), ...chunks]);
      } else {
        const frame = encodeFrameHead(kind, correlationId, bytes, length, length);
        let at = frame.byteLength - length;
        for (const chunk of chunks) {
          frame.set(chunk, at);
          at += chunk.byteLength;
        }
        ok = this.transport.write(frame);
      }
    }
    if (!ok) this.#writable = false;
    this.#handlers.afterWrite?.(kind, ok);
    return ok;
  }

  /** Writes an Error frame for `error` (code, message, retriable, limit...) on `correlationId`. */
  writeError(error: PolywireError, correlationId: number, extra?: ErrorFrameExtra): boolean {
    return this.write(FrameKind.ERROR, correlationId, errorMessage(error, extra));
  }

  /**
   * Answers a Ping frame with a Pong carrying its nonce and correlation id
   * (PW-SESS-010). Throws MALFORMED_FRAME when the Ping does not decode.
   */
  answerPing(ping: Frame): boolean {
    const nonce = decodeMessage(PingSchema, ping.message).nonce;
    return this.write(FrameKind.PONG, ping.correlationId, toBinary(PongSchema, create(PongSchema, { nonce })));
  }

  /**
   * The owner is done reading: no more input is delivered, the decoder lets
   * go of what it holds, and writers waiting in {@link whenWritable} go on.
   * Idempotent; the channel stops by itself when the transport closes.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#partial = 0;
    this.#decoder.free();
    this.#release();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#stopped) return;
    this.#lastReceived = performance.now();
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
      if (this.transport.messageFramed && (frames.length !== 1 || this.#decoder.buffered !== 0)) {
        throw new PolywireError("MALFORMED_FRAME", "a WebSocket message must hold exactly one whole frame (PW-TRANS-003)");
      }
    } catch (error) {
      this.#break(this.#framingError(error));
      return;
    }
    for (const frame of frames) {
      if (this.#stopped) return;
      this.#handlers.onFrame(frame);
    }
    if (!this.#stopped) this.#handlers.afterInput?.();
  }

  // PW-FRAME-013: the stream lost sync. A frame above the limit names the limit (PW-FRAME-006, PW-FRAME-017).
  #framingError(error: unknown): PolywireError {
    const failure = PolywireError.from(error, "MALFORMED_FRAME");
    if (failure.code !== "FRAME_TOO_LARGE" || failure.limit !== undefined) return failure;
    return new PolywireError("FRAME_TOO_LARGE", failure.message, { cause: failure, limit: this.#decoder.maxFrameSize });
  }

  #onPartial(received: number, announced: number): void {
    if (this.#stopped) return;
    this.#lastReceived = performance.now();
    const max = this.#decoder.maxFrameSize;
    if (announced > max) {
      // Refused as soon as its frames announce too much, before the rest is buffered (PW-FRAME-006).
      this.#break(new PolywireError("FRAME_TOO_LARGE", `a WebSocket message of at least ${announced} bytes exceeds the maximum frame size of ${max} (PW-FRAME-006)`, { limit: max }));
      return;
    }
    this.#partial = received;
    this.#handlers.afterInput?.();
  }

  #break(error: PolywireError): void {
    if (this.#stopped) return;
    this.stop();
    this.#handlers.onBroken(error);
  }

  #onDrain(): void {
    this.#writable = true;
    this.#release();
    this.#handlers.onWritable?.();
  }

  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #onClose(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    this.#handlers.onClose(error);
  }
}
