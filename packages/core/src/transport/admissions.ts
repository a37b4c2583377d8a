import type { Socket } from "node:net";
import type { ListenContext } from "./listen.js";
import type { TransportScheme } from "./transport.js";

/**
 * Admissions of sockets whose TLS handshake or WebSocket upgrade is under
 * way, until the transport built on them arrives. The TLS or HTTP server
 * hands out a new socket object for the same connection, so they are
 * matched by remote address and port, unique among open connections.
 */
export class PendingAdmissions<A> {
  readonly #byRemote = new Map<string, A>();

  static #key(socket: Socket): string {
    return `${socket.remoteAddress ?? ""}:${socket.remotePort ?? ""}`;
  }

  /** Admits a socket just accepted (PW-TRANS-007), or closes it at once when the owner refuses it. */
  accept(raw: Socket, scheme: TransportScheme, context: ListenContext<A>): void {
    const admission = context.admit(raw, scheme);
    if (admission === undefined) {
      raw.destroy();
      return;
    }
    const key = PendingAdmissions.#key(raw);
    this.#byRemote.set(key, admission);
    raw.once("close", () => {
      if (this.#byRemote.get(key) === admission) this.#byRemote.delete(key);
    });
  }

  /** The admission of the connection `socket` belongs to; it leaves the map. */
  take(socket: Socket): A | undefined {
    const key = PendingAdmissions.#key(socket);
    const admission = this.#byRemote.get(key);
    this.#byRemote.delete(key);
    return admission;
  }
}
