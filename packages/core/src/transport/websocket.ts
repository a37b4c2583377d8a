import type { IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { PolywireError } from "../errors.js";
import { PendingAdmissions } from "./admissions.js";
import { dialError } from "./dial-error.js";
import type { ListenContext, Listener } from "./listen.js";
import { builtin, closeServer, hostForUrl, listenServer } from "./node.js";
import { requestsCert, requireTls, tlsServerOptions } from "./tls.js";
import { certificateRefusal, refuseWebSocket } from "./tls-refusal.js";
import type { DialOptions, Transport } from "./transport.js";
import type { TransportAddress } from "./url.js";
import { NodeWebSocketTransport, StandardWebSocketTransport } from "./websocket-transport.js";

type WebSocketAddress = Extract<TransportAddress, { scheme: "ws" | "wss" }>;

function isNode(): boolean {
  const g = globalThis as { process?: { versions?: Record<string, string | undefined> }; Deno?: unknown };
  const versions = g.process?.versions;
  return versions?.node !== undefined && versions.bun === undefined && g.Deno === undefined;
}

function withDeadline<T>(address: TransportAddress, options: DialOptions, start: (settle: { resolve(v: T): void; reject(e: Error): void }) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 10_000;
    let cancel = (): void => {};
    const timer = setTimeout(() => fail(new PolywireError("TIMEOUT", `connecting to ${address.url} timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(PolywireError.from(options.signal?.reason, "CANCELLED"));
    const done = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: Error): void => {
      done();
      cancel();
      reject(error);
    };
    if (options.signal?.aborted) {
      clearTimeout(timer);
      reject(PolywireError.from(options.signal.reason, "CANCELLED"));
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    cancel = start({
      resolve: (v) => {
        done();
        resolve(v);
      },
      reject: fail,
    });
  });
}

/**
 * Dials `ws://` or `wss://`: with the `ws` package in Node (loaded on
 * demand, and supporting the TLS options), with the global WebSocket
 * elsewhere.
 */
export async function dialWebSocket(address: WebSocketAddress, options: DialOptions): Promise<Transport> {
  const scheme = address.scheme;
  if (isNode()) {
    const { WebSocket } = await import("ws");
    const t = options.tls ?? {};
    return withDeadline<Transport>(address, options, ({ resolve, reject }) => {
      const socket = new WebSocket(address.url, {
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(t.ca === undefined ? {} : { ca: t.ca as string | string[] }),
        ...(t.cert === undefined ? {} : { cert: t.cert as string }),
        ...(t.key === undefined ? {} : { key: t.key as string }),
        ...(t.servername === undefined ? {} : { servername: t.servername }),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        perMessageDeflate: false,
      });
      // Wrapped before "open" so that messages sent right after the upgrade are kept.
      const transport = new NodeWebSocketTransport(socket, scheme, address.url);
      const onError = (err: Error): void => reject(dialError(address, err));
      socket.once("error", onError);
      socket.once("open", () => {
        socket.removeListener("error", onError);
        resolve(transport);
      });
      return () => socket.terminate();
    });
  }
  const Standard = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
  if (Standard === undefined) {
    throw new PolywireError("INVALID_ARGUMENT", "this runtime has no WebSocket implementation");
  }
  return withDeadline<Transport>(address, options, ({ resolve, reject }) => {
    const socket = new Standard(address.url);
    const transport = new StandardWebSocketTransport(socket, scheme);
    const onError = (): void => reject(dialError(address, new Error("WebSocket error")));
    socket.addEventListener("error", onError, { once: true });
    socket.addEventListener("open", () => {
      socket.removeEventListener("error", onError);
      resolve(transport);
    }, { once: true });
    return () => socket.close();
  });
}

/**
 * Listens on `ws://host:port/path` or `wss://...`. `ws` refuses a message
 * above the broker's maximum frame size itself (close 1009, PW-TRANS-006);
 * each connection's bytes are metered as they arrive, so that smaller
 * limits (64 KiB before Welcome, PW-FRAME-017) and the inbound budget
 * (PW-LIM-006) apply to a message while `ws` still collects it.
 */
export async function listenWebSocket<A>(address: WebSocketAddress, context: ListenContext<A>): Promise<Listener> {
  const scheme = address.scheme;
  const tls = scheme === "wss" ? requireTls(context, address.url) : undefined;
  const server = tls !== undefined ? (await builtin("https")).createServer(tlsServerOptions(tls)) : (await builtin("http")).createServer();
  const path = address.path.split("?")[0] || "/";
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ server, path, maxPayload: context.maxFrameSize, perMessageDeflate: false });
  const pending = new PendingAdmissions<A>();
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
    const raw = request.socket as Socket;
    const remote = `${raw.remoteAddress ?? "?"}:${raw.remotePort ?? 0}`;
    context.onConnection(new NodeWebSocketTransport(socket, scheme, remote, raw), pending.take(raw));
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
