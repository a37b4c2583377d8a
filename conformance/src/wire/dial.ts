import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** TLS settings for `tls://` targets. */
export interface DialTls {
  /** CA certificates (PEM) the broker's certificate must verify against; default the system store. */
  readonly ca?: string;
  /** Accept any broker certificate (self-signed test brokers). */
  readonly insecure?: boolean;
}

/** A data-plane URL the runner can open raw sockets to. */
export type DialAddress =
  | { readonly scheme: "tcp" | "tls"; readonly host: string; readonly port: number }
  | { readonly scheme: "unix"; readonly path: string };

/**
 * Parses `tcp://host:port`, `tls://host:port` or `unix:///path`. The
 * wire-level cases need a byte stream they control, so the runner dials
 * these itself; other schemes are rejected with a clear message.
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
  if (scheme === "tcp" || scheme === "tls") {
    const port = Number(parsed.port);
    if (parsed.hostname === "" || parsed.port === "" || !Number.isInteger(port)) throw new TypeError(`${scheme} URLs need a host and port, got ${url}`);
    return { scheme, host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port };
  }
  throw new TypeError(`the conformance runner speaks to brokers over tcp://, tls:// or unix://, not ${scheme}://`);
}

/** Opens a socket to `url`; rejects on connection failure or after `timeoutMs`. */
export function dial(url: string, options: { tls?: DialTls; timeoutMs?: number } = {}): Promise<Socket> {
  const address = parseDialUrl(url);
  return new Promise<Socket>((resolve, reject) => {
    const socket = address.scheme === "unix"
      ? netConnect({ path: address.path })
      : address.scheme === "tcp"
        ? netConnect({ host: address.host, port: address.port, noDelay: true })
        : tlsConnect({
          host: address.host,
          port: address.port,
          servername: /^[0-9.:]+$/.test(address.host) ? "" : address.host,
          ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca }),
          rejectUnauthorized: options.tls?.insecure !== true,
        });
    const ready = address.scheme === "tls" ? "secureConnect" : "connect";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`could not connect to ${url} within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    socket.once(ready, () => {
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
