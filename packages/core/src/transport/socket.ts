import type { Socket } from "node:net";
import type { StagedOutput, Transport, TransportHandlers, TransportScheme } from "./transport.js";
import { WriteCoalescer } from "./write-coalescer.js";

/**
 * A Node `net.Socket` (TCP, Unix) or `tls.TLSSocket` as a {@link Transport}.
 * Used by the dialers and the listeners. Writes made in one synchronous
 * stretch leave together at the next microtask, small ones copied into one
 * buffer ({@link WriteCoalescer}), which is also offered as {@link staged}
 * for encoding frames in place.
 */
export class SocketTransport implements Transport {
  readonly messageFramed = false;
  readonly remoteAddress: string;
  #handlers: TransportHandlers | undefined;
  #closed = false;
  readonly #output: WriteCoalescer;

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
    this.#output = new WriteCoalescer(socket, () => this.#handlers?.onDrain());
  }

  get closed(): boolean {
    return this.#closed;
  }

  get staged(): StagedOutput | undefined {
    return this.#closed || this.socket.destroyed ? undefined : this.#output;
  }

  attach(handlers: TransportHandlers): void {
    if (this.#handlers !== undefined) throw new Error("transport already attached");
    this.#handlers = handlers;
    const socket = this.socket;
    let error: Error | undefined;
    socket.on("data", (chunk: Buffer) => handlers.onData(chunk));
    socket.on("drain", () => this.#output.drained());
    socket.on("error", (err) => {
      error ??= err;
    });
    // A peer's FIN ends our side too: the protocol has no half-open state.
    socket.on("end", () => {
      this.#output.flush();
      socket.end();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#output.drop();
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
    return this.#output.write([frame]);
  }

  writev(chunks: readonly Uint8Array[]): boolean {
    if (this.#closed || this.socket.destroyed) return false;
    return this.#output.write(chunks);
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
    // What was written before leaves first.
    this.#output.flush();
    // Keep reading so the peer's FIN is seen and the socket closes promptly.
    this.socket.resume();
    this.socket.end();
  }

  destroy(error?: Error): void {
    this.#closed = true;
    this.#output.drop();
    this.socket.destroy(error);
  }
}
