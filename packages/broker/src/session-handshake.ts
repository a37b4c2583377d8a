import { create, toBinary } from "@bufbuild/protobuf";
import { AuthChallengeSchema, AuthResponseSchema, FrameKind, HelloSchema, WelcomeSchema, type Feature, type Hello } from "@polywire/proto/session";
import { decodeMessage, frameSize, hasChecksum, MIN_MAX_FRAME_SIZE, PolywireError, PROTOCOL_VERSION, type TransportScheme } from "@polywire/core";
import { DEFAULT_MAX_FRAME_SIZE, type Frame } from "@polywire/wasm-codec";
import type { SaslExchange } from "./auth.js";
import type { SessionHost } from "./session.js";

const EMPTY = new Uint8Array(0);
const SUPPORTED_VERSIONS = { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION };
// Bytes of frames pipelined behind a Hello held until Welcome (PW-LIM-011).
const MAX_HELD_BYTES = 65_536;

/** What the client asked for and was granted in the handshake. */
export interface Handshaken {
  readonly principal: string;
  readonly clientId: string;
  /** Hello.max_frame_size, or the default of PW-FRAME-007 for 0. */
  readonly clientMaxFrameSize: number;
  readonly features: ReadonlySet<Feature>;
}

/** What the handshake needs from its session. */
export interface HandshakeSide {
  readonly host: SessionHost;
  readonly scheme: TransportScheme;
  readonly sessionId: string;
  /** Takes a connection slot; false at max connections (PW-LIM-004). */
  admit(): boolean;
  /** Writes an AuthChallenge (correlation id 1, PW-SESS-009). */
  challenge(message: Uint8Array): void;
  /** Keeps a frame pipelined behind the Hello, unprocessed, until Welcome (PW-SESS-023). */
  hold(frame: Frame): void;
  /** Sends the handshake Error on `correlationId` and closes the connection. */
  fail(error: PolywireError, correlationId: number): void;
  /** The handshake succeeded: `welcome` is the Welcome message to send. */
  welcomed(result: Handshaken, welcome: Uint8Array): void;
}

/**
 * The broker's side of the handshake of §3: Hello, version negotiation,
 * SASL rounds and Welcome, within the handshake timeout that ran from
 * accept (PW-SESS-008, PW-TRANS-008), holding what the client pipelines
 * behind its Hello (PW-SESS-023, PW-LIM-011).
 */
export class SessionHandshake {
  readonly #side: HandshakeSide;
  #state: "hello" | "auth" | "done" = "hello";
  #features = new Set<Feature>();
  #clientId = "";
  #clientMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #exchange: SaslExchange | undefined;
  /** An AuthChallenge was sent and its AuthResponse has not arrived. */
  #challenged = false;
  /** Bytes of frames pipelined behind the Hello (PW-LIM-011). */
  #heldBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `acceptedAt`: `performance.now()` when the connection was accepted, where the deadline starts (PW-TRANS-008). */
  constructor(side: HandshakeSide, acceptedAt: number) {
    this.#side = side;
    const timeoutMs = side.host.handshakeTimeoutMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== "done") this.#side.fail(new PolywireError("TIMEOUT", `handshake not completed within ${timeoutMs} ms (PW-SESS-008)`), this.correlationId);
    }, Math.max(0, timeoutMs - (performance.now() - acceptedAt)));
  }

  /** The correlation id of an Error that ends the handshake now: 1 once authentication is under way, else 0. */
  get correlationId(): number {
    return this.#state === "auth" ? 1 : 0;
  }

  /** Ends the handshake's part: no timer, no more SASL steps. */
  finish(): void {
    this.#state = "done";
    this.#exchange = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** A frame that arrived before Welcome. */
  onFrame(frame: Frame): void {
    if (this.#state === "hello") {
      if (frame.kind !== FrameKind.HELLO || frame.correlationId !== 1) {
        this.#side.fail(new PolywireError("HANDSHAKE_REQUIRED", "the first frame must be a Hello with correlation id 1 (PW-SESS-001)"), frame.correlationId);
        return;
      }
      let hello: Hello;
      try {
        hello = decodeMessage(HelloSchema, frame.message);
      } catch (cause) {
        this.#side.fail(new PolywireError("MALFORMED_FRAME", "cannot decode Hello", { cause }), 1);
        return;
      }
      this.#onHello(hello);
      return;
    }
    // State "auth": only the AuthResponse the exchange waits for is processed before Welcome (PW-SESS-007).
    if (frame.kind === FrameKind.AUTH_RESPONSE && this.#challenged) {
      if (frame.correlationId !== 1 || this.#exchange === undefined) {
        this.#side.fail(new PolywireError("HANDSHAKE_REQUIRED", "an AuthResponse must carry correlation id 1 (PW-SESS-009)"), frame.correlationId);
        return;
      }
      let response: Uint8Array;
      try {
        response = decodeMessage(AuthResponseSchema, frame.message).response;
      } catch (cause) {
        this.#side.fail(new PolywireError("MALFORMED_FRAME", "cannot decode AuthResponse", { cause }), 1);
        return;
      }
      this.#challenged = false;
      this.#runSasl(this.#exchange, response);
      return;
    }
    // Anything else was pipelined behind the Hello: held, unprocessed, until Welcome (PW-SESS-023, PW-LIM-011).
    const size = frameSize(frame.message.byteLength, frame.payload.byteLength, hasChecksum(frame.flags));
    if (this.#heldBytes + size > MAX_HELD_BYTES) {
      this.#side.fail(new PolywireError("HANDSHAKE_REQUIRED", `more than ${MAX_HELD_BYTES} bytes of frames pipelined behind the Hello before Welcome (PW-LIM-011)`), frame.correlationId);
      return;
    }
    this.#heldBytes += size;
    this.#side.hold(frame);
  }

  #onHello(hello: Hello): void {
    const side = this.#side;
    const host = side.host;
    const versions = hello.versions;
    if (versions === undefined || versions.min > versions.max || versions.max < SUPPORTED_VERSIONS.min || versions.min > SUPPORTED_VERSIONS.max) {
      const asked = versions === undefined ? "none" : `${versions.min}..${versions.max}`;
      side.fail(new PolywireError("UNSUPPORTED_VERSION", `client versions ${asked} do not overlap the broker's ${SUPPORTED_VERSIONS.min}..${SUPPORTED_VERSIONS.max}`, { supportedVersions: SUPPORTED_VERSIONS }), 1);
      return;
    }
    if (hello.maxFrameSize !== 0 && hello.maxFrameSize < MIN_MAX_FRAME_SIZE) {
      side.fail(new PolywireError("INVALID_ARGUMENT", `Hello.max_frame_size ${hello.maxFrameSize} is below the minimum ${MIN_MAX_FRAME_SIZE} (PW-FRAME-020)`, { limit: MIN_MAX_FRAME_SIZE }), 1);
      return;
    }
    if (host.draining) {
      side.fail(new PolywireError("SHUTTING_DOWN", "the broker is shutting down"), 1);
      return;
    }
    if (!side.admit()) {
      side.fail(new PolywireError("TOO_MANY_CONNECTIONS", `the broker is at its limit of ${host.limits.maxConnections} connections`, { limit: host.limits.maxConnections }), 1);
      return;
    }
    this.#clientId = hello.clientId;
    this.#clientMaxFrameSize = hello.maxFrameSize === 0 ? DEFAULT_MAX_FRAME_SIZE : hello.maxFrameSize;
    for (const f of hello.features) if (host.supportedFeatures.has(f)) this.#features.add(f);

    const name = hello.authMechanism;
    if (host.mechanisms.size === 0) {
      if (name !== "") {
        side.fail(new PolywireError("UNSUPPORTED_MECHANISM", `mechanism ${JSON.stringify(name)} is not supported; this broker does not authenticate (mechanisms: none)`), 1);
        return;
      }
      this.#welcome("", undefined);
      return;
    }
    if (name === "") {
      side.fail(new PolywireError("AUTHENTICATION_FAILED", "authentication required (PW-AUTH-004)"), 1);
      return;
    }
    const offered = [...host.mechanisms.values()].filter((m) => m.transports === undefined || m.transports.includes(side.scheme));
    const mechanism = offered.find((m) => m.name === name);
    if (mechanism === undefined) {
      const names = offered.map((m) => m.name).join(", ") || "none";
      side.fail(new PolywireError("UNSUPPORTED_MECHANISM", `mechanism ${JSON.stringify(name)} is not supported on ${side.scheme}://; mechanisms: ${names}`), 1);
      return;
    }
    this.#state = "auth";
    this.#exchange = mechanism.start();
    this.#runSasl(this.#exchange, hello.authInitialResponse.byteLength === 0 ? undefined : hello.authInitialResponse);
  }

  #runSasl(exchange: SaslExchange, response: Uint8Array | undefined): void {
    Promise.resolve()
      .then(() => exchange.step(response))
      .then((step) => {
        if (this.#state !== "auth") return;
        if (step.kind === "challenge") {
          const challenge = toBinary(AuthChallengeSchema, create(AuthChallengeSchema, { challenge: step.data }));
          if (frameSize(challenge.byteLength, 0, false) > MIN_MAX_FRAME_SIZE) {
            this.#side.fail(new PolywireError("INTERNAL", `the mechanism's challenge would exceed ${MIN_MAX_FRAME_SIZE} bytes (PW-FRAME-020)`), 1);
            return;
          }
          this.#challenged = true;
          this.#side.challenge(challenge);
        } else if (step.kind === "success") {
          this.#welcome(step.principal, step.finalData);
        } else {
          this.#side.fail(new PolywireError("AUTHENTICATION_FAILED", "authentication failed"), 1);
        }
      })
      .catch(() => {
        if (this.#state === "auth") this.#side.fail(new PolywireError("AUTHENTICATION_FAILED", "authentication failed"), 1);
      });
  }

  #welcome(principal: string, finalData: Uint8Array | undefined): void {
    const side = this.#side;
    const host = side.host;
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
      sessionId: side.sessionId,
      keepaliveIntervalMs: host.keepaliveIntervalMs,
      principal,
      authFinalData: finalData ?? EMPTY,
      adminUrl: host.adminUrl,
    });
    const bytes = toBinary(WelcomeSchema, welcome);
    this.finish();
    if (frameSize(bytes.byteLength, 0, true) > MIN_MAX_FRAME_SIZE) {
      // A principal or final data too large for any client's frame limit: refuse rather than send it (PW-FRAME-020).
      side.fail(new PolywireError("INTERNAL", `the Welcome would exceed ${MIN_MAX_FRAME_SIZE} bytes (PW-FRAME-020)`), 1);
      return;
    }
    side.welcomed({ principal, clientId: this.#clientId, clientMaxFrameSize: this.#clientMaxFrameSize, features: this.#features }, bytes);
  }
}
