import type { WebSocket as NodeWebSocket } from "ws";
import { PolywireError } from "../errors.js";
import { dialError } from "./dial-error.js";
import type { DialOptions, Transport, TransportHandlers } from "./transport.js";
import type { TransportAddress } from "./url.js";

// Above this many bytes queued in the WebSocket, `write` asks the caller to
// wait for `onDrain`.
const HIGH_WATER_MARK = 1 << 20;

type Inbound = { kind: "data"; bytes: Uint8Array } | { kind: "invalid" } | { kind: "close"; error: Error | undefined };

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

  abstract write(frame: Uint8Array): boolean;
  abstract pause(): void;
  abstract resume(): void;
  abstract end(): void;
  abstract destroy(error?: Error): void;
}

/**
 * A WebSocket of the `ws` package (Node) as a {@link Transport}: one frame
 * per binary message (PW-TRANS-003). Used by the Node client and by the
 * broker's WebSocket listener.
 */
export class NodeWebSocketTransport extends WebSocketTransportBase {
  readonly scheme: "ws" | "wss";
  readonly remoteAddress: string;
  #pending = 0;
  #wantDrain = false;

  /** Wraps an open `ws` WebSocket. */
  constructor(
    readonly socket: NodeWebSocket,
    scheme: "ws" | "wss",
    remoteAddress: string,
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

function isNode(): boolean {
  const g = globalThis as { process?: { versions?: Record<string, string | undefined> }; Deno?: unknown };
  const versions = g.process?.versions;
  return versions?.node !== undefined && versions.bun === undefined && g.Deno === undefined;
}

function withDeadline<T>(address: TransportAddress, options: DialOptions, start: (settle: { resolve(v: T): void; reject(e: Error): void }) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 10_000;
    let cancel = (): void => {};
    const timer = setTimeout(() => fail(new PolywireError("TIMEOUT", `connecting to ${address.url} timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(PolywireError.from(options.signal?.reason, "CANCELLED"));
    const done = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: Error): void => {
      done();
      cancel();
      reject(error);
    };
    if (options.signal?.aborted) {
      clearTimeout(timer);
      reject(PolywireError.from(options.signal.reason, "CANCELLED"));
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    cancel = start({
      resolve: (v) => {
        done();
        resolve(v);
      },
      reject: fail,
    });
  });
}

/**
 * Dials `ws://` or `wss://`: with the `ws` package in Node (loaded on
 * demand, and supporting the TLS options), with the global WebSocket
 * elsewhere.
 */
export async function dialWebSocket(address: TransportAddress, options: DialOptions): Promise<Transport> {
  if (address.scheme !== "ws" && address.scheme !== "wss") {
    throw new PolywireError("INVALID_ARGUMENT", `${address.url} is not a WebSocket URL`);
  }
  const scheme = address.scheme;
  if (isNode()) {
    const { WebSocket } = await import("ws");
    const t = options.tls ?? {};
    return withDeadline<Transport>(address, options, ({ resolve, reject }) => {
      const socket = new WebSocket(address.url, {
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(t.ca === undefined ? {} : { ca: t.ca as string | string[] }),
        ...(t.cert === undefined ? {} : { cert: t.cert as string }),
        ...(t.key === undefined ? {} : { key: t.key as string }),
        ...(t.servername === undefined ? {} : { servername: t.servername }),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        perMessageDeflate: false,
      });
      // Wrapped before "open" so that messages sent right after the upgrade are kept.
      const transport = new NodeWebSocketTransport(socket, scheme, address.url);
      const onError = (err: Error): void => reject(dialError(address, err));
      socket.once("error", onError);
      socket.once("open", () => {
        socket.removeListener("error", onError);
        resolve(transport);
      });
      return () => socket.terminate();
    });
  }
  const Standard = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
  if (Standard === undefined) {
    throw new PolywireError("INVALID_ARGUMENT", "this runtime has no WebSocket implementation");
  }
  return withDeadline<Transport>(address, options, ({ resolve, reject }) => {
    const socket = new Standard(address.url);
    const transport = new StandardWebSocketTransport(socket, scheme);
    const onError = (): void => reject(dialError(address, new Error("WebSocket error")));
    socket.addEventListener("error", onError, { once: true });
    socket.addEventListener("open", () => {
      socket.removeEventListener("error", onError);
      resolve(transport);
    }, { once: true });
    return () => socket.close();
  });
}
