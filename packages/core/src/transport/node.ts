import type { Server as HttpServer } from "node:http";
import type { Server, Socket } from "node:net";
import { PolywireError } from "../errors.js";
import { dialError } from "./dial-error.js";
import type { DialOptions } from "./transport.js";
import type { TransportAddress } from "./url.js";

/** The Node built-in modules the socket transports use. */
interface Builtins {
  net: typeof import("node:net");
  tls: typeof import("node:tls");
  fs: typeof import("node:fs");
  http: typeof import("node:http");
  https: typeof import("node:https");
}

/**
 * Loads a Node built-in module. Every transport module imports them only
 * through here, by a computed name, so that bundlers targeting browsers do
 * not try to resolve them; a runtime without them gets a clear error.
 */
export async function builtin<K extends keyof Builtins>(name: K): Promise<Builtins[K]> {
  try {
    return (await import(/* @vite-ignore */ `node:${name}`)) as Builtins[K];
  } catch (cause) {
    throw new PolywireError("INVALID_ARGUMENT", `this runtime has no node:${name}, so it cannot use tcp://, tls:// or unix:// (use ws://, wss:// or memory://)`, { cause });
  }
}

/** Waits for a dialed socket to connect, within the dial's timeout and signal; destroys it on failure. */
export function waitConnected(socket: Socket, event: "connect" | "secureConnect", address: TransportAddress, options: DialOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const signal = options.signal;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timer = setTimeout(() => fail(new PolywireError("TIMEOUT", `connecting to ${address.url} timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(PolywireError.from(signal?.reason, "CANCELLED"));
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.removeListener("error", onError);
      socket.removeListener(event, onConnect);
    };
    const fail = (error: PolywireError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (err: Error): void => fail(dialError(address, err));
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once(event, onConnect);
  });
}

/** A host as it appears in a URL: IPv6 addresses in brackets. */
export function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Binds `server`; rejects with the bind error (EADDRINUSE, ...). */
export function listenServer(server: Server, options: { host: string; port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options, () => {
      server.removeListener("error", reject);
      // Once bound, a failed accept (EMFILE, a reset during accept) loses only
      // that connection attempt; it must not take the process down.
      server.on("error", () => {});
      resolve();
    });
  });
}

// Stops accepting at once. Node calls close's callback only after every
// accepted connection has ended, which the owner's drain handles itself.
export function closeServer(server: Server | HttpServer): Promise<void> {
  if (server.listening) server.close();
  return Promise.resolve();
}

/** A PEM given as a string or bytes, as Node's TLS options take it. */
export function toPem(value: string | Uint8Array): string | Buffer {
  return typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** One PEM or several, as a list. */
export function toPemList(value: string | Uint8Array | ReadonlyArray<string | Uint8Array>): Array<string | Buffer> {
  return Array.isArray(value) ? value.map(toPem) : [toPem(value as string | Uint8Array)];
}
