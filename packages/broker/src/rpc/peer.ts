import type { PolywireError } from "@polywire/core";
import type { Call } from "./call.js";
import type { Responder } from "./service.js";

/** Where a connection's frames of the plane go: the session writes them. */
export interface RpcSink {
  /** Writes one frame on the connection with the given correlation id; false when its transport pushes back. */
  frame(kind: number, correlationId: number, message: Uint8Array, payload?: Uint8Array): boolean;
  /** Writes an Error frame carrying `correlationId`. */
  error(error: PolywireError, correlationId: number): void;
  /** Resolves once the connection's transport takes writes again. */
  drained(): Promise<void>;
  /** Reads nothing more from this connection until `until` settles. */
  pauseReadingUntil(until: Promise<void>): void;
  /** False while the connection's transport pushes back. */
  readonly writable: boolean;
  /** Calls `listener` each time the connection's transport drains after pushing back. */
  onWritable(listener: () => void): void;
}

/**
 * One connection's side of the request/reply plane: its responders, the
 * calls it started (by their odd correlation ids) and the calls routed to
 * it (by the even ids the broker chose, PW-RPC-011).
 */
export class RpcPeer {
  readonly sink: RpcSink;
  readonly responders = new Map<number, Responder>();
  /** Calls this connection started, by the caller's correlation id. */
  readonly calls = new Map<number, Call>();
  /** Calls routed to this connection's responders, by the broker-chosen id. */
  readonly legs = new Map<number, Call>();
  readonly #maxLegs: number;
  #nextLegId = 2;
  closed = false;

  constructor(sink: RpcSink, maxLegs: number) {
    this.sink = sink;
    this.#maxLegs = maxLegs;
  }

  /**
   * Below its bound of calls in progress as responder (PW-RPC-006), and
   * reading what it is sent: a connection that pushes back takes no new
   * call until it drains (PW-RPC-047).
   */
  get hasLegRoom(): boolean {
    return !this.closed && this.legs.size < this.#maxLegs && this.sink.writable;
  }

  /** An even correlation id no call in progress on this connection uses (PW-RPC-011, PW-RPC-012). */
  nextLegId(): number {
    for (;;) {
      const id = this.#nextLegId;
      this.#nextLegId = id >= 0xffff_fffe ? 2 : id + 2;
      if (!this.legs.has(id)) return id;
    }
  }

  /** Writes a frame; false when the connection's transport pushes back. */
  send(kind: number, correlationId: number, message: Uint8Array, payload?: Uint8Array): boolean {
    return this.closed || this.sink.frame(kind, correlationId, message, payload);
  }

  /**
   * Forwards a frame `from` sent whose payload no credit covers (a first
   * payload, or a chunk under unlimited credit, PW-RPC-041): when this
   * connection pushes back, `from` is not read until it drains, so the
   * broker holds the sender rather than its bytes (PW-RPC-047).
   */
  forward(from: RpcPeer, kind: number, correlationId: number, message: Uint8Array, payload: Uint8Array | undefined): void {
    if (!this.send(kind, correlationId, message, payload) && payload !== undefined && payload.byteLength > 0 && !from.closed) {
      from.sink.pauseReadingUntil(this.sink.drained());
    }
  }

  fail(error: PolywireError, correlationId: number): void {
    if (!this.closed) this.sink.error(error, correlationId);
  }
}
