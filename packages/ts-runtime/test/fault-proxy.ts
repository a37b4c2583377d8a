import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { encodeFrame, FrameDecoder, FLAG_CHECKSUM, init, type Frame } from "@polywire/wasm-codec";

/** Which way a frame travels through the proxy. */
export type Direction = "to-broker" | "to-client";

/**
 * What happens to a frame: passed on, dropped silently, passed on with
 * other bytes, or the whole connection (both sockets) reset without it.
 */
export type Verdict = "forward" | "drop" | "kill" | { readonly replace: Frame };

/** One frame seen by the proxy. */
export interface SeenFrame {
  readonly direction: Direction;
  readonly frame: Frame;
  /** Which client connection (0, 1, ...) it belongs to. */
  readonly connection: number;
}

interface Pair {
  readonly client: Socket;
  readonly broker: Socket;
}

/**
 * A TCP proxy between a client and a broker that decodes every frame and
 * lets a test drop, rewrite or cut the connection at an exact frame, or
 * stall the broker's answers: transport-level fault injection over real
 * sockets.
 */
export class FaultProxy {
  readonly seen: SeenFrame[] = [];
  /** Decides each frame's fate; default forward. */
  rule: (seen: SeenFrame) => Verdict = () => "forward";
  url = "";
  #server: Server;
  #pairs = new Set<Pair>();
  #stalled = false;
  #deaf = false;
  #connections = 0;

  private constructor(private readonly target: { host: string; port: number }) {
    this.#server = createServer({ pauseOnConnect: true }, (client) => this.#accept(client));
  }

  /** Starts a proxy on 127.0.0.1 in front of a `tcp://host:port` broker URL. */
  static async start(targetUrl: string): Promise<FaultProxy> {
    await init();
    const u = new URL(targetUrl);
    const proxy = new FaultProxy({ host: u.hostname, port: Number(u.port) });
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    proxy.url = `tcp://127.0.0.1:${(proxy.#server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Client connections accepted so far. */
  get connections(): number {
    return this.#connections;
  }

  #accept(client: Socket): void {
    const id = this.#connections++;
    const broker = connect(this.target);
    const pair = { client, broker };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    broker.setNoDelay(true);
    const kill = (): void => {
      client.destroy();
      broker.destroy();
    };
    const pipe = (from: Socket, to: Socket, direction: Direction): void => {
      const decoder = new FrameDecoder({ maxFrameSize: 1 << 30 });
      from.on("data", (chunk: Buffer) => {
        let frames: Frame[];
        try {
          frames = decoder.push(chunk);
        } catch {
          kill();
          return;
        }
        for (const frame of frames) {
          const seen = { direction, frame, connection: id };
          this.seen.push(seen);
          const verdict = this.rule(seen);
          if (verdict === "drop") continue;
          if (verdict === "kill") {
            kill();
            return;
          }
          const out = verdict === "forward" ? frame : verdict.replace;
          to.write(encodeFrame({ kind: out.kind, correlationId: out.correlationId, message: out.message, payload: out.payload, checksum: (out.flags & FLAG_CHECKSUM) !== 0 }));
        }
      });
      from.on("error", () => {});
      from.on("close", () => {
        to.destroy();
        this.#pairs.delete(pair);
      });
    };
    broker.once("connect", () => {
      pipe(client, broker, "to-broker");
      pipe(broker, client, "to-client");
      if (this.#stalled) broker.pause();
      if (!this.#deaf) client.resume();
    });
    broker.on("error", () => client.destroy());
  }

  /** Holds back everything the broker sends until {@link unstall}. */
  stall(): void {
    this.#stalled = true;
    for (const p of this.#pairs) p.broker.pause();
  }

  /** Lets the broker's frames through again. */
  unstall(): void {
    this.#stalled = false;
    for (const p of this.#pairs) p.broker.resume();
  }

  /** Stops reading what clients send (their sockets fill up) until {@link listen}. */
  deafen(): void {
    this.#deaf = true;
    for (const p of this.#pairs) p.client.pause();
  }

  /** Reads from clients again. */
  listen(): void {
    this.#deaf = false;
    for (const p of this.#pairs) p.client.resume();
  }

  /** Resets every proxied connection. */
  killAll(): void {
    for (const p of this.#pairs) {
      p.client.destroy();
      p.broker.destroy();
    }
  }

  /** Frames of `kind` that went `direction`. */
  frames(direction: Direction, kind: number): Frame[] {
    return this.seen.filter((s) => s.direction === direction && s.frame.kind === kind).map((s) => s.frame);
  }

  async close(): Promise<void> {
    this.killAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
