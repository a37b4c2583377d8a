import { create, toBinary } from "@bufbuild/protobuf";
import { Feature, FrameKind, HelloSchema, WelcomeSchema, type Welcome } from "@polywire/proto/session";
import { ClauseViolation } from "../clause.js";
import { CallLegs } from "./call-legs.js";
import { dial, type ByteStream, type DialTls, type InProcessDialer } from "./dial.js";
import { DEFAULT_MAX_FRAME_SIZE, encodeRawFrame, FrameFormatError, FrameSplitter, type RawFrameInit, type WireFrame } from "./frame.js";
import { BrokerError, decode, decodeError, encode, kindName, RPCS, type RpcInit, type RpcKind, type RpcReply } from "./messages.js";
import type { Monitor } from "./monitor.js";
import { WebSocketStream } from "./websocket.js";

/** Every feature v1 defines; the runner asks for all of them unless a case says otherwise. */
export const ALL_FEATURES: readonly Feature[] = [
  Feature.LOG, Feature.IDEMPOTENCE, Feature.GROUPS, Feature.PUBSUB, Feature.REQUEST_REPLY,
  Feature.FRAME_CHECKSUM, Feature.DRAIN_NOTICE, Feature.SLOW_CONSUMER_NOTICE, Feature.GROUP_NOTICE,
];

/** Hello fields a session sends; `versions: undefined` sends none (PW-SESS-017). */
export interface HelloInit {
  readonly versions?: { readonly min: number; readonly max: number } | undefined;
  readonly features?: readonly number[];
  readonly clientId?: string;
  readonly software?: { readonly name: string; readonly version: string };
  readonly authMechanism?: string;
  readonly authInitialResponse?: Uint8Array;
  readonly maxFrameSize?: number;
}

/** Options of {@link WireSession.open}. */
export interface SessionOptions {
  /** Receives every frame the broker sends. */
  readonly monitor: Monitor;
  /** Hello fields; default versions 1..1, every feature, client id "polywire-conformance", 16 MiB. */
  readonly hello?: HelloInit;
  /** Send Hello and wait for Welcome (default true); false leaves the socket fresh for handshake cases. */
  readonly handshake?: boolean;
  /** Set CHECKSUM on every frame the session sends. */
  readonly checksum?: boolean;
  readonly tls?: DialTls;
  /** Opens `memory://` URLs (brokers in the runner's process). */
  readonly inProcess?: InProcessDialer;
  /** Connect and handshake deadline, ms. Default 5 000. */
  readonly timeoutMs?: number;
  /** Largest frame the session accepts from the broker. Default the Hello's max_frame_size. */
  readonly maxFrameSize?: number;
}

interface Waiter {
  readonly filter: (frame: WireFrame) => boolean;
  resolve(frame: WireFrame): void;
  reject(error: Error): void;
}

interface Pending {
  readonly kind: number;
  resolve(frame: WireFrame): void;
  reject(error: Error): void;
}

/**
 * `resolve` and `reject` that first clear a timer, which rejects with
 * `expired()` after `ms`: a pending request or frame wait that cannot
 * outlive its deadline.
 */
function withTimeout(ms: number, resolve: (frame: WireFrame) => void, reject: (error: Error) => void, expired: () => Error): { resolve(frame: WireFrame): void; reject(error: Error): void } {
  const timer = setTimeout(() => reject(expired()), ms);
  return {
    resolve: (frame) => {
      clearTimeout(timer);
      resolve(frame);
    },
    reject: (error) => {
      clearTimeout(timer);
      reject(error);
    },
  };
}

/** How a session ended: the time, and why if the runner's own splitter failed. */
export interface SessionEnd {
  readonly at: number;
  readonly error: Error | undefined;
}

/**
 * The runner's own client session: a raw socket, an independent frame
 * splitter, and requests matched by correlation id. It never retries,
 * reconnects or hides anything the broker does: wire-level cases write
 * arbitrary bytes through it, and every frame the broker sends goes past
 * the {@link Monitor}.
 */
export class WireSession {
  readonly url: string;
  #socket: ByteStream;
  #splitter: FrameSplitter;
  #monitor: Monitor;
  #checksum: boolean;
  #welcome: Welcome | undefined;
  #granted: Set<Feature> | undefined;
  #pending = new Map<number, Pending[]>();
  #expected = new Map<number, number[]>();
  /** Calls this session started as caller (§10), followed to their terminal events (PW-RPC-044). */
  readonly calls = new CallLegs();
  #unclaimed: WireFrame[] = [];
  #waiters: Waiter[] = [];
  #nextId = 3;
  #ended: SessionEnd | undefined;
  #endWaiters: Array<(end: SessionEnd) => void> = [];
  #lastFrameAt = 0;
  #received: Array<{ readonly kind: number; readonly correlationId: number }> = [];

  private constructor(url: string, socket: ByteStream, options: SessionOptions) {
    this.url = url;
    this.#socket = socket;
    this.#monitor = options.monitor;
    this.#checksum = options.checksum === true;
    this.#splitter = new FrameSplitter(options.maxFrameSize ?? (options.hello?.maxFrameSize || DEFAULT_MAX_FRAME_SIZE));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => this.#onEnd(undefined));
  }

  /** Dials `url` and, unless `handshake` is false, completes Hello/Welcome. */
  static async open(url: string, options: SessionOptions): Promise<WireSession> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const { tls, inProcess } = options;
    const socket = await dial(url, { timeoutMs, onViolation: (v) => options.monitor.record(v), ...(tls === undefined ? {} : { tls }), ...(inProcess === undefined ? {} : { inProcess }) });
    const session = new WireSession(url, socket, options);
    if (options.handshake === false) return session;
    try {
      await session.handshake(options.hello ?? {}, timeoutMs);
    } catch (error) {
      session.destroy();
      throw error;
    }
    return session;
  }

  /** Sends Hello (correlation id 1) and waits for Welcome; rejects with {@link BrokerError} on an Error frame. */
  async handshake(hello: HelloInit, timeoutMs = 5000): Promise<Welcome> {
    const init = {
      versions: { min: 1, max: 1 },
      features: [...ALL_FEATURES],
      clientId: "polywire-conformance",
      software: { name: "polywire-conformance", version: "0.1.0" },
      maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
      ...hello,
    };
    this.expectAnswer(1, FrameKind.HELLO);
    this.sendFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes(init) });
    const frame = await this.nextFrame(timeoutMs, (f) => f.correlationId === 1 || f.correlationId === 0);
    if (frame.kind === FrameKind.ERROR) throw new BrokerError(decodeError(frame), frame);
    if (frame.kind !== FrameKind.WELCOME) throw new ClauseViolation("PW-SESS-009", `expected Welcome with correlation id 1, got ${kindName(frame.kind)} (${frame.correlationId})`);
    const welcome = decode(WelcomeSchema, frame.message);
    const checksummed = welcome.features.includes(Feature.FRAME_CHECKSUM);
    if (frame.checksum !== checksummed) {
      this.#monitor.record(new ClauseViolation("PW-SESS-026", `the Welcome ${checksummed ? "granting" : "not granting"} FEATURE_FRAME_CHECKSUM came ${frame.checksum ? "with" : "without"} CHECKSUM`));
    }
    this.#welcome = welcome;
    this.#granted = new Set(welcome.features);
    return welcome;
  }

  /** The broker's Welcome; throws before the handshake. */
  get welcome(): Welcome {
    if (this.#welcome === undefined) throw new Error("the session has no Welcome yet");
    return this.#welcome;
  }

  /** What the session runs over: a socket, a `WebSocketStream` or an in-process connection. */
  get stream(): ByteStream {
    return this.#socket;
  }

  /** True when Welcome granted `feature`. */
  granted(feature: Feature): boolean {
    return this.#granted?.has(feature) ?? false;
  }

  /** How and when the connection ended, once it has. */
  get ended(): SessionEnd | undefined {
    return this.#ended;
  }

  /** Kind and correlation id of every frame the broker sent on this session, in arrival order (the last 10 000). */
  get received(): ReadonlyArray<{ readonly kind: number; readonly correlationId: number }> {
    return this.#received;
  }

  /** When the last frame from the broker arrived (performance.now()). */
  get lastFrameAt(): number {
    return this.#lastFrameAt;
  }

  /** Resolves when the connection has ended, or with undefined after `timeoutMs`. */
  waitEnd(timeoutMs: number): Promise<SessionEnd | undefined> {
    if (this.#ended !== undefined) return Promise.resolve(this.#ended);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.#endWaiters.push((end) => {
        clearTimeout(timer);
        resolve(end);
      });
    });
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes);
  }

  /**
   * Writes whole frames at once: in one write on a byte stream, so they
   * arrive together, and one binary message each over WebSocket, where a
   * message holds exactly one frame (PW-TRANS-003).
   */
  writeFrames(frames: readonly Uint8Array[]): void {
    if (this.#socket instanceof WebSocketStream) for (const frame of frames) this.write(frame);
    else this.write(Buffer.concat(frames));
  }

  /** Encodes and writes a frame (the session's CHECKSUM setting applies unless `init` says otherwise). */
  sendFrame(init: RawFrameInit): void {
    this.write(encodeRawFrame({ checksum: this.#checksum, ...init }));
  }

  /** Marks `correlationId` as awaiting an answer to a frame of `kind` sent raw, so the monitor accepts the answer. */
  expectAnswer(correlationId: number, kind: number): void {
    const list = this.#expected.get(correlationId) ?? [];
    list.push(kind);
    this.#expected.set(correlationId, list);
  }

  /** A fresh odd correlation id (PW-FRAME-010). */
  nextId(): number {
    const id = this.#nextId;
    this.#nextId += 2;
    return id;
  }

  /**
   * Sends a request frame and resolves with the frame that answers it (its
   * response or an Error), matched by correlation id.
   */
  requestFrame(kind: number, message: Uint8Array, payload?: Uint8Array, options: { timeoutMs?: number; correlationId?: number } = {}): Promise<WireFrame> {
    const id = options.correlationId ?? this.nextId();
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise<WireFrame>((resolve, reject) => {
      const entry: Pending = {
        kind,
        ...withTimeout(timeoutMs, resolve, reject, () => new RequestTimeout(`no answer to ${kindName(kind)} (correlation id ${id}) within ${timeoutMs} ms`, kind, id)),
      };
      const list = this.#pending.get(id) ?? [];
      list.push(entry);
      this.#pending.set(id, list);
      this.expectAnswer(id, kind);
      if (this.#ended !== undefined) {
        entry.reject(new ConnectionEnded(`the connection ended before ${kindName(kind)} was sent`));
        return;
      }
      this.sendFrame({ kind, correlationId: id, message, ...(payload === undefined ? {} : { payload }) });
    });
  }

  /** Typed request: rejects with {@link BrokerError} when the broker answers with an Error frame. */
  async call<K extends RpcKind>(kind: K, init: RpcInit<K>, payload?: Uint8Array, options: { timeoutMs?: number; correlationId?: number } = {}): Promise<{ message: RpcReply<K>; frame: WireFrame }> {
    const rpc = RPCS[kind];
    const frame = await this.requestFrame(kind, encode(rpc.request, init as never), payload, options);
    if (frame.kind === FrameKind.ERROR) throw new BrokerError(decodeError(frame), frame);
    if (frame.kind !== rpc.responseKind) throw new ClauseViolation("PW-FRAME-011", `${kindName(kind)} was answered with ${kindName(frame.kind)}`);
    let message;
    try {
      message = decode(rpc.response, frame.message) as RpcReply<K>;
    } catch (error) {
      throw new ClauseViolation("PW-FRAME-008", `the broker's ${kindName(frame.kind)} does not decode: ${(error as Error).message}`);
    }
    return { message, frame };
  }

  /** Sends a frame that gets no answer (an ACKS_NONE produce). */
  send(kind: number, message: Uint8Array, payload?: Uint8Array, correlationId = this.nextId()): number {
    this.sendFrame({ kind, correlationId, message, ...(payload === undefined ? {} : { payload }) });
    return correlationId;
  }

  /**
   * The next frame no request claimed (unsolicited frames, answers to raw
   * frames) that passes `filter`; rejects after `timeoutMs`, or when the
   * connection ends first.
   */
  nextFrame(timeoutMs: number, filter: (frame: WireFrame) => boolean = () => true): Promise<WireFrame> {
    const index = this.#unclaimed.findIndex(filter);
    if (index >= 0) return Promise.resolve(this.#unclaimed.splice(index, 1)[0] as WireFrame);
    if (this.#ended !== undefined) return Promise.reject(this.#endedError());
    return new Promise<WireFrame>((resolve, reject) => {
      const waiter: Waiter = {
        filter,
        ...withTimeout(timeoutMs, resolve, reject, () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          return new RequestTimeout(`no matching frame within ${timeoutMs} ms`, 0, 0);
        }),
      };
      this.#waiters.push(waiter);
    });
  }

  #endedError(): ConnectionEnded {
    return new ConnectionEnded(`the connection ended (${this.#ended?.error?.message ?? "closed by the peer"}) before the expected frame arrived`);
  }

  /** Half-closes the socket (the broker sees end of stream). */
  end(): void {
    this.#socket.end();
  }

  /** Drops the socket at once. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#lastFrameAt = performance.now();
    let frames: WireFrame[];
    try {
      frames = this.#splitter.push(chunk);
    } catch (error) {
      const failure = error as FrameFormatError;
      this.#monitor.record(new ClauseViolation(failure.clause, `the broker sent bytes that are not a valid frame: ${failure.message}`));
      this.#onEnd(failure);
      this.#socket.destroy();
      return;
    }
    for (const frame of frames) this.#onFrame(frame);
  }

  #onFrame(frame: WireFrame): void {
    const id = frame.correlationId;
    if (this.#received.length >= 10_000) this.#received.shift();
    this.#received.push({ kind: frame.kind, correlationId: id });
    this.#monitor.observe(frame, {
      granted: this.#granted,
      requestKinds: (cid) => this.#expected.get(cid) ?? [], calls: this.calls,
    });
    const expected = this.#expected.get(id);
    if (expected !== undefined && id !== 0) {
      // With two requests on one id (a case testing PW-FRAME-016), an Error answers the later one.
      const index = frame.kind === FrameKind.ERROR ? expected.length - 1 : Math.max(0, expected.findIndex((k) => frame.kind === k + 1));
      expected.splice(index, 1);
      if (expected.length === 0) this.#expected.delete(id);
    }
    const pending = this.#pending.get(id);
    if (pending !== undefined && id !== 0) {
      const entry = pending.shift() as Pending;
      if (pending.length === 0) this.#pending.delete(id);
      entry.resolve(frame);
      return;
    }
    const waiter = this.#waiters.find((w) => w.filter(frame));
    if (waiter !== undefined) {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(frame);
      return;
    }
    this.#unclaimed.push(frame);
  }

  #onEnd(error: Error | undefined): void {
    if (this.#ended !== undefined) return;
    this.#ended = { at: performance.now(), error };
    for (const list of this.#pending.values()) {
      for (const entry of list) entry.reject(new ConnectionEnded(`the connection ended before ${kindName(entry.kind)} was answered`));
    }
    this.#pending.clear();
    for (const w of this.#endWaiters.splice(0)) w(this.#ended);
    for (const w of this.#waiters.splice(0)) w.reject(this.#endedError());
  }
}

/** A request or frame wait that ran out of time. */
export class RequestTimeout extends Error {
  override readonly name = "RequestTimeout";
  constructor(message: string, readonly kind: number, readonly correlationId: number) {
    super(message);
  }
}

/** The connection ended before an answer came. */
export class ConnectionEnded extends Error { override readonly name = "ConnectionEnded"; }

/** Encodes a Hello from `init`. */
export function helloBytes(init: HelloInit): Uint8Array {
  return toBinary(HelloSchema, create(HelloSchema, {
    ...(init.versions === undefined ? {} : { versions: { min: init.versions.min, max: init.versions.max } }),
    features: [...(init.features ?? [])],
    clientId: init.clientId ?? "",
    ...(init.software === undefined ? {} : { software: { ...init.software } }),
    authMechanism: init.authMechanism ?? "",
    authInitialResponse: init.authInitialResponse ?? new Uint8Array(0),
    maxFrameSize: init.maxFrameSize ?? 0,
  }));
}
