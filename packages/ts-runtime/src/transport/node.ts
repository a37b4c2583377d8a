import type { Socket } from "node:net";
import { PolywireError } from "../errors.js";
import { dialError } from "./dial-error.js";
import { SocketTransport } from "./socket.js";
import type { DialOptions, Transport } from "./transport.js";
import type { TransportAddress } from "./url.js";

// Loaded only when a Node transport is dialed. The built-in modules are
// imported by a computed name so that bundlers targeting browsers do not try
// to resolve them; a runtime without them gets a clear error instead.
async function builtin<T>(name: "net" | "tls"): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ `node:${name}`)) as T;
  } catch (cause) {
    throw new PolywireError("INVALID_ARGUMENT", `this runtime has no node:${name}, so it cannot dial tcp://, tls:// or unix:// (use ws://, wss:// or memory://)`, { cause });
  }
}

function waitConnected(socket: Socket, event: "connect" | "secureConnect", address: TransportAddress, options: DialOptions): Promise<void> {
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

/** Dials `tcp://`, `tls://` or `unix://`. */
export async function dialNode(address: TransportAddress, options: DialOptions): Promise<Transport> {
  switch (address.scheme) {
    case "tcp": {
      const net = await builtin<typeof import("node:net")>("net");
      const socket = net.connect({ host: address.host, port: address.port });
      await waitConnected(socket, "connect", address, options);
      return new SocketTransport(socket, "tcp");
    }
    case "unix": {
      const net = await builtin<typeof import("node:net")>("net");
      const socket = net.connect({ path: address.path });
      await waitConnected(socket, "connect", address, options);
      return new SocketTransport(socket, "unix");
    }
    case "tls": {
      const tls = await builtin<typeof import("node:tls")>("tls");
      const net = await builtin<typeof import("node:net")>("net");
      const t = options.tls ?? {};
      const servername = t.servername ?? (net.isIP(address.host) === 0 ? address.host : undefined);
      const socket = tls.connect({
        host: address.host,
        port: address.port,
        ...(servername === undefined ? {} : { servername }),
        ...(t.ca === undefined ? {} : { ca: toPemList(t.ca) }),
        ...(t.cert === undefined ? {} : { cert: toPem(t.cert) }),
        ...(t.key === undefined ? {} : { key: toPem(t.key) }),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        minVersion: "TLSv1.2",
      });
      await waitConnected(socket, "secureConnect", address, options);
      return new SocketTransport(socket, "tls");
    }
    default:
      throw new PolywireError("INVALID_ARGUMENT", `${address.url} is not a Node socket URL`);
  }
}

function toPem(value: string | Uint8Array): string | Buffer {
  return typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function toPemList(value: string | Uint8Array | Array<string | Uint8Array>): Array<string | Buffer> {
  return Array.isArray(value) ? value.map(toPem) : [toPem(value)];
}
