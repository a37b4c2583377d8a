import { create, toBinary } from "@bufbuild/protobuf";
import { CloseSchema, ErrorCode, FrameKind, type Feature, type Welcome } from "@polywire/proto/session";
import {
  closedByPeer, decodeMessage, dial, FrameChannel, frameSize, MIN_MAX_FRAME_SIZE, PolywireError, requestMethods, workStartingKinds,
  type RequestInit, type RequestKind, type ResponseMessage, type Transport,
} from "@polywire/core";
import { DEFAULT_MAX_FRAME_SIZE, init as initCodec, type Frame } from "@polywire/wasm-codec";
import type { CallResult, CloseOptions, ConnectionEvents, ConnectionOptions, ConnectionState, RequestOptions } from "./connection-options.js";
import { onBrokerFrame, type BrokerFrameSide } from "./broker-frames.js";
import { Correlation, SENT, type StreamHandler } from "./correlation.js";
import { Emitter } from "./events.js";
import { ClientHandshake, DEFAULT_MAX_IN_FLIGHT_LIMIT, requestedFeatures, welcomeLimits, type BrokerLimits } from "./handshake.js";
import { Keepalive } from "./keepalive.js";
import { toMechanism } from "./sasl.js";

export type { Frame } from "@polywire/wasm-codec";
export type { CallResult, CloseOptions, ConnectionEvents, ConnectionOptions, ConnectionState, RequestOptions } from "./connection-options.js";

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
  #channel: FrameChannel | undefined;
  #handshake: ClientHandshake | undefined;
  #welcome: Welcome | undefined;
  #features = new Set<Feature>();
  readonly #requests: Correlation;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  #keepalive: Keepalive | undefined;
  #closeError: PolywireError | undefined;
  #closing = false;
  #peerClosed = false;
  #closed: Promise<void>;
  #resolveClosed!: () => void;
  readonly #options: ConnectionOptions;
  readonly #maxFrameSize: number;
  readonly #requestTimeoutMs: number;
  readonly #checksum: boolean;
  readonly #askedFeatures: readonly Feature[];

  private constructor(url: string, options: ConnectionOptions) {
    super();
    this.url = url;
    this.#options = options;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#checksum = options.checksum ?? false;
    this.#askedFeatures = requestedFeatures(options);
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    if (!Number.isInteger(maxFrameSize) || maxFrameSize < MIN_MAX_FRAME_SIZE || maxFrameSize > 0xffff_ffff) {
      throw new PolywireError("INVALID_ARGUMENT", `maxFrameSize must be an integer from ${MIN_MAX_FRAME_SIZE} (PW-FRAME-020) to 2^32-1, got ${String(maxFrameSize)}`);
    }
    this.#maxFrameSize = maxFrameSize;
    this.#requests = new Correlation((kind, id, message, payload) => this.#write(kind, id, message, payload), DEFAULT_MAX_IN_FLIGHT_LIMIT);
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
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
  get limits(): BrokerLimits {
    return welcomeLimits(this.welcome);
  }

  /** The largest frame this client accepts, as advertised in Hello (`maxFrameSize`). */
  get maxFrameSize(): number {
    return this.#maxFrameSize;
  }

  /** True when the broker granted `feature`. */
  hasFeature(feature: Feature): boolean {
    return this.#features.has(feature);
  }

  /** Requests sent and awaiting a response, not counting those queued locally nor Pings (PW-SESS-025). */
  get inFlight(): number {
    return this.#requests.awaiting;
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
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new PolywireError("TIMEOUT", `cannot connect to ${this.url}: no handshake completed within ${timeoutMs} ms (connectTimeoutMs)`)), timeoutMs);
    const signal = this.#options.signal;
    try {
      await this.#openWithin(timeoutMs, signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]));
    } finally {
      clearTimeout(timer);
    }
  }

  async #openWithin(timeoutMs: number, signal: AbortSignal): Promise<void> {
    const o = this.#options;
    const mechanism = o.auth === undefined ? undefined : toMechanism(o.auth);
    let transport: Transport;
    try {
      transport = await dial(this.url, {
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
      transport.destroy();
      this.#finish(error);
      throw error;
    }
    this.#setState("handshaking");
    const channel = new FrameChannel(transport, {
      onFrame: (frame) => this.#onFrame(frame),
      onBroken: (error) => this.#fail(error, true),
      onClose: (error) => this.#onTransportClose(error),
    }, { maxFrameSize: this.#maxFrameSize, checksum: this.#checksum });
    this.#channel = channel;
    channel.start();
    const handshake = new ClientHandshake(channel, { options: o, features: this.#askedFeatures, maxFrameSize: this.#maxFrameSize, mechanism }, signal);
    this.#handshake = handshake;
    let welcome: Welcome;
    try {
      welcome = await handshake.welcome;
    } catch (error) {
      const failure = PolywireError.from(error, "CONNECTION_LOST");
      this.#fail(failure, false);
      throw failure;
    }
    this.#welcome = welcome;
    this.#features = new Set(welcome.features);
    this.#requests.open(this.limits.maxInFlight);
    this.#peerMaxFrame = this.limits.maxFrameSize;
    const intervalMs = o.keepaliveIntervalMs ?? welcome.keepaliveIntervalMs;
    this.#setState("ready");
    this.#keepalive = new Keepalive({
      intervalMs,
      pongTimeoutMs: o.pongTimeoutMs ?? intervalMs,
      lastWritten: () => channel.lastWritten,
      ping: (options) => this.ping(options),
      dead: (error) => this.#fail(error, false),
    });
  }

  #onFrame(frame: Frame): void {
    if (this.#state === "closed") return;
    const handshake = this.#handshake;
    if (handshake !== undefined && !handshake.settled) {
      handshake.onFrame(frame);
      return;
    }
    try {
      this.#route(frame);
    } catch (error) {
      // A session frame from the broker that does not decode: the broker is not speaking the protocol.
      this.#fail(new PolywireError("MALFORMED_FRAME", `cannot decode frame kind ${frame.kind} from the broker`, { cause: error }), true);
    }
  }

  #route(frame: Frame): void {
    // An answer nobody waits for is a late one after a timeout, or an Error to an unanswered request.
    if (frame.correlationId % 2 === 1) {
      if (!this.#requests.answer(frame)) this.emit("frame", frame);
      return;
    }
    onBrokerFrame(frame, this.#brokerFrames);
  }

  readonly #brokerFrames: BrokerFrameSide = {
    writeError: (error, correlationId) => this.#channel?.writeError(error, correlationId),
    answerPing: (ping) => this.#channel?.answerPing(ping),
    drain: (notice) => {
      this.#setState("draining");
      this.emit("drain", notice);
    },
    closing: (error) => {
      this.#peerClosed = true;
      if (error !== undefined) this.#closeError ??= error;
    },
    failed: (error) => {
      this.#closeError ??= error;
    },
    other: (frame) => this.emit("frame", frame),
  };

  /**
   * Sends a request frame and resolves with its response frame, matched by
   * correlation id (PW-FRAME-012); an Error frame rejects with the broker's
   * `PolywireError`. Requests above `max_in_flight` wait locally for a slot,
   * their timeout running. `message` and `payload` go to the transport as
   * they are: do not modify them afterwards.
   */
  request(kind: number, message: Uint8Array, payload: Uint8Array | undefined, options: RequestOptions & { expectResponse: false }): Promise<undefined>;
  request(kind: number, message: Uint8Array, payload?: Uint8Array, options?: RequestOptions): Promise<Frame>;
  request(kind: number, message: Uint8Array, payload?: Uint8Array, options: RequestOptions = {}): Promise<Frame | undefined> {
    const refusal = this.#refusal(kind) ?? this.#oversize(message, payload);
    if (refusal !== undefined) return Promise.reject(refusal);
    if (options.signal?.aborted) return Promise.reject(PolywireError.from(options.signal.reason, "CANCELLED"));
    // Nothing to wait for: sent now, unless it must wait for a slot behind others.
    if (options.expectResponse === false && this.#requests.sendNow(kind, message, payload)) return SENT;
    return this.#requests.add(kind, message, payload, options, this.#requestTimeoutMs);
  }

  /** Typed form of {@link request}: builds the message of `kind` from `init`, sends it with `payload`, decodes the response. */
  async call<K extends RequestKind>(kind: K, init: RequestInit<K>, payload?: Uint8Array, options: RequestOptions = {}): Promise<CallResult<K>> {
    const method = requestMethods[kind];
    const message = toBinary(method.request, create(method.request, init as never));
    const frame = await this.request(kind, message, payload, { ...options, expectResponse: true });
    if (frame.kind !== method.responseKind) {
      throw new PolywireError("MALFORMED_FRAME", `expected frame kind ${method.responseKind} in answer to ${kind}, got ${frame.kind}`);
    }
    let decoded: ResponseMessage<K>;
    try {
      decoded = decodeMessage(method.response, frame.message) as ResponseMessage<K>;
    } catch (cause) {
      throw new PolywireError("MALFORMED_FRAME", `cannot decode the response to frame kind ${kind}`, { cause });
    }
    return { message: decoded, payload: frame.payload };
  }

  /**
   * Opens a stream on one correlation id (a call, §10): its first frame goes out when a max_in_flight slot
   * is free, and the broker's frames on its id go to `handler` until it reports the terminal event. Returns
   * what ends it sooner (its owner gave up on it).
   */
  openStream(kind: number, message: Uint8Array, payload: Uint8Array | undefined, handler: StreamHandler): () => void {
    const refusal = this.#refusal(kind) ?? this.#oversize(message, payload);
    if (refusal !== undefined) throw refusal;
    return this.#requests.stream(kind, message, payload, handler);
  }

  /**
   * Sends a frame that is not a request of this client: a call's frames
   * (§10) on either leg. False when the transport asks to wait ({@link writable}).
   */
  sendFrame(kind: number, correlationId: number, message: Uint8Array, payload?: Uint8Array): boolean {
    const refusal = this.#refusal(kind);
    if (refusal !== undefined) throw refusal;
    return this.#write(kind, correlationId, message, payload);
  }

  /** Resolves when the transport can take more writes (outbound back-pressure). */
  writable(): Promise<void> {
    if (this.#state === "closed" || this.#channel === undefined) return Promise.resolve();
    return this.#channel.whenWritable();
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

  /** What the broker's end of an in-process transport offers under `key`, once ready (PW-TRANS-012); undefined on others. */
  peerService(key: symbol): unknown { return this.#state === "ready" || this.#state === "draining" ? this.#channel?.transport.peerService?.(key) : undefined; }

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

  #oversize(message: Uint8Array, payload: Uint8Array | undefined): PolywireError | undefined {
    const size = frameSize(message.byteLength, payload?.byteLength ?? 0, this.#checksum);
    return size <= this.#peerMaxFrame ? undefined : new PolywireError("FRAME_TOO_LARGE", `a ${size}-byte frame exceeds the broker's max_frame_size ${this.#peerMaxFrame}`, { limit: this.#peerMaxFrame });
  }

  #write(kind: number, correlationId: number, message: Uint8Array, payload: Uint8Array | undefined): boolean {
    return this.#channel?.write(kind, correlationId, message, payload) ?? false;
  }

  /** Fails the connection: optionally tells the broker why (PW-FRAME-013), then drops it. */
  #fail(error: PolywireError, tellPeer: boolean): void {
    if (this.#state === "closed") return;
    this.#closeError ??= error;
    const transport = this.#channel?.transport;
    if (tellPeer && transport !== undefined && !transport.closed) {
      this.#channel?.writeError(error, 0);
      transport.end();
    } else {
      transport?.destroy();
    }
    this.#finish(error);
  }

  #onTransportClose(error: Error | undefined): void {
    if (this.#state === "closed") return;
    this.#finish(this.#closeError ?? (this.#closing ? undefined : closedByPeer(this.url, error)));
  }

  #finish(error: PolywireError | undefined): void {
    if (this.#state === "closed") return;
    this.#keepalive?.stop();
    const lost = new PolywireError("CONNECTION_LOST", error === undefined ? "the connection was closed" : `the connection was lost: ${error.message}`, { cause: error });
    this.#requests.close(lost);
    this.#handshake?.fail(error ?? lost);
    this.#channel?.stop();
    this.#setState("closed");
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
    if (!this.#requests.idle) {
      const timeoutMs = options.timeoutMs ?? 5_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#requests.whenIdle(), new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
      clearTimeout(timer);
    }
    const transport = this.#channel?.transport;
    if ((this.#state as ConnectionState) !== "closed" && transport !== undefined && !transport.closed) {
      const close = create(CloseSchema, { code: options.code ?? ErrorCode.UNSPECIFIED, reason: options.reason ?? "" });
      this.#write(FrameKind.CLOSE, 0, toBinary(CloseSchema, close), undefined);
      transport.end();
      const force = setTimeout(() => transport.destroy(), 1_000);
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
