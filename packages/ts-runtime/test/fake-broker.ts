import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ErrorSchema, FrameKind, HelloSchema, WelcomeSchema, type ErrorCode, type Hello } from "@polywire/proto/session";
import { encodeFrame, FrameDecoder, init, type Frame } from "@polywire/wasm-codec";

/** One accepted connection of a {@link FakeBroker}. */
export class FakePeer {
  readonly frames: Frame[] = [];
  hello: Hello | undefined;
  #waiters: Array<() => void> = [];
  #decoder = new FrameDecoder();

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) this.frames.push(frame);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    });
    socket.on("error", () => {});
  }

  /** The next frame the client sent. */
  async next(timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (Date.now() > deadline) throw new Error("timed out waiting for a client frame");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames.shift() as Frame;
  }

  send(kind: number, correlationId: number, message: Uint8Array, payload?: Uint8Array): void {
    this.socket.write(encodeFrame({ kind, correlationId, message, ...(payload === undefined ? {} : { payload }) }));
  }

  sendError(correlationId: number, code: ErrorCode, message: string, extra: { retriable?: boolean; supportedVersions?: { min: number; max: number } } = {}): void {
    this.send(FrameKind.ERROR, correlationId, toBinary(ErrorSchema, create(ErrorSchema, { code, message, ...extra })));
  }
}

/**
 * A hand-driven broker on a real TCP socket, for client behaviour the real
 * broker never shows (silence, misbehaviour, precise timing). By default it
 * answers Hello with `welcome`; tests drive everything after that.
 */
export class FakeBroker {
  readonly peers: FakePeer[] = [];
  #server: Server;
  #waiters: Array<() => void> = [];
  url = "";

  private constructor(private readonly onHello: (peer: FakePeer, hello: Hello) => void) {
    this.#server = createServer((socket) => {
      const peer = new FakePeer(socket);
      this.peers.push(peer);
      void peer.next().then((frame) => {
        peer.hello = fromBinary(HelloSchema, frame.message);
        this.onHello(peer, peer.hello);
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const w of waiters) w();
      }, () => {});
    });
  }

  /** Starts a fake broker; `welcome` fields go into the Welcome frame unless `onHello` answers itself. */
  static async start(options: { welcome?: Parameters<typeof create<typeof WelcomeSchema>>[1]; onHello?: (peer: FakePeer, hello: Hello) => void } = {}): Promise<FakeBroker> {
    await init();
    const onHello = options.onHello ?? ((peer: FakePeer, hello: Hello) => {
      const welcome = create(WelcomeSchema, { version: 1, features: hello.features, keepaliveIntervalMs: 0, ...options.welcome });
      peer.send(FrameKind.WELCOME, 1, toBinary(WelcomeSchema, welcome));
    });
    const broker = new FakeBroker(onHello);
    await new Promise<void>((resolve) => broker.#server.listen(0, "127.0.0.1", resolve));
    broker.url = `tcp://127.0.0.1:${(broker.#server.address() as AddressInfo).port}`;
    return broker;
  }

  /** The first connection that completed Hello. */
  async peer(index = 0): Promise<FakePeer> {
    while (this.peers[index]?.hello === undefined) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.peers[index] as FakePeer;
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
