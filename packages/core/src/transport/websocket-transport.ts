import type { Socket } from "node:net";
import type { WebSocket as NodeWebSocket } from "ws";
import type { Transport, TransportHandlers } from "./transport.js";
import { WebSocketMeter } from "./websocket-meter.js";

// Above this many bytes queued in the WebSocket, `write` asks the caller to
// wait for `onDrain`.
const HIGH_WATER_MARK = 1 << 20;

type Inbound = { kind: "data"; bytes: Uint8Array } | { kind: "invalid" } | { kind: "close"; error: Error | undefined };

/** One WebSocket message holding `chunks` laid end to end (PW-TRANS-003: a frame travels in one message). */
function joined(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  const message = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    message.set(chunk, at);
    at += chunk.byteLength;
  }
  return message;
}

/**
 * Shared buffering of events that arrive before `attach`, so that no message
 * is lost between the upgrade and the owner being ready.
 */
abstract class WebSocketTransportBase implements Transport {
  readonly messageFramed = true;
  abstract readonly scheme: "ws" | "wss";
  abstract readonly remoteAddress: string;
  protected handlers: TransportHandlers | undefined;
  #early: Inbound[] = [];
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  protected markClosed(): void {
    this.#closed = true;
  }

  protected deliver(event: Inbound): void {
    const h = this.handlers;
    if (h === undefined) {
      this.#early.push(event);
      return;
    }
    if (event.kind === "data") h.onData(event.bytes);
    else if (event.kind === "invalid") h.onInvalid("text WebSocket message");
    else {
      this.#closed = true;
      h.onClose(event.error);
    }
  }

  attach(handlers: TransportHandlers): void {
    if (this.handlers !== undefined) throw new Error("transport already attached");
    this.handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const event of early) this.deliver(event);
  }

  writev(chunks: readonly Uint8Array[]): boolean {
    return this.write(joined(chunks));
  }

  abstract write(frame: Uint8Array): boolean;
  abstract pause(): void;
  abstract resume(): void;
  abstract end(): void;
  abstract destroy(error?: Error): void;
}

/**
 * A WebSocket of the `ws` package (Node) as a {@link Transport}: one frame
 * per binary message (PW-TRANS-003). Used by the Node dialer and by the
 * WebSocket listener.
 */
export class NodeWebSocketTransport extends WebSocketTransportBase {
  readonly scheme: "ws" | "wss";
  readonly remoteAddress: string;
  #pending = 0;
  #wantDrain = false;
  readonly #meter: WebSocketMeter | undefined;
  readonly #raw: Socket | undefined;
  #reported = { received: 0, announced: 0 };

  /**
   * Wraps an open `ws` WebSocket. `raw`, the socket a server-side WebSocket
   * reads from, has its bytes metered as they arrive (`onPartial`).
   */
  constructor(
    readonly socket: NodeWebSocket,
    scheme: "ws" | "wss",
    remoteAddress: string,
    raw?: Socket,
  ) {
    super();
    this.scheme = scheme;
    this.remoteAddress = remoteAddress;
    socket.binaryType = "nodebuffer";
    let error: Error | undefined;
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.deliver({ kind: "data", bytes: data });
      else this.deliver({ kind: "invalid" });
    });
    socket.on("error", (err) => {
      error ??= err;
    });
    socket.on("close", () => {
      this.markClosed();
      this.deliver({ kind: "close", error });
    });
    this.#raw = raw;
    if (raw !== undefined) {
      const meter = new WebSocketMeter();
      this.#meter = meter;
      // Ahead of ws's own listener: the meter has seen a chunk before ws delivers the messages it completes.
      raw.prependListener("data", (chunk: Buffer) => {
        meter.push(chunk);
        this.#reportPartial();
      });
    }
  }

  #reportPartial(): void {
    const meter = this.#meter as WebSocketMeter;
    const { received, announced } = meter;
    if (received === this.#reported.received && announced === this.#reported.announced) return;
    this.#reported = { received, announced };
    // Before attach the owner learns the state at its first report; nothing is lost by skipping this one.
    this.handlers?.onPartial?.(received, announced);
  }

  override attach(handlers: TransportHandlers): void {
    super.attach(handlers);
    const { received, announced } = this.#reported;
    if (received !== 0 || announced !== 0) handlers.onPartial?.(received, announced);
  }

  readonly #onSent = (size: number): void => {
    this.#pending -= size;
    if (this.#wantDrain && this.#pending < HIGH_WATER_MARK) {
      this.#wantDrain = false;
      this.handlers?.onDrain();
    }
  };

  write(frame: Uint8Array): boolean {
    if (this.closed || this.socket.readyState !== 1) return false;
    const size = frame.byteLength;
    this.#pending += size;
    this.socket.send(frame, { binary: true }, () => this.#onSent(size));
    if (this.#pending >= HIGH_WATER_MARK) {
      this.#wantDrain = true;
      return false;
    }
    return true;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.closed) return;
    this.markClosed();
    if ((this.#meter?.announced ?? 0) > 0) {
      // A message is still arriving: reading on would buffer the rest of it
      // in ws. The Close frame goes out behind what was written, with the
      // end of the stream, and nothing more is read; the owner's timer
      // drops the connection if the peer does not close it first.
      this.socket.close(1000);
      this.#raw?.end();
      return;
    }
    // The closing handshake needs to read the peer's Close frame.
    this.socket.resume();
    this.socket.close(1000);
  }

  destroy(): void {
    this.markClosed();
    this.socket.terminate();
  }
}

/**
 * A standard (WHATWG) WebSocket as a {@link Transport}, for browsers, Deno
 * and Bun. The standard API has no inbound flow control, so `pause` and
 * `resume` do nothing; outbound backpressure follows `bufferedAmount`.
 */
export class StandardWebSocketTransport extends WebSocketTransportBase {
  readonly scheme: "ws" | "wss";
  readonly remoteAddress: string;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  /** Wraps an open standard WebSocket. */
  constructor(
    readonly socket: WebSocket,
    scheme: "ws" | "wss",
  ) {
    super();
    this.scheme = scheme;
    this.remoteAddress = socket.url;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event: MessageEvent) => {
      const data: unknown = event.data;
      if (data instanceof ArrayBuffer) this.deliver({ kind: "data", bytes: new Uint8Array(data) });
      else this.deliver({ kind: "invalid" });
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      this.markClosed();
      if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
      const clean = event.code === 1000 || event.code === 1005;
      this.deliver({ kind: "close", error: clean ? undefined : new Error(`WebSocket closed with code ${event.code} ${event.reason}`) });
    });
  }

  readonly #pollDrain = (): void => {
    this.#drainTimer = undefined;
    if (this.closed) return;
    if (this.socket.bufferedAmount < HIGH_WATER_MARK) this.handlers?.onDrain();
    else this.#drainTimer = setTimeout(this.#pollDrain, 5);
  };

  write(frame: Uint8Array): boolean {
    if (this.closed || this.socket.readyState !== 1) return false;
    this.socket.send(frame);
    if (this.socket.bufferedAmount >= HIGH_WATER_MARK) {
      this.#drainTimer ??= setTimeout(this.#pollDrain, 5);
      return false;
    }
    return true;
  }

  pause(): void {}

  resume(): void {}

  end(): void {
    if (this.closed) return;
    this.markClosed();
    this.socket.close(1000);
  }

  destroy(): void {
    this.markClosed();
    this.socket.close(1000);
  }
}
