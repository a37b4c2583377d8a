import { create, toBinary } from "@bufbuild/protobuf";
import { setMaxListeners } from "node:events";
import {
  AuthChallengeSchema, AuthResponseSchema, CloseSchema, DrainSchema, ErrorCode, ErrorSchema, Feature, FrameKind,
  HelloSchema, PingSchema, PongSchema, WelcomeSchema,
  type Hello,
} from "@polywire/proto/session";
import { decodeMessage, frameKindTable, frameSize, MIN_MAX_FRAME_SIZE, PolywireError, PROTOCOL_VERSION, type Transport } from "@polywire/runtime/connection";
import { encodeFrame, encodeFrameHead, FrameDecoder, type Frame } from "@polywire/wasm-codec";
import type { SaslExchange, ServerSaslMechanism } from "./auth.js";
import { toPolywireError } from "./errors.js";
import { PRE_HANDSHAKE_MAX_FRAME_SIZE, type BrokerLimits } from "./limits.js";
import type { BrokerMetrics } from "./metrics.js";
import type { Reply, Route } from "./route.js";

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

type Phase = "hello" | "auth" | "ready" | "closing" | "closed";

const EMPTY = new Uint8Array(0);
// Payloads from this size on leave as their own chunk instead of being copied behind their header.
const SEPARATE_PAYLOAD = 1024;
const SUPPORTED_VERSIONS = { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION };
// Bytes of frames pipelined behind a Hello held until Welcome (PW-LIM-011).
const MAX_HELD_BYTES = 65_536;
let sessionCounter = 0;

function errorBytes(error: PolywireError, extra: { supportedVersions?: { min: number; max: number }; requestCorrelationId?: number } = {}): Uint8Array {
  return toBinary(ErrorSchema, create(ErrorSchema, {
    code: error.wireCode,
    message: error.message,
    retriable: error.retriable,
    retryAfterMs: error.retryAfterMs,
    limit: error.limit ?? 0n,
    requestCorrelationId: extra.requestCorrelationId ?? 0,
    ...(extra.supportedVersions === undefined ? {} : { supportedVersions: extra.supportedVersions }),
  }));
}

function kindName(kind: number): string {
  return FrameKind[kind] ?? String(kind);
}

/**
 * The broker's side of one connection: the handshake of §3 (Hello, version
 * negotiation, SASL, Welcome), frame errors (PW-FRAME-002..014), limits,
 * keepalive, drain and close. Requests go to the host's routes by frame
 * kind; the session owns correlation, in-flight accounting and error frames.
 */
export class ServerSession {
  /** Broker-assigned id, sent in Welcome. */
  readonly id: string;
  readonly transport: Transport;
  #host: SessionHost;
  #phase: Phase = "hello";
  #decoder: FrameDecoder;
  #features = new Set<Feature>();
  #principal = "";
  #clientId = "";
  #clientMaxFrame = 16 * 1024 * 1024;
  #exchange: SaslExchange | undefined;
  /** An AuthChallenge was sent and its AuthResponse has not arrived. */
  #challenged = false;
  /** Bytes of frames pipelined behind the Hello, held until Welcome (PW-SESS-023). */
  #heldBytes = 0;
  #inFlight = 0;
  #inFlightIds = new Set<number>();
  #idleWaiters: Array<() => void> = [];
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #lastReceived = performance.now();
  #paused = false;
  #readBlocked = false;
  #backlog: Frame[] = [];
  #backlogBytes = 0;
  #heldReported = 0;
  #writers: Array<() => void> = [];
  #writerTurn = false;
  #drainNoticed = false;
  #checksum = false;
  /** A connection-level Error was sent: no frame may follow it (PW-FRAME-013). */
  #failed = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #abort = new AbortController();
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  /** `acceptedAt`: `performance.now()` when the connection was accepted, where the handshake deadline starts (PW-TRANS-008). */
  constructor(transport: Transport, host: SessionHost, acceptedAt = performance.now()) {
    this.id = `${host.brokerId}-${(++sessionCounter).toString(36)}-${Date.now().toString(36)}`;
    this.transport = transport;
    this.#host = host;
    // PW-FRAME-017: until Welcome only a small frame is read; raised in #welcome.
    this.#decoder = new FrameDecoder({ maxFrameSize: Math.min(PRE_HANDSHAKE_MAX_FRAME_SIZE, host.limits.maxFrameSize) });
    // Every request in flight (up to max_in_flight of them, each a possible
    // long poll) listens on the session's signal: that many listeners is
    // the design, not a leak.
    setMaxListeners(host.limits.maxInFlight + 16, this.#abort.signal);
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#handshakeTimer = setTimeout(() => {
      this.#handshakeTimer = undefined;
      if (this.#phase === "hello" || this.#phase === "auth") {
        this.#failConnection(new PolywireError("TIMEOUT", `handshake not completed within ${host.handshakeTimeoutMs} ms (PW-SESS-008)`), this.#phase === "auth" ? 1 : 0);
      }
    }, Math.max(0, host.handshakeTimeoutMs - (performance.now() - acceptedAt)));
    transport.attach({
      onData: (chunk) => this.#onData(chunk),
      onDrain: () => this.#onWritable(),
      onInvalid: (reason) => this.#failConnection(new PolywireError("MALFORMED_FRAME", `${reason} is not a frame (PW-TRANS-003)`), 0),
      onClose: () => this.#onClosed(),
    });
  }

  /** The features granted in Welcome. */
  get features(): ReadonlySet<Feature> {
    return this.#features;
  }

  /** The authenticated identity; empty for anonymous sessions. */
  get principal(): string {
    return this.#principal;
  }

  /** The client's `Hello.client_id`. */
  get clientId(): string {
    return this.#clientId;
  }

  /** The largest frame the client accepts (Hello.max_frame_size). */
  get clientMaxFrameSize(): number {
    return this.#clientMaxFrame;
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

  /** Milliseconds since the last frame arrived. */
  idleFor(now: number): number {
    return now - this.#lastReceived;
  }

  // ---- input

  #onData(chunk: Uint8Array): void {
    if (this.#phase === "closing" || this.#phase === "closed") return;
    this.#lastReceived = performance.now();
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
      if (this.transport.messageFramed && (frames.length !== 1 || this.#decoder.buffered !== 0)) {
        throw new PolywireError("MALFORMED_FRAME", "a WebSocket message must hold exactly one whole frame (PW-TRANS-003)");
      }
    } catch (error) {
      // PW-FRAME-013: the stream lost sync; report on correlation id 0 and close.
      const failure = toPolywireError(error);
      const limit = this.#decoder.maxFrameSize;
      this.#failConnection(failure.code === "FRAME_TOO_LARGE" && failure.limit === undefined
        ? new PolywireError("FRAME_TOO_LARGE", failure.message, { cause: failure, limit })
        : failure, 0);
      return;
    }
    for (let i = 0; i < frames.length; i++) {
      const phase = this.#phase as Phase;
      if (phase === "closing" || phase === "closed") return;
      const frame = frames[i] as Frame;
      this.#host.metrics.kind(frame.kind).received.inc();
      if (this.#phase !== "ready") this.#onHandshakeFrame(frame);
      else if (this.#readBlocked || this.#backlog.length > 0) {
        this.#backlog.push(frame);
        this.#backlogBytes += frame.message.byteLength + frame.payload.byteLength;
      } else this.#dispatch(frame);
    }
    this.#reportHeld();
  }

  // PW-LIM-006: what this connection holds of frames not yet served.
  #reportHeld(): void {
    const held = this.#phase === "closing" || this.#phase === "closed" ? 0 : this.#decoder.buffered + this.#backlogBytes;
    if (held === this.#heldReported) return;
    this.#heldReported = held;
    this.#host.holdInbound(this, held);
  }

  /** Closes the connection with RESOURCE_EXHAUSTED: the broker is over its inbound budget (PW-LIM-006). */
  exhaust(budget: number): void {
    this.#failConnection(new PolywireError("RESOURCE_EXHAUSTED", `the broker holds more than its budget of ${budget} bytes of unread frames; this connection held the most (PW-LIM-006)`, { limit: budget }), 0);
  }

  /**
   * Serves frames that arrived while the client was not reading its
   * responses, in order, until the transport pushes back again.
   */
  #runBacklog(): void {
    while (this.#backlog.length > 0 && !this.#readBlocked && this.#phase === "ready") {
      const frame = this.#backlog.shift() as Frame;
      this.#backlogBytes -= frame.message.byteLength + frame.payload.byteLength;
      this.#dispatch(frame);
    }
    this.#reportHeld();
  }

  #onHandshakeFrame(frame: Frame): void {
    if (this.#phase === "hello") {
      if (frame.kind !== FrameKind.HELLO || frame.correlationId !== 1) {
        this.#failConnection(new PolywireError("HANDSHAKE_REQUIRED", "the first frame must be a Hello with correlation id 1 (PW-SESS-001)"), frame.correlationId);
        return;
      }
      let hello: Hello;
      try {
        hello = decodeMessage(HelloSchema, frame.message);
      } catch (cause) {
        this.#failConnection(new PolywireError("MALFORMED_FRAME", "cannot decode Hello", { cause }), 1);
        return;
      }
      this.#onHello(hello);
      return;
    }
    // Phase "auth": only the AuthResponse the exchange waits for is processed before Welcome (PW-SESS-007).
    if (frame.kind === FrameKind.AUTH_RESPONSE && this.#challenged) {
      if (frame.correlationId !== 1 || this.#exchange === undefined) {
        this.#failConnection(new PolywireError("HANDSHAKE_REQUIRED", "an AuthResponse must carry correlation id 1 (PW-SESS-009)"), frame.correlationId);
        return;
      }
      let response: Uint8Array;
      try {
        response = decodeMessage(AuthResponseSchema, frame.message).response;
      } catch (cause) {
        this.#failConnection(new PolywireError("MALFORMED_FRAME", "cannot decode AuthResponse", { cause }), 1);
        return;
      }
      this.#challenged = false;
      this.#runSasl(this.#exchange, response);
      return;
    }
    // Anything else was pipelined behind the Hello: held, unprocessed, until Welcome (PW-SESS-023, PW-LIM-011).
    const size = frameSize(frame.message.byteLength, frame.payload.byteLength, (frame.flags & 1) !== 0);
    if (this.#heldBytes + size > MAX_HELD_BYTES) {
      this.#backlog.length = 0;
      this.#failConnection(new PolywireError("HANDSHAKE_REQUIRED", `more than ${MAX_HELD_BYTES} bytes of frames pipelined behind the Hello before Welcome (PW-LIM-011)`), frame.correlationId);
      return;
    }
    this.#heldBytes += size;
    this.#backlog.push(frame);
  }

  #onHello(hello: Hello): void {
    const host = this.#host;
    const versions = hello.versions;
    if (versions === undefined || versions.min > versions.max || versions.max < SUPPORTED_VERSIONS.min || versions.min > SUPPORTED_VERSIONS.max) {
      const asked = versions === undefined ? "none" : `${versions.min}..${versions.max}`;
      this.#failConnection(new PolywireError("UNSUPPORTED_VERSION", `client versions ${asked} do not overlap the broker's ${SUPPORTED_VERSIONS.min}..${SUPPORTED_VERSIONS.max}`, { supportedVersions: SUPPORTED_VERSIONS }), 1);
      return;
    }
    if (hello.maxFrameSize !== 0 && hello.maxFrameSize < MIN_MAX_FRAME_SIZE) {
      this.#failConnection(new PolywireError("INVALID_ARGUMENT", `Hello.max_frame_size ${hello.maxFrameSize} is below the minimum ${MIN_MAX_FRAME_SIZE} (PW-FRAME-020)`, { limit: MIN_MAX_FRAME_SIZE }), 1);
      return;
    }
    if (host.draining) {
      this.#failConnection(new PolywireError("SHUTTING_DOWN", "the broker is shutting down"), 1);
      return;
    }
    if (!host.admit(this)) {
      this.#failConnection(new PolywireError("TOO_MANY_CONNECTIONS", `the broker is at its limit of ${host.limits.maxConnections} connections`, { limit: host.limits.maxConnections }), 1);
      return;
    }
    this.#clientId = hello.clientId;
    this.#clientMaxFrame = hello.maxFrameSize === 0 ? 16 * 1024 * 1024 : hello.maxFrameSize;
    for (const f of hello.features) if (host.supportedFeatures.has(f)) this.#features.add(f);

    const name = hello.authMechanism;
    if (host.mechanisms.size === 0) {
      if (name !== "") {
        this.#failConnection(new PolywireError("UNSUPPORTED_MECHANISM", `mechanism ${JSON.stringify(name)} is not supported; this broker does not authenticate (mechanisms: none)`), 1);
        return;
      }
      this.#welcome("", undefined);
      return;
    }
    if (name === "") {
      this.#failConnection(new PolywireError("AUTHENTICATION_FAILED", "authentication required (PW-AUTH-004)"), 1);
      return;
    }
    const offered = [...host.mechanisms.values()].filter((m) => m.transports === undefined || m.transports.includes(this.transport.scheme));
    const mechanism = offered.find((m) => m.name === name);
    if (mechanism === undefined) {
      const names = offered.map((m) => m.name).join(", ") || "none";
      this.#failConnection(new PolywireError("UNSUPPORTED_MECHANISM", `mechanism ${JSON.stringify(name)} is not supported on ${this.transport.scheme}://; mechanisms: ${names}`), 1);
      return;
    }
    this.#phase = "auth";
    this.#exchange = mechanism.start();
    this.#runSasl(this.#exchange, hello.authInitialResponse.byteLength === 0 ? undefined : hello.authInitialResponse);
  }

  #runSasl(exchange: SaslExchange, response: Uint8Array | undefined): void {
    Promise.resolve()
      .then(() => exchange.step(response))
      .then((step) => {
        if (this.#phase !== "auth") return;
        if (step.kind === "challenge") {
          const challenge = toBinary(AuthChallengeSchema, create(AuthChallengeSchema, { challenge: step.data }));
          if (frameSize(challenge.byteLength, 0, false) > MIN_MAX_FRAME_SIZE) {
            this.#failConnection(new PolywireError("INTERNAL", `the mechanism's challenge would exceed ${MIN_MAX_FRAME_SIZE} bytes (PW-FRAME-020)`), 1);
            return;
          }
          this.#challenged = true;
          this.writeFrame(FrameKind.AUTH_CHALLENGE, 1, challenge);
        } else if (step.kind === "success") {
          this.#welcome(step.principal, step.finalData);
        } else {
          this.#failConnection(new PolywireError("AUTHENTICATION_FAILED", "authentication failed"), 1);
        }
      })
      .catch(() => {
        if (this.#phase === "auth") this.#failConnection(new PolywireError("AUTHENTICATION_FAILED", "authentication failed"), 1);
      });
  }

  #welcome(principal: string, finalData: Uint8Array | undefined): void {
    const host = this.#host;
    this.#principal = principal;
    this.#exchange = undefined;
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const l = host.limits;
    const welcome = create(WelcomeSchema, {
      version: PROTOCOL_VERSION,
      features: [...this.#features],
      brokerId: host.brokerId,
      software: host.software,
      limits: {
        maxFrameSize: l.maxFrameSize,
        maxBatchSize: l.maxBatchSize,
        idempotenceWindow: l.idempotenceWindow,
        maxInFlight: l.maxInFlight,
        maxUncompressedBatchSize: l.maxUncompressedBatchSize,
      },
      sessionId: this.id,
      keepaliveIntervalMs: host.keepaliveIntervalMs,
      principal,
      authFinalData: finalData ?? EMPTY,
      adminUrl: host.adminUrl,
    });
    const bytes = toBinary(WelcomeSchema, welcome);
    if (frameSize(bytes.byteLength, 0, true) > MIN_MAX_FRAME_SIZE) {
      // A principal or final data too large for any client's frame limit: refuse rather than send it (PW-FRAME-020).
      this.#failConnection(new PolywireError("INTERNAL", `the Welcome would exceed ${MIN_MAX_FRAME_SIZE} bytes (PW-FRAME-020)`), 1);
      return;
    }
    this.#phase = "ready";
    // Frames may now be as large as the broker's limit; before Welcome they were held to 64 KiB (PW-FRAME-017).
    this.#decoder.maxFrameSize = l.maxFrameSize;
    // Granted, every frame from Welcome on carries a CRC-32C; never before it (PW-SESS-026).
    this.#checksum = this.#features.has(Feature.FRAME_CHECKSUM);
    this.writeFrame(FrameKind.WELCOME, 1, bytes);
    // Frames pipelined behind the Hello, in the order they came, as if they arrived now (PW-SESS-023).
    this.#heldBytes = 0;
    this.#runBacklog();
  }

  // ---- requests

  /** Serves one frame after the handshake, checked in the order of PW-SESS-022. */
  #dispatch(frame: Frame): void {
    const kind = frame.kind;
    const id = frame.correlationId;
    const info = frameKindTable.get(kind);
    if (info === undefined || kind === FrameKind.UNSPECIFIED) {
      this.#reject(kind, id, new PolywireError("UNKNOWN_FRAME_KIND", `unknown frame kind ${kind} (PW-FRAME-009)`));
      return;
    }
    if (kind === FrameKind.PONG || kind === FrameKind.CLOSE || kind === FrameKind.ERROR) {
      this.#onSessionFrame(frame);
      return;
    }
    if (info.sentBy === "broker" || kind === FrameKind.HELLO || kind === FrameKind.AUTH_RESPONSE) {
      this.#reject(kind, id, new PolywireError("INVALID_ARGUMENT", `frame kind ${kindName(kind)} is not one a client may send after the handshake (PW-SESS-021)`));
      return;
    }
    for (const f of info.features) {
      if (!this.#features.has(f)) {
        this.#reject(kind, id, new PolywireError("FEATURE_NOT_NEGOTIATED", `frame kind ${kindName(kind)} needs feature ${Feature[f] ?? f}, which was not granted on this connection (PW-SESS-006)`));
        return;
      }
    }
    if (info.answeredBy !== undefined) {
      // A client-initiated request, Ping included (PW-FRAME-016, PW-SESS-024).
      if (id % 2 === 0) {
        this.#reject(kind, id, new PolywireError("INVALID_ARGUMENT", `client requests must carry an odd correlation id, got ${id} (PW-FRAME-010)`));
        return;
      }
      if (this.#inFlightIds.has(id)) {
        // An answer on `id` could not be told apart from the first request's: the connection is done (PW-FRAME-016).
        this.#failConnection(new PolywireError("INVALID_ARGUMENT", `correlation id ${id} of a ${kindName(kind)} is already awaiting a response (PW-FRAME-011, PW-FRAME-016)`), 0, id);
        return;
      }
    }
    if (kind === FrameKind.PING) {
      this.#pong(frame);
      return;
    }
    const route = this.#host.routes.get(kind);
    if (route === undefined) {
      // Only reachable if the broker granted a feature it does not serve.
      this.#reject(kind, id, new PolywireError("INTERNAL", `frame kind ${kindName(kind)} has no handler on this broker`));
      return;
    }
    let message;
    try {
      message = route.decode === undefined ? decodeMessage(route.schema, frame.message) : route.decode(frame.message);
    } catch (cause) {
      this.#reject(kind, id, new PolywireError("MALFORMED_FRAME", `cannot decode the message of frame kind ${kindName(kind)} (PW-FRAME-008): ${(cause as Error).message}`, { cause }));
      return;
    }
    if (route.startsWork && (this.#drainNoticed || this.#host.draining)) {
      this.#reject(kind, id, new PolywireError("SHUTTING_DOWN", "the broker is draining; send new work elsewhere (PW-SESS-015)"));
      return;
    }
    const answers = route.answers === undefined || route.answers(message);
    // Requests without an answer (ACKS_NONE) hold no slot (PW-LIM-002).
    if (answers && this.#inFlightIds.size >= this.#host.limits.maxInFlight) {
      this.#reject(kind, id, new PolywireError("TOO_MANY_IN_FLIGHT", `more than ${this.#host.limits.maxInFlight} requests awaiting a response (PW-LIM-002)`, { limit: this.#host.limits.maxInFlight }));
      return;
    }
    const started = performance.now();
    this.#inFlight++;
    if (answers) this.#inFlightIds.add(id);
    let result: Reply | undefined | Promise<Reply | undefined>;
    try {
      result = route.handle({ message, frame, session: this });
    } catch (error) {
      this.#complete(kind, id, answers, started, undefined, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (reply) => this.#complete(kind, id, answers, started, reply, undefined),
        (error: unknown) => this.#complete(kind, id, answers, started, undefined, error),
      );
    } else {
      this.#complete(kind, id, answers, started, result, undefined);
    }
  }

  #complete(kind: number, id: number, answers: boolean, started: number, reply: Reply | undefined, error: unknown): void {
    this.#inFlight--;
    if (answers) this.#inFlightIds.delete(id);
    if (this.#phase !== "closed") {
      if (error !== undefined) {
        this.#reject(kind, id, toPolywireError(error));
      } else if (reply !== undefined && answers) {
        this.writeFrame(reply.kind, id, reply.message, reply.payload);
      }
      this.#host.metrics.kind(kind).latency.observe((performance.now() - started) / 1000);
    }
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #reject(_kind: number, id: number, error: PolywireError): void {
    this.#host.metrics.errors.labels(error.code).inc();
    this.writeFrame(FrameKind.ERROR, id, errorBytes(error));
  }

  /** Answers a Ping at once: it holds no max_in_flight slot (PW-SESS-025). */
  #pong(frame: Frame): void {
    let nonce: bigint;
    try {
      nonce = decodeMessage(PingSchema, frame.message).nonce;
    } catch (cause) {
      this.#reject(frame.kind, frame.correlationId, new PolywireError("MALFORMED_FRAME", `cannot decode Ping (PW-FRAME-008): ${(cause as Error).message}`, { cause }));
      return;
    }
    this.writeFrame(FrameKind.PONG, frame.correlationId, toBinary(PongSchema, create(PongSchema, { nonce })));
  }

  /** Pong, Close and Error from the client. */
  #onSessionFrame(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.CLOSE:
        // PW-SESS-016: answer what is in flight (long polls end early), then close.
        this.#phase = "closing";
        this.transport.pause();
        this.#abort.abort(new PolywireError("CANCELLED", "the client closed the connection"));
        void this.#finishAndEnd(undefined);
        return;
      case FrameKind.ERROR:
        if (frame.correlationId === 0) {
          this.#phase = "closing";
          this.transport.pause();
          void this.#finishAndEnd(undefined);
        }
        return;
      default:
        // A Pong: the broker sends no Pings, so there is nothing to match it with.
        return;
    }
  }

  // ---- output

  /**
   * Writes one frame. When the transport pushes back, the session stops
   * reading and stops serving requests already read (they wait in the
   * backlog) until it drains, so a client that does not read its responses
   * cannot make the broker buffer more than the answers already in flight.
   */
  writeFrame(kind: number, correlationId: number, message: Uint8Array, payload?: Uint8Array): void {
    if (this.#phase === "closed" || this.#failed) return;
    let ok: boolean;
    if (this.#checksum) {
      ok = this.transport.write(encodeFrame({ kind, correlationId, message, ...(payload === undefined ? {} : { payload }), checksum: true }));
    } else if (payload !== undefined && payload.byteLength >= SEPARATE_PAYLOAD && !this.transport.messageFramed) {
      // A byte stream: the fetched batches leave as their own chunk of the same writev, never copied.
      this.transport.write(encodeFrameHead(kind, correlationId, message, payload.byteLength));
      ok = this.transport.write(payload);
    } else {
      const length = payload?.byteLength ?? 0;
      const bytes = encodeFrameHead(kind, correlationId, message, length, length);
      if (payload !== undefined) bytes.set(payload, bytes.byteLength - length);
      ok = this.transport.write(bytes);
    }
    this.#host.metrics.kind(kind).sent.inc();
    if (!ok && !this.#readBlocked) {
      this.#readBlocked = true;
      this.#updateReading();
    }
    this.#releaseWriter();
  }

  #onWritable(): void {
    if (!this.#readBlocked) return;
    this.#readBlocked = false;
    if (!this.#writerTurn) this.#releaseWriter();
    this.#runBacklog();
    this.#updateReading();
  }

  /**
   * Resolves when the client is reading its responses. Handlers about to
   * write a large answer (fetch) wait here, and are let through one at a
   * time while the transport pushes back, so unread answers do not pile up
   * in memory.
   */
  awaitWritable(): Promise<void> {
    if (!this.#readBlocked && !this.#writerTurn) {
      this.#writerTurn = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#writers.push(resolve));
  }

  /** The turn passes with every frame written, to one waiter at a time. */
  #releaseWriter(): void {
    this.#writerTurn = false;
    if (this.#readBlocked || this.#writers.length === 0) return;
    this.#writerTurn = true;
    (this.#writers.shift() as () => void)();
  }

  #updateReading(): void {
    const pause = this.#readBlocked || this.#phase === "closing" || this.#phase === "closed";
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.transport.pause();
    else this.transport.resume();
  }

  // ---- closing

  /**
   * Sends an Error (PW-FRAME-013, handshake errors, PW-FRAME-016) and closes
   * the connection; `requestCorrelationId` names the request that caused it.
   */
  #failConnection(error: PolywireError, correlationId: number, requestCorrelationId?: number): void {
    if (this.#phase === "closing" || this.#phase === "closed") return;
    this.#host.metrics.errors.labels(error.code).inc();
    const extra = {
      ...(error.supportedVersions === undefined ? {} : { supportedVersions: { min: error.supportedVersions.min, max: error.supportedVersions.max } }),
      ...(requestCorrelationId === undefined ? {} : { requestCorrelationId }),
    };
    this.writeFrame(FrameKind.ERROR, correlationId, errorBytes(error, extra));
    this.#failed = true;
    this.#phase = "closing";
    this.#updateReading();
    // Nothing more is read: what was held for unread frames goes now (PW-LIM-006).
    this.#decoder.free();
    this.#backlog = [];
    this.#backlogBytes = 0;
    this.#reportHeld();
    this.#endTransport();
  }

  #endTransport(): void {
    this.transport.end();
    this.#closeTimer ??= setTimeout(() => this.transport.destroy(), 5_000);
  }

  /** Waits for requests in flight, sends Close (when `code` is given) and closes the transport. */
  async #finishAndEnd(code: ErrorCode | undefined, reason = ""): Promise<void> {
    await this.idle();
    if (this.#phase === "closed") return;
    if (code !== undefined) {
      this.writeFrame(FrameKind.CLOSE, 0, toBinary(CloseSchema, create(CloseSchema, { code, reason })));
    }
    this.#phase = "closing";
    this.#endTransport();
  }

  /** Resolves when no request is being processed. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Announces shutdown (PW-SESS-015): sends Drain if the client negotiated
   * FEATURE_DRAIN_NOTICE; new work is refused with SHUTTING_DOWN from now on.
   * Returns whether a Drain was sent.
   */
  drain(deadlineMs: number, reason: string, alternateUrls: readonly string[] = []): boolean {
    if (this.#phase !== "ready") return false;
    this.#drainNoticed = true;
    if (!this.#features.has(Feature.DRAIN_NOTICE)) return false;
    this.writeFrame(FrameKind.DRAIN, 0, toBinary(DrainSchema, create(DrainSchema, { deadlineMs, reason, alternateUrls: [...alternateUrls] })));
    return true;
  }

  /**
   * Closes the session gracefully: stops reading, finishes requests in
   * flight, sends Close with `code` and closes the transport.
   */
  async shutdown(code: ErrorCode = ErrorCode.SHUTTING_DOWN, reason = "broker shutting down"): Promise<void> {
    if (this.#phase === "closed") return;
    if (this.#phase === "hello" || this.#phase === "auth") {
      this.#failConnection(new PolywireError("SHUTTING_DOWN", reason), this.#phase === "auth" ? 1 : 0);
    } else if (this.#phase === "ready") {
      this.#phase = "closing";
      this.#updateReading();
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
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#abort.abort(new PolywireError("CONNECTION_LOST", "the connection closed"));
    for (const release of this.#writers.splice(0)) release();
    this.#decoder.free();
    this.#reportHeld();
    this.#host.release(this);
    this.#resolveClosed();
  }
}
