import { create, toBinary } from "@bufbuild/protobuf";
import { setMaxListeners } from "node:events";
import { CloseSchema, DrainSchema, ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { FrameChannel, PolywireError, PRE_HANDSHAKE_MAX_FRAME_SIZE, type Transport } from "@polywire/core";
import { DEFAULT_MAX_FRAME_SIZE, type Frame } from "@polywire/wasm-codec";
import type { ServerSaslMechanism } from "./auth.js";
import type { BrokerLimits } from "./limits.js";
import type { BrokerMetrics } from "./metrics.js";
import type { RequestSession, Route } from "./route.js";
import { SessionHandshake, type Handshaken } from "./session-handshake.js";
import { SessionOutput } from "./session-output.js";
import { SessionRequests } from "./session-requests.js";

/** What a session needs from its broker. */
export interface SessionHost {
  readonly brokerId: string;
  readonly software: { name: string; version: string };
  readonly limits: BrokerLimits;
  readonly supportedFeatures: ReadonlySet<Feature>;
  readonly mechanisms: ReadonlyMap<string, ServerSaslMechanism>;
  readonly routes: ReadonlyMap<number, Route>;
  readonly metrics: BrokerMetrics;
  readonly handshakeTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  /** True once the broker is draining: new sessions and new work are refused. */
  readonly draining: boolean;
  /** The admin listener's base URL for Welcome.admin_url (PW-ADMIN-060); empty without one. */
  readonly adminUrl: string;
  /** Takes a connection slot; false when at max connections (PW-LIM-004). */
  admit(session: ServerSession): boolean;
  /** Called once when the session is gone. */
  release(session: ServerSession): void;
  /** The bytes of unread frames the session holds now (PW-LIM-006); the host may close it, or others, with RESOURCE_EXHAUSTED. */
  holdInbound(session: ServerSession, bytes: number): void;
}

type Phase = "handshake" | "ready" | "closing" | "closed";

let sessionCounter = 0;

/**
 * The broker's side of one connection, over a {@link FrameChannel}: the
 * handshake of §3 (`SessionHandshake`), requests routed by frame kind to
 * the host's routes (`SessionRequests`), output and back-pressure
 * (`SessionOutput`), and here the session's life: frame errors
 * (PW-FRAME-013), limits, keepalive expiry, drain and close.
 */
export class ServerSession {
  /** Broker-assigned id, sent in Welcome. */
  readonly id: string;
  readonly transport: Transport;
  readonly #host: SessionHost;
  #phase: Phase = "handshake";
  readonly #channel: FrameChannel;
  readonly #output: SessionOutput;
  readonly #handshake: SessionHandshake;
  readonly #requests: SessionRequests;
  #granted: Handshaken = { principal: "", clientId: "", clientMaxFrameSize: DEFAULT_MAX_FRAME_SIZE, features: new Set() };
  #heldReported = 0;
  #drainNoticed = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #abort = new AbortController();
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  /** `acceptedAt`: `performance.now()` when the connection was accepted, where the handshake deadline starts (PW-TRANS-008). */
  constructor(transport: Transport, host: SessionHost, acceptedAt = performance.now()) {
    this.id = `${host.brokerId}-${(++sessionCounter).toString(36)}-${Date.now().toString(36)}`;
    this.transport = transport;
    this.#host = host;
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    // Every request in flight (up to max_in_flight of them, each a possible
    // long poll) listens on the session's signal: that many listeners is
    // the design, not a leak.
    setMaxListeners(host.limits.maxInFlight + 16, this.#abort.signal);
    // PW-FRAME-017: until Welcome only a small frame is read; raised in #welcomed.
    this.#channel = new FrameChannel(transport, {
      onFrame: (frame) => this.#onFrame(frame),
      onBroken: (error) => this.#failConnection(error, 0),
      onWritable: () => {
        this.#output.onWritable();
        this.#reportHeld();
      },
      afterWrite: (kind, accepted) => this.#output.afterWrite(kind, accepted),
      afterInput: () => this.#reportHeld(),
      onClose: () => this.#onClosed(),
    }, { maxFrameSize: Math.min(PRE_HANDSHAKE_MAX_FRAME_SIZE, host.limits.maxFrameSize) });
    this.#output = new SessionOutput(this.#channel, host.metrics, (frame) => this.#requests.dispatch(frame));
    this.#requests = new SessionRequests(this.#requestsSide());
    this.#handshake = new SessionHandshake({
      host,
      scheme: transport.scheme,
      sessionId: this.id,
      admit: () => host.admit(this),
      challenge: (message) => this.#output.write(FrameKind.AUTH_CHALLENGE, 1, message),
      hold: (frame) => this.#output.hold(frame),
      fail: (error, correlationId) => this.#failConnection(error, correlationId),
      welcomed: (granted, welcome) => this.#welcomed(granted, welcome),
    }, acceptedAt);
    this.#channel.start();
  }

  #requestsSide(): ConstructorParameters<typeof SessionRequests>[0] {
    const session = this;
    const view: RequestSession = {
      get signal() {
        return session.#abort.signal;
      },
      get features() {
        return session.#granted.features;
      },
      get principal() {
        return session.#granted.principal;
      },
      get clientId() {
        return session.#granted.clientId;
      },
      get clientMaxFrameSize() {
        return session.#granted.clientMaxFrameSize;
      },
      awaitWritable: () => this.#output.awaitWritable(),
      push: {
        get writable() {
          return session.#output.writable;
        },
        write: (kind, message, payload) => this.#output.push(kind, message, payload),
        onWritable: (listener) => this.#output.onDrained(listener),
        writeFrame: (kind, correlationId, message, payload) => this.#output.write(kind, correlationId, message, payload),
        writeError: (error, correlationId) => this.#output.writeError(error, correlationId),
        drained: () => this.#output.drained(),
      },
      pauseReadingUntil: (until) => this.#output.pauseReadingUntil(until),
    };
    return {
      host: this.#host,
      output: this.#output,
      view,
      get features() {
        return session.#granted.features;
      },
      get draining() {
        return session.#drainNoticed || session.#host.draining;
      },
      get closed() {
        return session.#phase === "closed";
      },
      sessionFrame: (frame) => this.#onSessionFrame(frame),
      fail: (error, correlationId, requestCorrelationId) => this.#failConnection(error, correlationId, requestCorrelationId),
      heldChanged: () => this.#reportHeld(),
    };
  }

  /** The features granted in Welcome. */
  get features(): ReadonlySet<Feature> {
    return this.#granted.features;
  }

  /** The authenticated identity; empty for anonymous sessions. */
  get principal(): string {
    return this.#granted.principal;
  }

  /** The client's `Hello.client_id`. */
  get clientId(): string {
    return this.#granted.clientId;
  }

  /** The largest frame the client accepts (Hello.max_frame_size). */
  get clientMaxFrameSize(): number {
    return this.#granted.clientMaxFrameSize;
  }

  /** Aborted when the session closes; long-running handlers listen to it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** True once the handshake completed and until the session starts closing. */
  get ready(): boolean {
    return this.#phase === "ready";
  }

  /** Resolves once the transport is closed. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Milliseconds since bytes last arrived. */
  idleFor(now: number): number {
    return now - this.#channel.lastReceived;
  }

  #onFrame(frame: Frame): void {
    if (this.#phase === "closing" || this.#phase === "closed") return;
    this.#host.metrics.kind(frame.kind).received++;
    if (this.#phase === "handshake") this.#handshake.onFrame(frame);
    else if (this.#output.holding) this.#output.hold(frame);
    else this.#requests.dispatch(frame);
  }

  // PW-LIM-006: what this connection holds of frames not finished: incomplete
  // ones, ones read but not served, and those of requests not yet answered.
  #reportHeld(): void {
    const held = this.#phase === "closing" || this.#phase === "closed"
      ? 0
      : this.#channel.buffered + this.#output.backlogBytes + this.#requests.bytes;
    if (held === this.#heldReported) return;
    this.#heldReported = held;
    this.#host.holdInbound(this, held);
  }

  /** Closes the connection with RESOURCE_EXHAUSTED: the broker is over its inbound budget (PW-LIM-006). */
  exhaust(budget: number): void {
    this.#failConnection(new PolywireError("RESOURCE_EXHAUSTED", `the broker holds more than its budget of ${budget} bytes of unread frames; this connection held the most (PW-LIM-006)`, { limit: budget }), 0);
  }

  #welcomed(granted: Handshaken, welcome: Uint8Array): void {
    if (this.#phase !== "handshake") return;
    this.#granted = granted;
    this.#phase = "ready";
    // Frames may now be as large as the broker's limit; before Welcome they were held to 64 KiB (PW-FRAME-017).
    this.#channel.maxFrameSize = this.#host.limits.maxFrameSize;
    // Granted, every frame from Welcome on carries a CRC-32C; never before it (PW-SESS-026).
    this.#channel.checksum = granted.features.has(Feature.FRAME_CHECKSUM);
    this.#output.write(FrameKind.WELCOME, 1, welcome);
    // Frames pipelined behind the Hello, in the order they came, as if they arrived now (PW-SESS-023).
    this.#output.startServing();
    this.#reportHeld();
  }

  /** Pong, Close and Error from the client. */
  #onSessionFrame(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.CLOSE:
        // PW-SESS-016: answer what is in flight (long polls end early), then close.
        this.#startClosing();
        this.#abort.abort(new PolywireError("CANCELLED", "the client closed the connection"));
        void this.#finishAndEnd(undefined);
        return;
      case FrameKind.ERROR:
        if (frame.correlationId === 0) {
          this.#startClosing();
          void this.#finishAndEnd(undefined);
        }
        return;
      default:
        // A Pong: the broker sends no Pings, so there is nothing to match it with.
        return;
    }
  }

  // ---- closing

  /** Reads and serves nothing more; what was held for unread frames goes (PW-LIM-006). */
  #startClosing(): void {
    this.#phase = "closing";
    this.#handshake.finish();
    this.#output.stopReading();
    this.#channel.stop();
  }

  /**
   * Sends an Error (PW-FRAME-013, handshake errors, PW-FRAME-016) and closes
   * the connection; `requestCorrelationId` names the request that caused it.
   */
  #failConnection(error: PolywireError, correlationId: number, requestCorrelationId?: number): void {
    if (this.#phase === "closing" || this.#phase === "closed") return;
    this.#output.writeError(error, correlationId, requestCorrelationId);
    // A connection-level Error was sent: no frame may follow it (PW-FRAME-013).
    this.#output.seal();
    this.#startClosing();
    this.#output.dropBacklog();
    this.#reportHeld();
    this.#endTransport();
  }

  #endTransport(): void {
    this.transport.end();
    this.#closeTimer ??= setTimeout(() => this.transport.destroy(), 5_000);
  }

  /** Waits for requests in flight, sends Close (when `code` is given) and closes the transport. */
  async #finishAndEnd(code: ErrorCode | undefined, reason = ""): Promise<void> {
    await this.#requests.idle();
    if (this.#phase === "closed") return;
    if (code !== undefined) {
      this.#output.write(FrameKind.CLOSE, 0, toBinary(CloseSchema, create(CloseSchema, { code, reason })));
    }
    this.#phase = "closing";
    this.#endTransport();
  }

  /** Resolves when no request is being processed. */
  idle(): Promise<void> {
    return this.#requests.idle();
  }

  /**
   * Announces shutdown (PW-SESS-015): sends Drain if the client negotiated
   * FEATURE_DRAIN_NOTICE; new work is refused with SHUTTING_DOWN from now on.
   * Returns whether a Drain was sent.
   */
  drain(deadlineMs: number, reason: string, alternateUrls: readonly string[] = []): boolean {
    if (this.#phase !== "ready") return false;
    this.#drainNoticed = true;
    if (!this.#granted.features.has(Feature.DRAIN_NOTICE)) return false;
    this.#output.write(FrameKind.DRAIN, 0, toBinary(DrainSchema, create(DrainSchema, { deadlineMs, reason, alternateUrls: [...alternateUrls] })));
    return true;
  }

  /**
   * Closes the session gracefully: stops reading, finishes requests in
   * flight, sends Close with `code` and closes the transport.
   */
  async shutdown(code: ErrorCode = ErrorCode.SHUTTING_DOWN, reason = "broker shutting down"): Promise<void> {
    if (this.#phase === "closed") return;
    if (this.#phase === "handshake") {
      this.#failConnection(new PolywireError("SHUTTING_DOWN", reason), this.#handshake.correlationId);
    } else if (this.#phase === "ready") {
      this.#startClosing();
      this.#abort.abort(new PolywireError("SHUTTING_DOWN", reason));
      await this.#finishAndEnd(code, reason);
    }
    await this.#closedPromise;
  }

  /** Closes at once with a connection-level TIMEOUT error (PW-SESS-011). */
  expireIdle(): void {
    this.#failConnection(new PolywireError("TIMEOUT", `no frame received for ${2 * this.#host.keepaliveIntervalMs} ms (PW-SESS-011)`), 0);
  }

  /** Drops the connection without any frame. */
  destroy(): void {
    this.transport.destroy();
  }

  #onClosed(): void {
    if (this.#phase === "closed") return;
    this.#phase = "closed";
    this.#handshake.finish();
    this.#output.seal();
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#abort.abort(new PolywireError("CONNECTION_LOST", "the connection closed"));
    this.#output.releaseWriters();
    this.#reportHeld();
    this.#host.release(this);
    this.#resolveClosed();
  }
}
