import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from "node:net";
import { parseDialUrl } from "./dial.js";
import { FrameFormatError, FrameSplitter, type WireFrame } from "./frame.js";

/** What a hook does with a frame: forward it (possibly changed), drop it, or drop the connection. */
export type FrameVerdict = { readonly forward: Uint8Array } | "drop" | "kill";

/** One proxied connection, as hooks see it. */
export interface ProxiedConnection {
  readonly id: number;
  /** Writes bytes to the client, as if the broker sent them. */
  toClient(bytes: Uint8Array): void;
  /** Writes bytes to the broker, as if the client sent them. */
  toBroker(bytes: Uint8Array): void;
  /** Drops both sides at once (a connection kill). */
  kill(): void;
}

/**
 * Hooks see whole frames in each direction, with their raw bytes. A hook
 * may return nothing to forward the frame unchanged. When bytes stop being
 * frames (a wire-level case sending garbage), that direction passes raw
 * bytes through from then on, so the proxy never hides what a peer sent.
 */
export interface ProxyHooks {
  fromClient?(frame: WireFrame, raw: Uint8Array, connection: ProxiedConnection): FrameVerdict | undefined;
  fromBroker?(frame: WireFrame, raw: Uint8Array, connection: ProxiedConnection): FrameVerdict | undefined;
  /** A proxied connection ended. */
  closed?(connection: ProxiedConnection): void;
  /** Bytes from one side stopped being valid frames; from here on that direction is passed through raw. */
  malformed?(from: "client" | "broker", error: FrameFormatError, connection: ProxiedConnection): void;
}

function frameBytes(buffer: Uint8Array, frames: readonly WireFrame[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  for (const f of frames) {
    out.push(buffer.subarray(pos, pos + f.size));
    pos += f.size;
  }
  return out;
}

/** Splits a stream into frames, keeping each frame's raw bytes; after a framing error it passes bytes through. */
class RawFrames {
  #splitter = new FrameSplitter(0xffffffff);
  #pending = new Uint8Array(0);
  broken: FrameFormatError | undefined;

  push(chunk: Uint8Array): { frames: Array<[WireFrame, Uint8Array]>; rest: Uint8Array; error?: FrameFormatError } {
    if (this.broken !== undefined) return { frames: [], rest: chunk };
    const joined = new Uint8Array(this.#pending.length + chunk.length);
    joined.set(this.#pending);
    joined.set(chunk, this.#pending.length);
    let frames: WireFrame[];
    try {
      frames = this.#splitter.push(chunk);
    } catch (error) {
      this.broken = error as FrameFormatError;
      this.#pending = new Uint8Array(0);
      return { frames: [], rest: joined, error: this.broken };
    }
    const raws = frameBytes(joined, frames);
    const used = raws.reduce((n, r) => n + r.length, 0);
    this.#pending = joined.slice(used);
    return { frames: frames.map((f, i) => [f, raws[i] as Uint8Array]), rest: new Uint8Array(0) };
  }
}

/**
 * A TCP proxy between clients and a broker that hands every frame to
 * hooks: mutants use it to rewrite what a broker says (a wrong advertised
 * limit), client cases to observe, alter, drop or inject frames, and fault
 * injection to kill connections.
 */
export class FrameProxy {
  #server: Server;
  #connections = new Set<ProxiedConnection>();
  #nextId = 0;
  url = "";

  private constructor(readonly upstream: string, readonly hooks: ProxyHooks) {
    this.#server = createServer({ noDelay: true }, (client) => this.#accept(client));
  }

  /** Listens on `listen` (`tcp://host:port`, port 0 for any) and forwards to `upstream`. */
  static async start(upstream: string, hooks: ProxyHooks, listen = "tcp://127.0.0.1:0"): Promise<FrameProxy> {
    const proxy = new FrameProxy(upstream, hooks);
    const address = parseDialUrl(listen);
    if (address.scheme !== "tcp") throw new TypeError("the frame proxy listens on tcp:// only");
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once("error", reject);
      proxy.#server.listen({ host: address.host, port: address.port }, () => resolve());
    });
    const port = (proxy.#server.address() as AddressInfo).port;
    proxy.url = `tcp://${address.host}:${port}`;
    return proxy;
  }

  /** Open proxied connections. */
  get connections(): readonly ProxiedConnection[] {
    return [...this.#connections];
  }

  #accept(client: Socket): void {
    const target = parseDialUrl(this.upstream);
    const broker = target.scheme === "unix" ? netConnect({ path: target.path }) : netConnect({ host: target.host, port: target.port, noDelay: true });
    const connection: ProxiedConnection = {
      id: ++this.#nextId,
      toClient: (bytes) => {
        if (!client.destroyed) client.write(bytes);
      },
      toBroker: (bytes) => {
        if (!broker.destroyed) broker.write(bytes);
      },
      kill: () => {
        client.destroy();
        broker.destroy();
      },
    };
    this.#connections.add(connection);
    const pipe = (from: Socket, to: Socket, hook: ProxyHooks["fromClient"], side: "client" | "broker"): void => {
      const frames = new RawFrames();
      // Back-pressure passes through: while `to` does not take more, `from` is not read, so a
      // peer that stops reading backs up the other end as it would without the proxy.
      const write = (bytes: Uint8Array): void => {
        if (!to.write(bytes) && !from.isPaused()) {
          from.pause();
          to.once("drain", () => from.resume());
        }
      };
      from.on("data", (chunk: Buffer) => {
        if (hook === undefined && this.hooks.malformed === undefined) {
          write(chunk);
          return;
        }
        const { frames: whole, rest, error } = frames.push(new Uint8Array(chunk));
        if (error !== undefined) this.hooks.malformed?.(side, error, connection);
        for (const [frame, raw] of whole) {
          const verdict = hook?.(frame, raw, connection);
          if (verdict === "kill") {
            connection.kill();
            return;
          }
          if (verdict === "drop") continue;
          write(verdict === undefined ? raw : verdict.forward);
        }
        if (rest.length > 0) write(rest);
      });
      from.on("end", () => to.end());
      from.on("error", () => to.destroy());
    };
    pipe(client, broker, this.hooks.fromClient, "client");
    pipe(broker, client, this.hooks.fromBroker, "broker");
    const gone = (): void => {
      if (this.#connections.delete(connection)) this.hooks.closed?.(connection);
      client.destroy();
      broker.destroy();
    };
    client.on("close", gone);
    broker.on("close", gone);
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const c of this.#connections) c.kill();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
