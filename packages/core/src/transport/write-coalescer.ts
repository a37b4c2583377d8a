import type { Socket } from "node:net";

// Chunks shorter than this are copied; longer ones are handed to the socket
// as they are. Copying a kilobyte costs less than what Node spends on one
// more buffer of a writev (a request object, an entry in its arrays, an
// iovec), and a payload that long was kept apart by its writer precisely so
// it is not copied.
const COPY_BELOW = 1024;
// The stage every socket's small writes are gathered in; a reservation
// larger than it gets a buffer of its own.
const STAGE_SIZE = 64 * 1024;
// What one tick may write to a socket before writers are told to wait. The
// bytes wait here only until the microtask, when the kernel usually takes
// them all: counting them against the socket's high-water mark (16 KiB)
// would stop a writer after a hundred small frames although nothing is
// buffered for longer than the tick. What the socket could not hand to the
// kernel still counts against its high-water mark.
const TICK_BYTES = 256 * 1024;

/**
 * The one buffer small writes are gathered in, shared by every socket of
 * the process: its bytes [0, used) belong to one socket, its owner, until
 * another socket writes or the owner flushes, when they are copied out into
 * one buffer of the owner's own. An idle connection therefore holds no
 * buffer, and a tick's frames to one socket cost one allocation, not one
 * per frame. (One thread runs all of this: nothing else writes meanwhile.)
 */
const stage = {
  bytes: new Uint8Array(STAGE_SIZE),
  used: 0,
  owner: undefined as WriteCoalescer | undefined,
};

/**
 * The output of a socket, gathered: what is written in one synchronous
 * stretch leaves in one `socket.write` at the next microtask (a
 * `process.nextTick` would wait until the whole microtask queue has drained,
 * and a producer's promise chains can keep it busy for milliseconds while the
 * request that frees the broker waits here). Small writes are copied end to
 * end ({@link stage}), so a tick of many small frames costs Node one
 * buffer, not one per frame; long chunks keep their own buffer, and the
 * small bytes around them leave in the same writev, in order.
 *
 * A frame can also be encoded straight into the stage ({@link reserve}), so
 * that it is never a buffer of its own.
 *
 * Back-pressure: a write answers false when the socket's own queue (what
 * it could not hand to the kernel) reaches its high-water mark, or this
 * tick's bytes reach {@link TICK_BYTES}, and
 * `onDrain` follows once the socket has taken everything, whether the socket
 * itself pushed back or not.
 */
export class WriteCoalescer {
  readonly #socket: Socket;
  readonly #onDrain: () => void;
  // Chunks waiting, in order, before this socket's bytes in the stage (if it owns it).
  #chunks: Uint8Array[] = [];
  #chunkBytes = 0;
  // What `bytes` returns: the stage, or the buffer of a reservation too large for it.
  #current: Uint8Array = stage.bytes;
  #scheduled = false;
  #owedDrain = false;
  #closed = false;
  readonly #flushTask = (): void => this.flush();

  constructor(socket: Socket, onDrain: () => void) {
    this.#socket = socket;
    this.#onDrain = onDrain;
  }

  /** Bytes waiting here for the next flush. */
  get pending(): number {
    return this.#chunkBytes + (stage.owner === this ? stage.used : 0);
  }

  /** The buffer the offset {@link reserve} returned points into; read it after `reserve`. */
  get bytes(): Uint8Array {
    return this.#current;
  }

  /**
   * Makes room for `size` bytes at the end of the output and returns where
   * they start in {@link bytes}. The caller fills them before it yields to
   * the event loop (before any other socket writes), then calls {@link commit}.
   */
  reserve(size: number): number {
    this.#schedule();
    const owner = stage.owner;
    if (owner !== this) {
      if (owner !== undefined) owner.#takeStaged();
      stage.owner = this;
    }
    if (stage.bytes.length - stage.used < size) {
      // Full: what is there leaves as a chunk, and the stage starts over (still this socket's).
      this.#takeStaged();
      if (size > stage.bytes.length) {
        const own = new Uint8Array(size);
        this.#chunks.push(own);
        this.#chunkBytes += size;
        this.#current = own;
        return 0;
      }
      stage.owner = this;
    }
    this.#current = stage.bytes;
    const at = stage.used;
    stage.used = at + size;
    return at;
  }

  /** Returns false when the writer should wait for `onDrain` (the bytes are queued either way). */
  commit(): boolean {
    const socket = this.#socket;
    const ok = socket.writableLength < socket.writableHighWaterMark && this.pending < TICK_BYTES;
    if (!ok) this.#owedDrain = true;
    return ok;
  }

  /**
   * Queues `chunks` in order (copied when short, else kept; a short one
   * right before a long one, a frame's header before its payload, is kept
   * too: copying it would only move it into a buffer of its own again);
   * returns as {@link commit}.
   */
  write(chunks: readonly Uint8Array[]): boolean {
    this.#schedule();
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i] as Uint8Array;
      const n = chunk.byteLength;
      const next = chunks[i + 1];
      if (n < COPY_BELOW && (next === undefined || next.byteLength < COPY_BELOW)) {
        const at = this.reserve(n);
        this.#current.set(chunk, at);
      } else {
        this.#takeStaged();
        this.#chunks.push(chunk);
        this.#chunkBytes += n;
      }
    }
    return this.commit();
  }

  /** Hands everything waiting to the socket (at the microtask, or now before the socket ends). */
  flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) {
      this.drop();
      return;
    }
    this.#takeStaged();
    const chunks = this.#chunks;
    if (chunks.length === 0) return;
    this.#chunks = [];
    this.#chunkBytes = 0;
    let ok = true;
    if (chunks.length === 1) {
      ok = socket.write(chunks[0] as Uint8Array);
    } else {
      // Corked, the chunks leave in one writev.
      socket.cork();
      for (const chunk of chunks) ok = socket.write(chunk);
      socket.uncork();
    }
    // The socket took it all without pushing back, but a writer was told to wait: tell it to go on.
    if (ok && this.#owedDrain) this.drained();
  }

  /** The socket drained, or took everything: writers told to wait go on. */
  drained(): void {
    this.#owedDrain = false;
    this.#onDrain();
  }

  /** Forgets what waits (the socket is closing or closed); later writes are dropped. */
  drop(): void {
    this.#closed = true;
    this.#chunks = [];
    this.#chunkBytes = 0;
    if (stage.owner === this) {
      stage.owner = undefined;
      stage.used = 0;
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushTask);
  }

  // This socket's bytes in the stage become a chunk of its own, and the stage is free.
  #takeStaged(): void {
    if (stage.owner !== this) return;
    if (stage.used > 0) {
      this.#chunks.push(stage.bytes.slice(0, stage.used));
      this.#chunkBytes += stage.used;
    }
    stage.owner = undefined;
    stage.used = 0;
  }
}
