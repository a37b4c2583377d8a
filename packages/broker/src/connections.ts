import type { Socket } from "node:net";
import type { Transport } from "@polywire/core";
import { InboundBudget } from "./inbound-budget.js";
import type { BrokerMetrics } from "./metrics.js";
import { ServerSession, type SessionHost } from "./session.js";
import { SocketGate, type Admission } from "./socket-gate.js";

/** What {@link DataConnections} needs to know of the broker. */
export interface DataConnectionSettings {
  readonly maxConnections: number;
  readonly maxBufferedInboundBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
}

/**
 * The broker's data-plane connections, from the socket's accept to the
 * session's end: each counted against `maxConnections` from accept
 * (PW-TRANS-007) and closed if it has not become a session within the
 * handshake timeout (PW-TRANS-008), the unread bytes of all of them held to
 * the inbound budget (PW-LIM-006), and sessions silent for twice the
 * keepalive interval expired.
 */
export class DataConnections {
  readonly #settings: DataConnectionSettings;
  readonly #metrics: BrokerMetrics;
  readonly #gate: SocketGate;
  readonly #inbound: InboundBudget<ServerSession>;
  readonly #sessions = new Set<ServerSession>();
  readonly #admissions = new Map<ServerSession, Admission>();
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(settings: DataConnectionSettings, metrics: BrokerMetrics) {
    this.#settings = settings;
    this.#metrics = metrics;
    this.#gate = new SocketGate(settings.maxConnections);
    this.#inbound = new InboundBudget(settings.maxBufferedInboundBytes);
  }

  /** Open sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** The open sessions. */
  sessions(): Iterable<ServerSession> {
    return this.#sessions;
  }

  /** Connections open now and the most at once since the last call, for MemoryUpkeep. */
  takePeak(): { open: number; peak: number } {
    return this.#gate.takePeak();
  }

  /** The part of a {@link SessionHost} that admits, releases and budgets sessions. */
  readonly hostHooks: Pick<SessionHost, "admit" | "release" | "holdInbound"> = {
    // The slot was taken when the connection was accepted (PW-TRANS-007).
    admit: (session) => {
      if (this.#admissions.get(session)?.slot === true) return true;
      this.#metrics.connectionsRejected.labels(session.transport.scheme, "limit").inc();
      return false;
    },
    release: (session) => {
      this.#admissions.get(session)?.release();
      this.#admissions.delete(session);
      this.#inbound.remove(session);
      if (this.#sessions.delete(session)) this.#metrics.connections.labels(session.transport.scheme).dec();
    },
    holdInbound: (session, bytes) => this.#inbound.set(session, bytes),
  };

  /**
   * A socket just accepted, before any TLS handshake or upgrade: it takes
   * its place in the connection count (PW-TRANS-007), and is closed if it
   * has not become a session within the handshake timeout (PW-TRANS-008;
   * from then on the session's own deadline, which started here, applies).
   */
  admitSocket(socket: Socket, scheme: Transport["scheme"]): Admission | undefined {
    const admission = this.#gate.admit();
    if (admission === undefined) {
      this.#metrics.connectionsRejected.labels(scheme, "limit").inc();
      return undefined;
    }
    const timer = setTimeout(() => {
      if (!admission.started) socket.destroy();
    }, this.#settings.handshakeTimeoutMs);
    timer.unref();
    socket.once("close", () => {
      clearTimeout(timer);
      admission.release();
    });
    return admission;
  }

  /**
   * A transport established on an admitted socket (or, in process, without
   * one) becomes a session, returned; while the broker is not `running` it
   * is closed.
   */
  accept(transport: Transport, accepted: Admission | undefined, running: boolean, host: SessionHost): ServerSession | undefined {
    // In-process transports have no socket: they are counted here.
    const admission = accepted ?? this.#gate.admit();
    if (!running || admission === undefined) {
      admission?.release();
      this.#metrics.connectionsRejected.labels(transport.scheme, admission === undefined ? "limit" : "draining").inc();
      transport.destroy();
      return undefined;
    }
    admission.started = true;
    const scheme = transport.scheme;
    this.#metrics.connectionsAccepted.labels(scheme).inc();
    this.#metrics.connections.labels(scheme).inc();
    const session = new ServerSession(transport, host, admission.acceptedAt);
    this.#admissions.set(session, admission);
    this.#sessions.add(session);
    return session;
  }

  /** Starts expiring sessions silent for twice the keepalive interval; none when it is 0. */
  startKeepalive(): void {
    const keepalive = this.#settings.keepaliveIntervalMs;
    if (keepalive === 0) return;
    this.#sweep = setInterval(() => {
      const now = performance.now();
      for (const session of this.#sessions) {
        if (session.ready && session.idleFor(now) > 2 * keepalive) session.expireIdle();
      }
    }, Math.max(50, keepalive / 2));
    this.#sweep.unref();
  }

  /** Stops the keepalive sweep and destroys every session. */
  destroyAll(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    for (const session of this.#sessions) session.destroy();
  }
}
