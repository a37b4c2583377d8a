import { existsSync, unlinkSync } from "node:fs";
import type { IncomingMessage, Server as HttpServer } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { PolywireError } from "@polywire/runtime";
import { listenMemory, NodeWebSocketTransport, parseTransportUrl, SocketTransport, type Transport, type TransportAddress } from "@polywire/runtime/connection";
import { WebSocketServer } from "ws";
import type { Admission } from "./socket-gate.js";
import { certificateRefusal, refuseSocket, refuseWebSocket } from "./tls-refusal.js";

/** TLS settings of a broker's `tls://` and `wss://` listeners (PEM strings or buffers). */
export interface BrokerTlsOptions {
  /** Server certificate chain. */
  cert: string | Buffer;
  /** Private key of `cert`. */
  key: string | Buffer;
  /**
   * CA that client certificates must verify against. When set, every TLS
   * client must present a valid certificate, checked during the TLS
   * handshake (PW-TRANS-004).
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask for a client certificate even without `ca` (verified against the system store). Default: whether `ca` is set. */
  requestCert?: boolean;
}

/** A bound listener. */
export interface Listener {
  /** The URL clients dial, with the bound port when 0 was asked for. */
  readonly url: string;
  /** Stops accepting; open connections are not touched. */
  close(): Promise<void>;
}

/** What listeners need from the broker. */
export interface ListenContext {
  readonly tls: BrokerTlsOptions | undefined;
  /** Largest frame, used as the WebSocket message limit. */
  readonly maxFrameSize: number;
  /**
   * Called with every socket the moment it is accepted, before any TLS
   * handshake or WebSocket upgrade (PW-TRANS-007, PW-TRANS-008); undefined
   * refuses it and the listener closes it at once.
   */
  admit(socket: Socket, scheme: Transport["scheme"]): Admission | undefined;
  /** Receives every connection whose transport is established, with the admission of its socket. */
  onConnection(transport: Transport, admission: Admission | undefined): void;
}

// Admissions of sockets whose TLS handshake or WebSocket upgrade is under
// way, until the transport built on them arrives. The TLS or HTTP server
// hands out a new socket object for the same connection, so they are
// matched by remote address and port, unique among open connections.
class PendingAdmissions {
  readonly #byRemote = new Map<string, Admission>();

  static #key(socket: Socket): string {
    return `${socket.remoteAddress ?? ""}:${socket.remotePort ?? ""}`;
  }

  accept(raw: Socket, scheme: Transport["scheme"], context: ListenContext): void {
    const admission = context.admit(raw, scheme);
    if (admission === undefined) {
      raw.destroy();
      return;
    }
    const key = PendingAdmissions.#key(raw);
    this.#byRemote.set(key, admission);
    raw.once("close", () => {
      if (this.#byRemote.get(key) === admission) this.#byRemote.delete(key);
    });
  }

  take(socket: Socket): Admission | undefined {
    const key = PendingAdmissions.#key(socket);
    const admission = this.#byRemote.get(key);
    this.#byRemote.delete(key);
    return admission;
  }
}

// A plain socket server's connection: admitted, then handed over at once.
function acceptPlain(socket: Socket, scheme: "tcp" | "unix", context: ListenContext): void {
  const admission = context.admit(socket, scheme);
  if (admission === undefined) {
    socket.destroy();
    return;
  }
  context.onConnection(new SocketTransport(socket, scheme), admission);
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function listenServer(server: Server, options: { host: string; port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options, () => {
      server.removeListener("error", reject);
      // Once bound, a failed accept (EMFILE, a reset during accept) loses only
      // that connection attempt; it must not take the broker down.
      server.on("error", () => {});
      resolve();
    });
  });
}

// Stops accepting at once. Node calls close's callback only after every
// accepted connection has ended, which the broker's drain handles itself.
function closeServer(server: Server | HttpServer): Promise<void> {
  if (server.listening) server.close();
  return Promise.resolve();
}

/** Removes a Unix socket file left by a dead process; refuses to touch one that a live process listens on. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new PolywireError("INVALID_ARGUMENT", `unix://${path} is in use by another process`);
  unlinkSync(path);
}

function requireTls(context: ListenContext, url: string): BrokerTlsOptions {
  if (context.tls === undefined) throw new PolywireError("INVALID_CONFIG", `${url} needs TLS settings (certificate and key)`);
  return context.tls;
}

/** Whether the listener asks TLS clients for a certificate (PW-TRANS-004). */
function requestsCert(tls: BrokerTlsOptions): boolean {
  return tls.requestCert ?? tls.ca !== undefined;
}

function tlsServerOptions(tls: BrokerTlsOptions): Record<string, unknown> {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    requestCert: requestsCert(tls),
    // Node would drop a client whose certificate fails without a word; the
    // listener refuses it itself, saying why (certificateRefusal, PW-TRANS-009).
    rejectUnauthorized: false,
    minVersion: "TLSv1.2",
  };
}

async function listenWebSocket(address: Extract<TransportAddress, { scheme: "ws" | "wss" }>, context: ListenContext): Promise<Listener> {
  const scheme = address.scheme;
  const tls = scheme === "wss" ? requireTls(context, address.url) : undefined;
  const server = tls !== undefined ? createHttpsServer(tlsServerOptions(tls)) : createHttpServer();
  const path = address.path.split("?")[0] || "/";
  const wss = new WebSocketServer({ server, path, maxPayload: context.maxFrameSize, perMessageDeflate: false });
  const pending = new PendingAdmissions();
  server.on("connection", (raw: Socket) => pending.accept(raw, scheme, context));
  // ws re-emits the HTTP server's errors (EADDRINUSE at listen) on the
  // WebSocketServer; unheard, that throws out of the server's emit before
  // listenServer can reject, crashing the process and hanging the start.
  wss.on("error", () => {});
  wss.on("connection", (socket, request: IncomingMessage) => {
    const refusal = tls === undefined ? undefined : certificateRefusal(request.socket as TLSSocket, requestsCert(tls));
    if (refusal !== undefined) {
      refuseWebSocket(socket, refusal);
      return;
    }
    const remote = `${request.socket.remoteAddress ?? "?"}:${request.socket.remotePort ?? 0}`;
    context.onConnection(new NodeWebSocketTransport(socket, scheme, remote), pending.take(request.socket as Socket));
  });
  await listenServer(server, { host: address.host, port: address.port });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${scheme}://${hostForUrl(address.host)}:${port}${path}`,
    close: async () => {
      wss.close();
      await closeServer(server);
    },
  };
}

/**
 * Binds one listener for `url` (any scheme of PW-TRANS-001; port 0 picks a
 * free port) and hands every accepted connection to `context.onConnection`.
 */
export async function listen(url: string, context: ListenContext): Promise<Listener> {
  const address = parseTransportUrl(url);
  switch (address.scheme) {
    case "tcp": {
      const server = createNetServer({ pauseOnConnect: true, noDelay: true }, (socket) => acceptPlain(socket, "tcp", context));
      await listenServer(server, { host: address.host, port: address.port });
      const port = (server.address() as AddressInfo).port;
      return { url: `tcp://${hostForUrl(address.host)}:${port}`, close: () => closeServer(server) };
    }
    case "tls": {
      const tls = requireTls(context, url);
      const pending = new PendingAdmissions();
      const server = createTlsServer(tlsServerOptions(tls), (socket) => {
        // The admission leaves the pending map either way; a refused socket releases it when it closes.
        const admission = pending.take(socket);
        const refusal = certificateRefusal(socket, requestsCert(tls));
        if (refusal === undefined) context.onConnection(new SocketTransport(socket, "tls"), admission);
        else refuseSocket(socket, refusal);
      });
      // Counted from accept, before the TLS handshake, which runs against the handshake deadline (PW-TRANS-007, PW-TRANS-008).
      server.on("connection", (raw: Socket) => pending.accept(raw, "tls", context));
      // Failed handshakes never reach the broker.
      server.on("tlsClientError", () => {});
      await listenServer(server, { host: address.host, port: address.port });
      const port = (server.address() as AddressInfo).port;
      return { url: `tls://${hostForUrl(address.host)}:${port}`, close: () => closeServer(server) };
    }
    case "unix": {
      await clearStaleSocket(address.path);
      const server = createNetServer({ pauseOnConnect: true }, (socket) => acceptPlain(socket, "unix", context));
      await listenServer(server, { path: address.path });
      return { url: `unix://${address.path}`, close: () => closeServer(server) };
    }
    case "ws":
    case "wss":
      return listenWebSocket(address, context);
    case "memory": {
      const listener = listenMemory(address.name, (transport) => context.onConnection(transport, undefined));
      return { url: listener.url, close: async () => listener.close() };
    }
  }
}
