import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { ClauseViolation } from "../clause.js";
import { WebSocketStream } from "./websocket.js";

/** TLS settings for `tls://` and `wss://` targets. */
export interface DialTls {
  /** CA certificates (PEM) the broker's certificate must verify against; default the system store. */
  readonly ca?: string;
  /** Accept any broker certificate (self-signed test brokers). */
  readonly insecure?: boolean;
  /** Client certificate chain (PEM), for listeners that verify clients (PW-TRANS-004). */
  readonly cert?: string;
  /** Private key (PEM) of `cert`. */
  readonly key?: string;
}

/** A data-plane URL the runner can open raw sockets to. */
export type DialAddress =
  | { readonly scheme: "tcp" | "tls"; readonly host: string; readonly port: number }
  | { readonly scheme: "ws" | "wss"; readonly host: string; readonly port: number; readonly path: string }
  | { readonly scheme: "unix"; readonly path: string };

/**
 * The byte stream a {@link WireSession} runs over: a socket, a WebSocket
 * whose binary messages carry one frame each, or an in-process memory
 * connection. Whichever it is, nothing above it may tell (PW-TRANS-002).
 */
export interface ByteStream {
  readonly destroyed: boolean;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  /** Writes bytes; over WebSocket, one call is one binary message. */
  write(bytes: Uint8Array): unknown;
  /** Ends the stream after what was written. */
  end(): unknown;
  /** Drops the connection at once. */
  destroy(): unknown;
}

/**
 * Opens a byte stream to a broker in the runner's own process (a
 * `memory://` or `worker://` URL): only a target that starts brokers in this process
 * has one.
 */
export type InProcessDialer = (url: string) => Promise<ByteStream>;

/** Options of {@link dial}. */
export interface DialOptions {
  readonly tls?: DialTls;
  /** Opens `memory://` and `worker://` URLs; without it they are refused. */
  readonly inProcess?: InProcessDialer;
  readonly timeoutMs?: number;
  /** Receives the broker's breaches of WebSocket message rules (PW-TRANS-003). */
  readonly onViolation?: (violation: ClauseViolation) => void;
}

/**
 * Parses `tcp://host:port`, `tls://host:port`, `unix:///path`,
 * `ws://host:port/path` or `wss://host:port/path`. The wire-level cases
 * need a byte stream they control, so the runner dials these itself;
 * other schemes are rejected with a clear message.
 */
export function parseDialUrl(url: string): DialAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(url)}`);
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme === "unix") {
    if (parsed.pathname === "" || parsed.host !== "") throw new TypeError(`a unix URL is unix:///absolute/path, got ${url}`);
    return { scheme, path: decodeURIComponent(parsed.pathname) };
  }
  if (scheme === "tcp" || scheme === "tls" || scheme === "ws" || scheme === "wss") {
    const port = Number(parsed.port);
    if (parsed.hostname === "" || parsed.port === "" || !Number.isInteger(port)) throw new TypeError(`${scheme} URLs need a host and port, got ${url}`);
    const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
    if (scheme === "ws" || scheme === "wss") return { scheme, host, port, path: `${parsed.pathname || "/"}${parsed.search}` };
    return { scheme, host, port };
  }
  throw new TypeError(`the conformance runner speaks to brokers over tcp://, tls://, unix://, ws://, wss:// or (in process) memory://, not ${scheme}://`);
}

/** Opens a socket to `address`; resolves once connected (TLS: once the handshake is done). */
function dialSocket(address: DialAddress, url: string, options: DialOptions): Promise<Socket> {
  const secure = address.scheme === "tls" || address.scheme === "wss";
  return new Promise<Socket>((resolve, reject) => {
    const tls = options.tls;
    const socket = address.scheme === "unix"
      ? netConnect({ path: address.path })
      : !secure
        ? netConnect({ host: address.host, port: address.port, noDelay: true })
        : tlsConnect({
          host: address.host,
          port: address.port,
          servername: /^[0-9.:]+$/.test(address.host) ? "" : address.host,
          ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
          ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls?.key === undefined ? {} : { key: tls.key }),
          rejectUnauthorized: tls?.insecure !== true,
        });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`could not connect to ${url} within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    socket.once(secure ? "secureConnect" : "connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Opens a byte stream to `url`; rejects on connection failure or after `timeoutMs`. */
export async function dial(url: string, options: DialOptions = {}): Promise<ByteStream> {
  if (url.startsWith("memory://") || url.startsWith("worker://")) {
    if (options.inProcess === undefined) throw new TypeError(`${url}: memory:// and worker:// reach only a broker in the runner's process (the embedded target)`);
    return options.inProcess(url);
  }
  const address = parseDialUrl(url);
  const socket = await dialSocket(address, url, options);
  if (address.scheme !== "ws" && address.scheme !== "wss") return socket;
  const host = `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
  return WebSocketStream.open(socket, host, address.path, options.onViolation ?? (() => undefined), options.timeoutMs ?? 5000);
}
