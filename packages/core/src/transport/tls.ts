import type { AddressInfo, Socket } from "node:net";
import { PolywireError } from "../errors.js";
import { PendingAdmissions } from "./admissions.js";
import type { ListenContext, Listener, TlsServerOptions } from "./listen.js";
import { builtin, closeServer, hostForUrl, listenServer, toPem, toPemList, waitConnected } from "./node.js";
import { SocketTransport } from "./socket.js";
import { certificateRefusal, refuseSocket } from "./tls-refusal.js";
import type { DialOptions, Transport } from "./transport.js";
import type { SocketAddress } from "./url.js";



/** Dials `tls://host:port` (TLS 1.2 or later), verifying the broker's certificate unless told not to. */
export async function dialTls(address: SocketAddress, options: DialOptions): Promise<Transport> {
  const tls = await builtin("tls");
  const net = await builtin("net");
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

/** The TLS settings of a `tls://` or `wss://` listener, or INVALID_CONFIG when there are none. */
export function requireTls(context: ListenContext<unknown>, url: string): TlsServerOptions {
  if (context.tls === undefined) throw new PolywireError("INVALID_CONFIG", `${url} needs TLS settings (certificate and key)`);
  return context.tls;
}

/** Whether the listener asks TLS clients for a certificate (PW-TRANS-004). */
export function requestsCert(tls: TlsServerOptions): boolean {
  return tls.requestCert ?? tls.ca !== undefined;
}

/** Node's TLS server options for `tls`. */
export function tlsServerOptions(tls: TlsServerOptions): Record<string, unknown> {
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

/** Listens on `tls://host:port`; a client certificate that fails is refused with an Error frame (PW-TRANS-009). */
export async function listenTls<A>(address: SocketAddress, context: ListenContext<A>): Promise<Listener> {
  const settings = requireTls(context, address.url);
  const tls = await builtin("tls");
  const pending = new PendingAdmissions<A>();
  const server = tls.createServer(tlsServerOptions(settings), (socket) => {
    // The admission leaves the pending map either way; a refused socket releases it when it closes.
    const admission = pending.take(socket);
    const refusal = certificateRefusal(socket, requestsCert(settings));
    if (refusal === undefined) context.onConnection(new SocketTransport(socket, "tls"), admission);
    else refuseSocket(socket, refusal);
  });
  // Counted from accept, before the TLS handshake, which runs against the handshake deadline (PW-TRANS-007, PW-TRANS-008).
  server.on("connection", (raw: Socket) => pending.accept(raw, "tls", context));
  // Failed handshakes never reach the owner.
  server.on("tlsClientError", () => {});
  await listenServer(server, { host: address.host, port: address.port });
  const port = (server.address() as AddressInfo).port;
  return { url: `tls://${hostForUrl(address.host)}:${port}`, close: () => closeServer(server) };
}
