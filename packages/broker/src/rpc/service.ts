import type { Call } from "./call.js";
import type { RpcPeer } from "./peer.js";

/** One registered responder (PW-RPC-001): its connection, id, service and limit. */
export class Responder {
  readonly peer: RpcPeer;
  readonly id: number;
  readonly service: Service;
  /** Most calls in progress at once; 0 means no limit (PW-RPC-003). */
  readonly maxConcurrency: number;
  /** Calls routed to it and not ended. */
  active = 0;

  constructor(peer: RpcPeer, id: number, service: Service, maxConcurrency: number) {
    this.peer = peer;
    this.id = id;
    this.service = service;
    this.maxConcurrency = maxConcurrency;
  }

  /** Below its `max_concurrency`, and its connection below its bound of calls (PW-RPC-003, PW-RPC-006). */
  get hasRoom(): boolean {
    return (this.maxConcurrency === 0 || this.active < this.maxConcurrency) && this.peer.hasLegRoom;
  }
}

/**
 * A service: the queue group of its responders, on any connections
 * (PW-RPC-002), and the calls waiting for one of them to have room
 * (PW-RPC-003), oldest first.
 */
export class Service {
  readonly name: string;
  readonly #responders: Responder[] = [];
  #cursor = 0;
  /** Calls waiting for a responder with room; a Set keeps their order and removes in O(1). */
  readonly waiting = new Set<Call>();

  constructor(name: string) {
    this.name = name;
  }

  get responders(): number {
    return this.#responders.length;
  }

  add(responder: Responder): void {
    this.#responders.push(responder);
  }

  remove(responder: Responder): void {
    const at = this.#responders.indexOf(responder);
    if (at < 0) return;
    this.#responders.splice(at, 1);
    if (at < this.#cursor) this.#cursor--;
    if (this.#cursor >= this.#responders.length) this.#cursor = 0;
  }

  /**
   * The next responder with room, round-robin from the one after the last
   * chosen, so calls spread evenly among those below their limit
   * (PW-RPC-002); undefined when none has room.
   */
  pick(): Responder | undefined {
    const n = this.#responders.length;
    for (let i = 0; i < n; i++) {
      const at = (this.#cursor + i) % n;
      const responder = this.#responders[at] as Responder;
      if (responder.hasRoom) {
        this.#cursor = (at + 1) % n;
        return responder;
      }
    }
    return undefined;
  }

  /** The oldest waiting call. */
  firstWaiting(): Call | undefined {
    for (const call of this.waiting) return call;
    return undefined;
  }
}
