import type { Socket } from "node:net";
import type { Transport, TransportHandlers, TransportScheme } from "./transport.js";

/**
 * A Node `net.Socket` (TCP, Unix) or `tls.TLSSocket` as a {@link Transport}.
 * Used by the dialers and the listeners. Writes made in
 * one synchronous stretch are corked together and leave in one `writev`,
 * at the next microtask: a `process.nextTick` would wait until the whole
 * microtask queue has drained, and a producer's promise chains (records
 * settled, the caller's next sends) can keep it busy for milliseconds while
 * the request that frees the broker sits in the cork.
 */
export class SocketTransport implements Transport {
  readonly messageFramed = false;
  readonly remoteAddress: string;
  #handlers: TransportHandlers | undefined;
  #closed = false;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  /** Wraps `socket`, which must already be connected. */
  constructor(
    readonly socket: Socket,
    readonly scheme: TransportScheme,
  ) {
    this.remoteAddress = socket.remoteAddress === undefined
      ? scheme
      : `${socket.remoteAddress}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.pause();
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handlers: TransportHandlers): void {
    if (this.#handlers !== undefined) throw new Error("transport already attached");
    this.#handlers = handlers;
    const socket = this.socket;
    let error: Error | undefined;
    socket.on("data", (chunk: Buffer) => handlers.onData(chunk));
    socket.on("drain", () => handlers.onDrain());
    socket.on("error", (err) => {
      error ??= err;
    });
    // A peer's FIN ends our side too: the protocol has no half-open state.
    socket.on("end", () => socket.end());
    socket.on("close", () => {
      this.#closed = true;
      handlers.onClose(error);
    });
    if (socket.destroyed) {
      this.#closed = true;
      queueMicrotask(() => handlers.onClose(new Error("socket closed before attach")));
      return;
    }
    socket.resume();
  }

  write(frame: Uint8Array): boolean {
    if (this.#closed || this.socket.destroyed) return false;
    this.#cork();
    return this.socket.write(frame);
  }

  writev(chunks: readonly Uint8Array[]): boolean {
    if (this.#closed || this.socket.destroyed) return false;
    this.#cork();
    // Corked, every chunk joins the same writev: none is copied.
    let ok = true;
    for (const chunk of chunks) ok = this.socket.write(chunk);
    return ok;
  }

  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.socket.cork();
    queueMicrotask(this.#uncork);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Keep reading so the peer's FIN is seen and the socket closes promptly.
    this.socket.resume();
    this.socket.end();
  }

  destroy(error?: Error): void {
    this.#closed = true;
    this.socket.destroy(error);
  }
}
