import { create, toBinary } from "@bufbuild/protobuf";
import {
  AuthChallengeSchema, AuthResponseSchema, CloseSchema, DrainSchema, ErrorCode, ErrorSchema, Feature, FrameKind,
  HelloSchema, PingSchema, PongSchema, WelcomeSchema,
  type Drain, type Limits, type Welcome,
} from "@polywire/proto/session";
import { encodeFrame, encodeFrameHead, FrameDecoder, init as initCodec, type Frame } from "@polywire/wasm-codec";
import { decodeMessage } from "./decode.js";
import { PolywireError, errorCodeName } from "./errors.js";
import { Emitter } from "./events.js";
import { requestMethods as rpcs, workStartingKinds, type RequestKind as RpcKind, type RequestInit as RpcRequestInit, type ResponseMessage as RpcResponse } from "./request-kinds.js";
import { toMechanism, type AuthOptions, type SaslMechanism } from "./sasl.js";
import { dial } from "./transport/dial.js";
import { tlsError, tlsFailure } from "./transport/dial-error.js";
import type { TlsClientOptions, Transport } from "./transport/transport.js";
import { errorFromFrame, frameKinds, frameSize, MIN_MAX_FRAME_SIZE, PROTOCOL_VERSION } from "./wire.js";

export type { Frame } from "@polywire/wasm-codec";

/**
 * The life of a connection: `connecting` (transport dial), `handshaking`
 * (Hello, auth rounds), `ready`, `draining` (the broker sent Drain: no new
 * work), `closed`. States only move forward.
 */
export type ConnectionState = "connecting" | "handshaking" | "ready" | "draining" | "closed";

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  [event: string]: (...args: never[]) => void;
  /** The state changed. */
  state: (state: ConnectionState, previous: ConnectionState) => void;
  /** The broker announced shutdown (PW-SESS-015): reconnect elsewhere before `deadline_ms`. */
  drain: (notice: Drain) => void;
  /**
   * A frame the connection does not handle itself: Delivery, SlowConsumer
   * (correlation id 0), broker-initiated requests (even ids), and answers no
   * request waits for (an Error to an ACKS_NONE produce, PW-LOG-004, or a
   * response that arrived after its request timed out).
   */
  frame: (frame: Frame) => void;
  /** The connection closed; `error` says why when it was not a clean close. */
  close: (error: PolywireError | undefined) => void;
}

/** Options of {@link Connection.connect}. Every field is optional. */
export interface ConnectionOptions {
  /** Client identifier sent in Hello, for the broker's logs and metrics. Default "polywire-ts". */
  clientId?: string;
  /** Program name and version sent in Hello. Default `{ name: "@polywire/runtime", version }`. */
  software?: { name: string; version: string };
  /**
   * Features to request. Default: LOG, IDEMPOTENCE, GROUPS, PUBSUB,
   * REQUEST_REPLY, DRAIN_NOTICE, SLOW_CONSUMER_NOTICE, and FRAME_CHECKSUM
   * when `checksum` is set.
   */
  features?: readonly Feature[];
  /** SASL authentication; default anonymous. */
  auth?: AuthOptions;
  /** TLS settings for `tls://` and `wss://`. */
  tls?: TlsClientOptions;
  /** Extra headers of the WebSocket upgrade request (Node only). */
  headers?: Record<string, string>;
  /** Aborts connecting (not the connection once it is up: use `close`). */
  signal?: AbortSignal;
  /** Dial plus handshake deadline in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Default timeout of each request in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Largest frame this client accepts, advertised in Hello: 65 536 (PW-FRAME-020) or more. Default 16 MiB (PW-FRAME-007). */
  maxFrameSize?: number;
  /**
   * CRC-32C on every frame in both directions: set the CHECKSUM flag on
   * frames this client sends (PW-FRAME-022) and ask the broker for
   * FEATURE_FRAME_CHECKSUM, so that it checksums its frames (PW-SESS-026).
   * Default false.
   */
  checksum?: boolean;
  /** Ping interval in ms; default the broker's `keepalive_interval_ms`; 0 disables pings. */
  keepaliveIntervalMs?: number;
  /** How long to wait for a Pong before declaring the connection dead, in ms. Default: the ping interval. */
  pongTimeoutMs?: number;
}

/** Per-call options of {@link Connection.request} and {@link Connection.call}. */
export interface RequestOptions {
  /** Cancels the request: it fails with CANCELLED (or the signal's TimeoutError as TIMEOUT). */
  signal?: AbortSignal;
  /** Fails the request with TIMEOUT after this many ms. Default: the connection's `requestTimeoutMs`. */
  timeoutMs?: number;
  /**
   * False for requests the broker does not answer (a produce with
   * ACKS_NONE): the promise resolves with `undefined` once the frame is
   * handed to the transport. Default true.
   */
  expectResponse?: boolean;
}

/** The decoded answer of {@link Connection.call}. */
export interface CallResult<K extends RpcKind> {
  /** The response message. */
  readonly message: RpcResponse<K>;
  /** The response frame's payload (record batches of a fetch, for example). */
  readonly payload: Uint8Array;
}

/** Options of {@link Connection.close}. */
export interface CloseOptions {
  /** How long to wait for requests in flight before dropping them. Default 5 000 ms. */
  timeoutMs?: number;
  /** Aborting stops waiting: the transport is dropped at once. */
  signal?: AbortSignal;
  /** The code sent in the Close frame. Default UNSPECIFIED (a normal close). */
  code?: ErrorCode;
  /** The reason sent in the Close frame. */
  reason?: string;
}

interface Pending {
  readonly id: number;
  readonly kind: number;
  readonly message: Uint8Array;
  readonly payload: Uint8Array | undefined;
  readonly expectResponse: boolean;
  /** Counts towards max_in_flight; Pings do not (PW-SESS-025). */
  readonly counted: boolean;
  resolve(frame: Frame | undefined): void;
  reject(error: PolywireError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  sent: boolean;
}

const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;
const DEFAULT_MAX_IN_FLIGHT = 1024;
const SOFTWARE = { name: "@polywire/runtime", version: "0.1.0" };
const DEFAULT_FEATURES: readonly Feature[] = [
  Feature.LOG, Feature.IDEMPOTENCE, Feature.GROUPS, Feature.PUBSUB, Feature.REQUEST_REPLY,
  Feature.DRAIN_NOTICE, Feature.SLOW_CONSUMER_NOTICE,
];
const EMPTY = new Uint8Array(0);
// Payloads from this size on leave as their own chunk instead of being copied behind their header.
const SEPARATE_PAYLOAD = 1024;

/**
 * One client session over one transport: handshake, authentication,
 * pipelined requests matched by correlation id, keepalive, drain and close.
 *
 * It is the layer the producer and consumer build on; it never reconnects
 * by itself (the owner decides, on `close`). Requests beyond the broker's
 * `max_in_flight` wait in a local queue instead of being rejected.
 *
 * ```ts
 * await using conn = await Connection.connect("tcp://127.0.0.1:7420");
 * const { message } = await conn.call(FrameKind.METADATA_REQUEST, {});
 * ```
 */
export class Connection extends Emitter<ConnectionEvents> {
  /** The URL this connection was dialed with. */
  readonly url: string;
  #state: ConnectionState = "connecting";
  #transport!: Transport;
  #decoder: FrameDecoder;
  #welcome: Welcome | undefined;
  #features = new Set<Feature>();
  #pending = new Map<number, Pending>();
  #queue: Pending[] = [];
  #awaiting = 0;
  #maxInFlight = DEFAULT_MAX_IN_FLIGHT;
  #peerMaxFrame = DEFAULT_MAX_FRAME;
  #nextId = 1;
  #lastWrite = 0;
  #keepaliveTimer: ReturnType<typeof setTimeout> | undefined;
  #keepaliveMs = 0;
  #pongTimeoutMs = 0;
  #closeError: PolywireError | undefined;
  #closing = false;
  #peerClosed = false;
  #closed: Promise<void>;
  #resolveClosed!: () => void;
  #handshake: ((frame: Frame) => void) | undefined;
  #handshakeFail: ((error: PolywireError) => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  #writable = true;
  #writeWaiters: Array<() => void> = [];
  readonly #options: ConnectionOptions;
  readonly #requestTimeoutMs: number;
  readonly #checksum: boolean;
  readonly #askedFeatures: readonly Feature[];

  private constructor(url: string, options: ConnectionOptions) {
    super();
    this.url = url;
    this.#options = options;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#checksum = options.checksum ?? false;
    this.#askedFeatures = options.features ?? (this.#checksum ? [...DEFAULT_FEATURES, Feature.FRAME_CHECKSUM] : DEFAULT_FEATURES);
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(maxFrameSize) || maxFrameSize < MIN_MAX_FRAME_SIZE || maxFrameSize > 0xffff_ffff) {
      throw new PolywireError("INVALID_ARGUMENT", `maxFrameSize must be an integer from ${MIN_MAX_FRAME_SIZE} (PW-FRAME-020) to 2^32-1, got ${String(maxFrameSize)}`);
    }
    this.#decoder = new FrameDecoder({ maxFrameSize });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /**
   * Dials `url`, runs the handshake (Hello, SASL rounds, Welcome) and
   * resolves with a ready connection. Fails with a `PolywireError`: the
   * broker's error (UNSUPPORTED_VERSION with `supportedVersions`,
   * AUTHENTICATION_FAILED, TOO_MANY_CONNECTIONS, ...), CONNECTION_LOST,
   * TIMEOUT or CANCELLED.
   */
  static async connect(url: string, options: ConnectionOptions = {}): Promise<Connection> {
    await initCodec();
    const connection = new Connection(url, options);
    await connection.#open();
    return connection;
  }

  /** The current state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The broker's Welcome (limits, granted features, identity). Set once ready. */
  get welcome(): Welcome {
    if (this.#welcome === undefined) throw new PolywireError("HANDSHAKE_REQUIRED", "the handshake has not completed");
    return this.#welcome;
  }

  /** The broker's limits from Welcome, with spec defaults filled in for zero fields. */
  get limits(): Required<Pick<Limits, "maxFrameSize" | "maxBatchSize" | "idempotenceWindow" | "maxInFlight" | "maxUncompressedBatchSize">> {
    const l = this.welcome.limits;
    return {
      maxFrameSize: l?.maxFrameSize || DEFAULT_MAX_FRAME,
      maxBatchSize: l?.maxBatchSize || 8 * 1024 * 1024,
      idempotenceWindow: l?.idempotenceWindow || 5,
      maxInFlight: l?.maxInFlight || DEFAULT_MAX_IN_FLIGHT,
      maxUncompressedBatchSize: l?.maxUncompressedBatchSize || 64 * 1024 * 1024,
    };
  }

  /** The largest frame this client accepts, as advertised in Hello (`maxFrameSize`). */
  get maxFrameSize(): number {
    return this.#options.maxFrameSize ?? DEFAULT_MAX_FRAME;
  }

  /** True when the broker granted `feature`. */
  hasFeature(feature: Feature): boolean {
    return this.#features.has(feature);
  }

  /** Requests sent and awaiting a response, not counting those queued locally nor Pings (PW-SESS-025). */
  get inFlight(): number {
    return this.#awaiting;
  }

  /** Resolves once the connection is closed, for whatever reason. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  #setState(next: ConnectionState): void {
    const previous = this.#state;
    if (previous === next || previous === "closed") return;
    this.#state = next;
    this.emit("state", next, previous);
  }

  async #open(): Promise<void> {
    const o = this.#options;
    const timeoutMs = o.connectTimeoutMs ?? 10_000;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new PolywireError("TIMEOUT", `cannot connect to ${this.url}: no handshake completed within ${timeoutMs} ms (connectTimeoutMs)`)), timeoutMs);
    try {
      await this.#openWithin(timeoutMs, o.signal === undefined ? deadline.signal : AbortSignal.any([o.signal, deadline.signal]));
    } finally {
      clearTimeout(timer);
    }
  }

  async #openWithin(timeoutMs: number, signal: AbortSignal): Promise<void> {
    const o = this.#options;
    const mechanism = o.auth === undefined ? undefined : toMechanism(o.auth);
    try {
      this.#transport = await dial(this.url, {
        signal,
        timeoutMs,
        ...(o.tls === undefined ? {} : { tls: o.tls }),
        ...(o.headers === undefined ? {} : { headers: o.headers }),
      });
    } catch (error) {
      this.#finish(PolywireError.from(error, "CONNECTION_LOST"));
      throw PolywireError.from(error, "CONNECTION_LOST");
    }
    if (signal.aborted) {
      const error = PolywireError.from(signal.reason, "CANCELLED");
      this.#transport.destroy();
      this.#finish(error);
      throw error;
    }
    this.#setState("handshaking");
    this.#transport.attach({
      onData: (chunk) => this.#onData(chunk),
      onDrain: () => this.#onWritable(),
      onInvalid: (reason) => this.#fail(new PolywireError("MALFORMED_FRAME", `broker sent ${reason}`), true),
      onClose: (error) => this.#onTransportClose(error),
    });
    try {
      this.#welcome = await this.#handshakeWith(mechanism, signal);
    } catch (error) {
      const failure = PolywireError.from(error, "CONNECTION_LOST");
      this.#fail(failure, false);
      throw failure;
    }
    this.#features = new Set(this.#welcome.features);
    this.#maxInFlight = this.limits.maxInFlight;
    this.#peerMaxFrame = this.limits.maxFrameSize;
    this.#nextId = 3;
    this.#keepaliveMs = o.keepaliveIntervalMs ?? this.#welcome.keepaliveIntervalMs;
    this.#pongTimeoutMs = o.pongTimeoutMs ?? this.#keepaliveMs;
    this.#setState("ready");
    this.#armKeepalive();
  }

  #handshakeWith(mechanism: SaslMechanism | undefined, signal: AbortSignal): Promise<Welcome> {
    return new Promise<Welcome>((resolve, reject) => {
      const onAbort = (): void => fail(PolywireError.from(signal.reason, "CANCELLED"));
      const fail = (error: PolywireError): void => {
        signal.removeEventListener("abort", onAbort);
        this.#handshake = undefined;
        this.#handshakeFail = undefined;
        reject(error);
      };
      this.#handshakeFail = fail;
      signal.addEventListener("abort", onAbort, { once: true });
      const o = this.#options;
      const start = async (): Promise<void> => {
        const initial = mechanism?.initialResponse === undefined ? EMPTY : await mechanism.initialResponse();
        const hello = create(HelloSchema, {
          versions: { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION },
          features: [...this.#askedFeatures],
          clientId: o.clientId ?? "polywire-ts",
          software: o.software ?? SOFTWARE,
          authMechanism: mechanism?.mechanism ?? "",
          authInitialResponse: initial,
          maxFrameSize: o.maxFrameSize ?? DEFAULT_MAX_FRAME,
        });
        const bytes = toBinary(HelloSchema, hello);
        if (frameSize(bytes.byteLength, 0, this.#checksum) > MIN_MAX_FRAME_SIZE) {
          throw new PolywireError("INVALID_ARGUMENT", `the Hello would be larger than ${MIN_MAX_FRAME_SIZE} bytes (PW-FRAME-020): shorten the client id or the initial authentication response`);
        }
        this.#writeFrame(FrameKind.HELLO, 1, bytes, undefined);
      };
      this.#handshake = (frame: Frame): void => {
        if (frame.kind === FrameKind.WELCOME && frame.correlationId === 1) {
          let welcome: Welcome;
          try {
            welcome = decodeMessage(WelcomeSchema, frame.message);
          } catch (cause) {
            fail(new PolywireError("MALFORMED_FRAME", "cannot decode Welcome", { cause }));
            return;
          }
          const advertised = welcome.limits?.maxFrameSize ?? 0;
          if (advertised !== 0 && advertised < MIN_MAX_FRAME_SIZE) {
            fail(new PolywireError("MALFORMED_FRAME", `broker advertised max_frame_size ${advertised}, below the minimum ${MIN_MAX_FRAME_SIZE} (PW-FRAME-020)`));
            return;
          }
          if (welcome.version !== PROTOCOL_VERSION) {
            fail(new PolywireError("UNSUPPORTED_VERSION", `broker selected version ${welcome.version}, this client speaks ${PROTOCOL_VERSION}`));
            return;
          }
          const asked = new Set(this.#askedFeatures);
          const extra = welcome.features.filter((f) => !asked.has(f));
          if (extra.length > 0) {
            fail(new PolywireError("FEATURE_NOT_NEGOTIATED", `broker granted features that were not requested: ${extra.join(", ")} (PW-SESS-005)`));
            return;
          }
          signal.removeEventListener("abort", onAbort);
          this.#handshake = undefined;
          this.#handshakeFail = undefined;
          resolve(welcome);
        } else if (frame.kind === FrameKind.AUTH_CHALLENGE && frame.correlationId === 1) {
          if (mechanism?.challenge === undefined) {
            fail(new PolywireError("AUTHENTICATION_FAILED", "broker sent an AuthChallenge the mechanism cannot answer"));
            return;
          }
          const answer = mechanism.challenge.bind(mechanism);
          Promise.resolve()
            .then(() => answer(decodeMessage(AuthChallengeSchema, frame.message).challenge))
            .then((response) => {
              this.#writeFrame(FrameKind.AUTH_RESPONSE, 1, toBinary(AuthResponseSchema, create(AuthResponseSchema, { response })), undefined);
            })
            .catch((error: unknown) => fail(PolywireError.from(error, "AUTHENTICATION_FAILED")));
        } else if (frame.kind === FrameKind.ERROR) {
          fail(errorFromFrame(frame));
        } else {
          fail(new PolywireError("HANDSHAKE_REQUIRED", `broker sent frame kind ${frame.kind} before Welcome`));
        }
      };
      start().catch((error: unknown) => fail(PolywireError.from(error, "AUTHENTICATION_FAILED")));
    });
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state === "closed") return;
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
      if (this.#transport.messageFramed && (frames.length !== 1 || this.#decoder.buffered !== 0)) {
        throw new PolywireError("MALFORMED_FRAME", "a WebSocket message must hold exactly one frame (PW-TRANS-003)");
      }
    } catch (error) {
      this.#fail(PolywireError.from(error, "MALFORMED_FRAME"), true);
      return;
    }
    for (const frame of frames) {
      if ((this.#state as ConnectionState) === "closed") return;
      try {
        this.#onFrame(frame);
      } catch (error) {
        // A session frame from the broker that does not decode: the broker is not speaking the protocol.
        this.#fail(new PolywireError("MALFORMED_FRAME", `cannot decode frame kind ${frame.kind} from the broker`, { cause: error }), true);
        return;
      }
    }
  }

  #onFrame(frame: Frame): void {
    const handshake = this.#handshake;
    if (handshake !== undefined) {
      handshake(frame);
      return;
    }
    const id = frame.correlationId;
    if (id % 2 === 1) {
      const pending = this.#pending.get(id);
      if (pending === undefined) {
        // An answer nobody waits for: a late one after a timeout, or an Error to an unanswered request.
        this.emit("frame", frame);
        return;
      }
      this.#settle(pending);
      if (frame.kind === FrameKind.ERROR) pending.reject(errorFromFrame(frame));
      else pending.resolve(frame);
      return;
    }
    if (!frameKinds.has(frame.kind)) {
      this.#sendError(ErrorCode.UNKNOWN_FRAME_KIND, id, `unknown frame kind ${frame.kind}`);
      return;
    }
    switch (frame.kind) {
      case FrameKind.PING: {
        const nonce = decodeMessage(PingSchema, frame.message).nonce;
        this.#writeFrame(FrameKind.PONG, id, toBinary(PongSchema, create(PongSchema, { nonce })), undefined);
        return;
      }
      case FrameKind.DRAIN: {
        const notice = decodeMessage(DrainSchema, frame.message);
        this.#setState("draining");
        this.emit("drain", notice);
        return;
      }
      case FrameKind.CLOSE: {
        const close = decodeMessage(CloseSchema, frame.message);
        this.#peerClosed = true;
        if (close.code !== ErrorCode.UNSPECIFIED) {
          this.#closeError ??= new PolywireError(errorCodeName(close.code), `broker closed the connection: ${close.reason}`, { wireCode: close.code });
        }
        return;
      }
      case FrameKind.ERROR:
        if (id === 0) {
          this.#closeError ??= errorFromFrame(frame);
          return;
        }
        this.emit("frame", frame);
        return;
      default:
        this.emit("frame", frame);
    }
  }

  /**
   * Sends a request frame and resolves with the response frame, matched by
   * correlation id (responses may come in any order, PW-FRAME-012). An Error
   * frame in answer rejects with the broker's `PolywireError`. Requests above
   * the broker's `max_in_flight` wait locally for a free slot, with their
   * timeout running.
   *
   * `message` is the encoded protobuf section; `payload` the raw payload.
   * Both are handed to the transport: do not modify them afterwards.
   */
  request(kind: number, message: Uint8Array, payload: Uint8Array | undefined, options: RequestOptions & { expectResponse: false }): Promise<undefined>;
  request(kind: number, message: Uint8Array, payload?: Uint8Array, options?: RequestOptions): Promise<Frame>;
  request(kind: number, message: Uint8Array, payload?: Uint8Array, options: RequestOptions = {}): Promise<Frame | undefined> {
    const refusal = this.#refusal(kind);
    if (refusal !== undefined) return Promise.reject(refusal);
    const size = frameSize(message.byteLength, payload?.byteLength ?? 0, this.#checksum);
    if (size > this.#peerMaxFrame) {
      return Promise.reject(new PolywireError("FRAME_TOO_LARGE", `a ${size}-byte frame exceeds the broker's max_frame_size ${this.#peerMaxFrame}`, { limit: this.#peerMaxFrame }));
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(PolywireError.from(signal.reason, "CANCELLED"));
    return new Promise<Frame | undefined>((resolve, reject) => {
      const pending: Pending = {
        id: 0, kind, message, payload, expectResponse: options.expectResponse ?? true, counted: kind !== FrameKind.PING,
        resolve, reject, timer: undefined, signal, onAbort: undefined, sent: false,
      };
      const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
      if (timeoutMs > 0 && timeoutMs !== Infinity) {
        pending.timer = setTimeout(() => this.#abandon(pending, new PolywireError("TIMEOUT", `request of kind ${kind} timed out after ${timeoutMs} ms`)), timeoutMs);
      }
      if (signal !== undefined) {
        pending.onAbort = () => this.#abandon(pending, PolywireError.from(signal.reason, "CANCELLED"));
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      // A Ping never waits for a slot: keepalive must work on a busy connection (PW-SESS-025).
      if (!pending.counted || (this.#awaiting < this.#maxInFlight && this.#queue.length === 0)) this.#send(pending);
      else this.#queue.push(pending);
    });
  }

  /**
   * Typed form of {@link request}: builds the request message of `kind`
   * from `init`, sends it with `payload`, and decodes the response.
   *
   * ```ts
   * const { message } = await conn.call(FrameKind.PRODUCE_REQUEST, { topic: "t", partition: 0 }, batch);
   * ```
   */
  async call<K extends RpcKind>(kind: K, init: RpcRequestInit<K>, payload?: Uint8Array, options: RequestOptions = {}): Promise<CallResult<K>> {
    const method = rpcs[kind];
    const message = toBinary(method.request, create(method.request, init as never));
    const frame = await this.request(kind, message, payload, { ...options, expectResponse: true });
    if (frame.kind !== method.responseKind) {
      throw new PolywireError("MALFORMED_FRAME", `expected frame kind ${method.responseKind} in answer to ${kind}, got ${frame.kind}`);
    }
    let decoded: RpcResponse<K>;
    try {
      decoded = decodeMessage(method.response, frame.message) as RpcResponse<K>;
    } catch (cause) {
      throw new PolywireError("MALFORMED_FRAME", `cannot decode the response to frame kind ${kind}`, { cause });
    }
    return { message: decoded, payload: frame.payload };
  }

  /**
   * Sends a frame that is not a request of this client: a response to a
   * broker-initiated request (even correlation id) or a stream frame
   * (CallChunk, CallCredit, CallCancel). Returns false when the transport
   * asks to wait (see {@link writable}).
   */
  sendFrame(kind: number, correlationId: number, message: Uint8Array, payload?: Uint8Array): boolean {
    const refusal = this.#refusal(kind);
    if (refusal !== undefined) throw refusal;
    return this.#writeFrame(kind, correlationId, message, payload);
  }

  /** Resolves when the transport can take more writes (outbound backpressure). */
  writable(): Promise<void> {
    if (this.#writable || this.#state === "closed") return Promise.resolve();
    return new Promise((resolve) => this.#writeWaiters.push(resolve));
  }

  /**
   * Sends a Ping (odd correlation id, PW-SESS-024) and resolves with the
   * round-trip time in ms. It goes out at once, even when `max_in_flight`
   * requests await answers and others wait for a slot (PW-SESS-025).
   */
  async ping(options: RequestOptions = {}): Promise<number> {
    const started = performance.now();
    const nonce = BigInt(Math.floor(Math.random() * 2 ** 52));
    const { message } = await this.call(FrameKind.PING, { nonce }, undefined, options);
    if (message.nonce !== nonce) throw new PolywireError("MALFORMED_FRAME", "Pong nonce does not match the Ping");
    return performance.now() - started;
  }

  #refusal(kind: number): PolywireError | undefined {
    if (this.#state === "closed" || this.#closing || this.#peerClosed) {
      return new PolywireError("CONNECTION_LOST", "the connection is closed", { cause: this.#closeError });
    }
    if (this.#state !== "ready" && this.#state !== "draining") {
      return new PolywireError("HANDSHAKE_REQUIRED", "the connection is not ready");
    }
    if (this.#state === "draining" && workStartingKinds.has(kind)) {
      return new PolywireError("SHUTTING_DOWN", "the broker is draining this connection (PW-SESS-015)");
    }
    return undefined;
  }

  #send(pending: Pending): void {
    pending.sent = true;
    let id = this.#nextId;
    while (this.#pending.has(id)) id = (id + 2) >>> 0;
    this.#nextId = (id + 2) >>> 0;
    if (!pending.expectResponse) {
      // A real id, so that an Error the broker may still send (PW-LOG-004) reaches the `frame` event.
      this.#writeFrame(pending.kind, id, pending.message, pending.payload);
      this.#settle(pending);
      pending.resolve(undefined);
      return;
    }
    (pending as { id: number }).id = id;
    this.#pending.set(id, pending);
    if (pending.counted) this.#awaiting++;
    this.#writeFrame(pending.kind, id, pending.message, pending.payload);
  }

  #settle(pending: Pending): void {
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    if (pending.onAbort !== undefined) pending.signal?.removeEventListener("abort", pending.onAbort);
    if (pending.sent && pending.expectResponse && this.#pending.delete(pending.id) && pending.counted) {
      this.#awaiting--;
      this.#pump();
    }
    if (this.#awaiting === 0 && this.#queue.length === 0) this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #abandon(pending: Pending, error: PolywireError): void {
    if (!pending.sent) {
      const index = this.#queue.indexOf(pending);
      if (index >= 0) this.#queue.splice(index, 1);
    }
    this.#settle(pending);
    pending.reject(error);
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#awaiting < this.#maxInFlight && this.#state !== "closed") {
      this.#send(this.#queue.shift() as Pending);
    }
  }

  #writeFrame(kind: number, correlationId: number, message: Uint8Array, payload: Uint8Array | undefined): boolean {
    this.#lastWrite = performance.now();
    let ok: boolean;
    if (this.#checksum) {
      ok = this.#transport.write(encodeFrame({ kind, correlationId, message, ...(payload === undefined ? {} : { payload }), checksum: true }));
    } else if (payload !== undefined && payload.byteLength >= SEPARATE_PAYLOAD && !this.#transport.messageFramed) {
      // A byte stream: the batch leaves as its own chunk of the same writev, never copied.
      this.#transport.write(encodeFrameHead(kind, correlationId, message, payload.byteLength));
      ok = this.#transport.write(payload);
    } else {
      const length = payload?.byteLength ?? 0;
      const bytes = encodeFrameHead(kind, correlationId, message, length, length);
      if (payload !== undefined) bytes.set(payload, bytes.byteLength - length);
      ok = this.#transport.write(bytes);
    }
    if (!ok) this.#writable = false;
    return ok;
  }

  #onWritable(): void {
    this.#writable = true;
    const waiters = this.#writeWaiters;
    this.#writeWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #armKeepalive(): void {
    if (this.#keepaliveMs <= 0) return;
    const tick = (): void => {
      this.#keepaliveTimer = undefined;
      if (this.#state === "closed") return;
      const idle = performance.now() - this.#lastWrite;
      if (idle >= this.#keepaliveMs) {
        this.ping({ timeoutMs: this.#pongTimeoutMs }).catch((error: unknown) => {
          const failure = PolywireError.from(error);
          if (failure.code === "TIMEOUT") {
            this.#fail(new PolywireError("CONNECTION_LOST", `no Pong within ${this.#pongTimeoutMs} ms`, { cause: failure }), false);
          }
        });
        this.#schedule(tick, this.#keepaliveMs);
      } else {
        this.#schedule(tick, this.#keepaliveMs - idle);
      }
    };
    this.#schedule(tick, this.#keepaliveMs);
  }

  #schedule(fn: () => void, ms: number): void {
    const timer = setTimeout(fn, ms);
    (timer as { unref?: () => void }).unref?.();
    this.#keepaliveTimer = timer;
  }

  #sendError(code: ErrorCode, correlationId: number, message: string): void {
    const error = create(ErrorSchema, { code, message });
    this.#writeFrame(FrameKind.ERROR, correlationId, toBinary(ErrorSchema, error), undefined);
  }

  /** Fails the connection: optionally tells the broker why (PW-FRAME-013), then drops it. */
  #fail(error: PolywireError, tellPeer: boolean): void {
    if (this.#state === "closed") return;
    this.#closeError ??= error;
    if (tellPeer && !this.#transport.closed) {
      this.#sendError(ErrorCode[error.code], 0, error.message);
      this.#transport.end();
    } else {
      this.#transport.destroy();
    }
    this.#finish(error);
  }

  #onTransportClose(error: Error | undefined): void {
    if (this.#state === "closed") return;
    this.#finish(this.#closeError ?? (this.#closing ? undefined : this.#peerCloseError(error)));
  }

  // With TLS 1.3 the broker judges the client's certificate after the
  // client's side of the handshake is done: its refusal is an alert that
  // closes the connection during Hello, not a lost connection.
  #peerCloseError(error: Error | undefined): PolywireError {
    const tls = tlsFailure(error);
    if (tls !== undefined) return tlsError(this.url, tls, error);
    return new PolywireError("CONNECTION_LOST", "the connection was closed by the broker", { cause: error });
  }

  #finish(error: PolywireError | undefined): void {
    if (this.#state === "closed") return;
    if (this.#keepaliveTimer !== undefined) clearTimeout(this.#keepaliveTimer);
    const lost = new PolywireError("CONNECTION_LOST", error === undefined ? "the connection was closed" : `the connection was lost: ${error.message}`, { cause: error });
    const pending = [...this.#pending.values(), ...this.#queue];
    this.#pending.clear();
    this.#queue = [];
    this.#awaiting = 0;
    for (const p of pending) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      if (p.onAbort !== undefined) p.signal?.removeEventListener("abort", p.onAbort);
      p.reject(lost);
    }
    this.#handshakeFail?.(error ?? lost);
    this.#decoder.free();
    this.#setState("closed");
    this.#onWritable();
    this.#notifyIdle();
    this.#resolveClosed();
    this.emit("close", error);
  }

  /**
   * Closes the connection cleanly: refuses new requests, waits for those in
   * flight (up to `timeoutMs`), sends Close (PW-SESS-016) and closes the
   * transport. Requests still unanswered fail with CONNECTION_LOST.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#state === "closed" || this.#closing) return this.#closed;
    this.#closing = true;
    const signal = options.signal;
    const onAbort = (): void => this.#fail(PolywireError.from(signal?.reason, "CANCELLED"), false);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (this.#awaiting > 0 || this.#queue.length > 0) {
      const timeoutMs = options.timeoutMs ?? 5_000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if ((this.#state as ConnectionState) !== "closed" && !this.#transport.closed) {
      const close = create(CloseSchema, { code: options.code ?? ErrorCode.UNSPECIFIED, reason: options.reason ?? "" });
      this.#writeFrame(FrameKind.CLOSE, 0, toBinary(CloseSchema, close), undefined);
      this.#transport.end();
      const force = setTimeout(() => this.#transport.destroy(), 1_000);
      await this.#closed;
      clearTimeout(force);
    }
    signal?.removeEventListener("abort", onAbort);
    this.#finish(undefined);
  }

  /** `await using` support: the same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
