import { PolywireError } from "../errors.js";
import type { Transport, TransportHandlers } from "./transport.js";

// Above this many undelivered bytes, `write` asks the writer to wait.
const HIGH_WATER_MARK = 1 << 20;

const defer: (fn: () => void) => void =
  typeof setImmediate === "function" ? (fn) => void setImmediate(fn) : (fn) => queueMicrotask(fn);

/** Accepts in-process connections for one `memory://name`. */
export interface MemoryListener {
  /** The name this listener is registered under. */
  readonly name: string;
  /** The URL clients dial: `memory://name`. */
  readonly url: string;
  /** Unregisters the name; open connections are not affected. */
  close(): void;
}

type Accept = (transport: Transport) => void;

// One registry per process, shared by every copy of this package, so that a
// broker and a client bundled with different copies still meet. The key keeps
// the name it had when transports lived in @polywire/runtime, so that copies
// from before the move meet these too.
const registryKey = Symbol.for("@polywire/runtime/memory-registry");
function registry(): Map<string, Accept> {
  const g = globalThis as Record<symbol, Map<string, Accept> | undefined>;
  let map = g[registryKey];
  if (map === undefined) {
    map = new Map();
    g[registryKey] = map;
  }
  return map;
}

/**
 * Registers `memory://name` in this process; `accept` receives the broker's
 * end of each connection a client dials. Throws INVALID_ARGUMENT if the name
 * is already taken.
 */
export function listenMemory(name: string, accept: (transport: Transport) => void): MemoryListener {
  const map = registry();
  if (map.has(name)) throw new PolywireError("INVALID_ARGUMENT", `memory://${name} is already in use`);
  map.set(name, accept);
  return {
    name,
    url: `memory://${name}`,
    close: () => {
      if (map.get(name) === accept) map.delete(name);
    },
  };
}

/**
 * Connects to `memory://name` in this process. Fails with CONNECTION_LOST
 * (retriable, like a refused TCP connection) if nothing listens there.
 */
export function dialMemory(name: string): Transport {
  const accept = registry().get(name);
  if (accept === undefined) throw new PolywireError("CONNECTION_LOST", `nothing listens on memory://${name}`);
  const client = new MemoryTransport(`memory://${name}`);
  const server = new MemoryTransport(`memory://${name}#client`);
  client.peer = server;
  server.peer = client;
  accept(server);
  return client;
}

/**
 * One end of an in-process connection: frames written on one end arrive,
 * in order and by reference (no copy), at the other.
 */
class MemoryTransport implements Transport {
  readonly scheme = "memory" as const;
  readonly messageFramed = false;
  peer: MemoryTransport | undefined;
  #handlers: TransportHandlers | undefined;
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #scheduled = false;
  #paused = false;
  #closed = false;
  #closing: Error | undefined | null = null;
  #peerWantsDrain = false;
  #services: Map<symbol, unknown> | undefined;

  constructor(readonly remoteAddress: string) {}

  get closed(): boolean {
    return this.#closed;
  }

  attach(handlers: TransportHandlers): void {
    if (this.#handlers !== undefined) throw new Error("transport already attached");
    this.#handlers = handlers;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    defer(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const handlers = this.#handlers;
    if (handlers === undefined) return;
    while (!this.#paused && this.#inbox.length > 0) {
      const chunk = this.#inbox.shift() as Uint8Array;
      this.#inboxBytes -= chunk.byteLength;
      handlers.onData(chunk);
    }
    const writer = this.peer;
    if (writer !== undefined && writer.#peerWantsDrain && this.#inboxBytes < HIGH_WATER_MARK) {
      writer.#peerWantsDrain = false;
      writer.#handlers?.onDrain();
    }
    if (this.#inbox.length === 0 && this.#closing !== null) {
      const error = this.#closing;
      this.#closing = null;
      this.#closed = true;
      handlers.onClose(error);
    }
  };

  /** Called by the peer: queue a chunk for this end. */
  #receive(chunk: Uint8Array): boolean {
    this.#inbox.push(chunk);
    this.#inboxBytes += chunk.byteLength;
    this.#schedule();
    return this.#inboxBytes < HIGH_WATER_MARK;
  }

  /** Called by the peer: this end closes once its inbox is delivered. */
  #hangUp(error: Error | undefined, dropInbox: boolean): void {
    if (this.#closed || this.#closing !== null) return;
    if (dropInbox) {
      this.#inbox = [];
      this.#inboxBytes = 0;
    }
    this.#closing = error;
    this.#schedule();
  }

  provide(key: symbol, service: unknown): void {
    (this.#services ??= new Map()).set(key, service);
  }

  peerService(key: symbol): unknown {
    const peer = this.peer;
    return peer === undefined ? undefined : peer.#services?.get(key);
  }

  write(frame: Uint8Array): boolean {
    return this.writev([frame]);
  }

  writev(chunks: readonly Uint8Array[]): boolean {
    const peer = this.peer;
    if (this.#closed || this.#closing !== null || peer === undefined || peer.#closed) return false;
    let ok = true;
    for (const chunk of chunks) ok = peer.#receive(chunk);
    if (!ok) this.#peerWantsDrain = true;
    return ok;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#schedule();
  }

  end(): void {
    if (this.#closed || this.#closing !== null) return;
    const peer = this.peer;
    if (peer !== undefined) peer.#hangUp(undefined, false);
    this.#hangUp(undefined, true);
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    const peer = this.peer;
    if (peer !== undefined) peer.#hangUp(new Error("connection reset by peer"), true);
    this.#closing = null;
    this.#hangUp(error, true);
  }
}
