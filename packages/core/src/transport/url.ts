import { PolywireError } from "../errors.js";
import type { TransportScheme } from "./transport.js";

/** A parsed transport URL (PW-TRANS-001). */
export type TransportAddress =
  | { readonly scheme: "tcp" | "tls"; readonly host: string; readonly port: number; readonly url: string }
  | { readonly scheme: "unix"; readonly path: string; readonly url: string }
  | { readonly scheme: "ws" | "wss"; readonly host: string; readonly port: number; readonly path: string; readonly url: string }
  | { readonly scheme: "memory" | "worker"; readonly name: string; readonly url: string };

/** The address of a `tcp://` or `tls://` URL. */
export type SocketAddress = Extract<TransportAddress, { scheme: "tcp" | "tls" }>;

const schemes: ReadonlySet<string> = new Set<TransportScheme>(["tcp", "tls", "unix", "ws", "wss", "memory", "worker"]);

function invalid(url: string, why: string): PolywireError {
  return new PolywireError("INVALID_ARGUMENT", `invalid transport URL ${JSON.stringify(url)}: ${why}`);
}

function parsePort(raw: string, url: string, allowMissing: number | undefined): number {
  if (raw === "") {
    if (allowMissing !== undefined) return allowMissing;
    throw invalid(url, "a port is required (use 0 to let a listener pick one)");
  }
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(url, `port ${raw} is out of range`);
  return port;
}

function parseHost(parsed: URL, url: string): string {
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (host === "") throw invalid(url, "a host is required");
  return host;
}

/**
 * Parses a transport URL: `tcp://host:port`, `tls://host:port`,
 * `unix:///absolute/path`, `ws://host:port/path`, `wss://host:port/path`,
 * `memory://name` or `worker://name`. Throws a `PolywireError` with code INVALID_ARGUMENT that
 * says what is wrong.
 */
export function parseTransportUrl(url: string): TransportAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new PolywireError("INVALID_ARGUMENT", `invalid transport URL ${JSON.stringify(url)}: not a URL`, { cause });
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (!schemes.has(scheme)) {
    throw invalid(url, `unknown scheme "${scheme}:" (expected tcp, tls, unix, ws, wss, memory or worker)`);
  }
  if (parsed.username !== "" || parsed.password !== "") throw invalid(url, "credentials in the URL are not supported");
  switch (scheme) {
    case "tcp":
    case "tls": {
      if (parsed.pathname !== "" && parsed.pathname !== "/") throw invalid(url, `${scheme} URLs have no path`);
      return { scheme, host: parseHost(parsed, url), port: parsePort(parsed.port, url, undefined), url };
    }
    case "unix": {
      if (parsed.host !== "") throw invalid(url, "use unix:///absolute/path (three slashes, no host)");
      const path = decodeURIComponent(parsed.pathname);
      if (!path.startsWith("/") || path === "/") throw invalid(url, "the socket path must be absolute");
      return { scheme, path, url };
    }
    case "ws":
    case "wss": {
      const port = parsePort(parsed.port, url, scheme === "ws" ? 80 : 443);
      return { scheme, host: parseHost(parsed, url), port, path: (parsed.pathname || "/") + parsed.search, url };
    }
    default: {
      const name = decodeURIComponent(parsed.host);
      if (name === "" || (parsed.pathname !== "" && parsed.pathname !== "/")) {
        throw invalid(url, `use ${scheme}://name with a non-empty name and no path`);
      }
      return { scheme: scheme === "worker" ? "worker" : "memory", name, url };
    }
  }
}
