import type { AddressInfo, Socket } from "node:net";
import type { ListenContext, Listener } from "./listen.js";
import { builtin, closeServer, hostForUrl, listenServer, waitConnected } from "./node.js";
import { SocketTransport } from "./socket.js";
import type { DialOptions, Transport } from "./transport.js";
import type { SocketAddress } from "./url.js";



/** Dials `tcp://host:port`. */
export async function dialTcp(address: SocketAddress, options: DialOptions): Promise<Transport> {
  const net = await builtin("net");
  const socket = net.connect({ host: address.host, port: address.port });
  await waitConnected(socket, "connect", address, options);
  return new SocketTransport(socket, "tcp");
}

/** A plain socket server's connection (tcp, unix): admitted, then handed over at once. */
export function acceptPlain<A>(socket: Socket, scheme: "tcp" | "unix", context: ListenContext<A>): void {
  const admission = context.admit(socket, scheme);
  if (admission === undefined) {
    socket.destroy();
    return;
  }
  context.onConnection(new SocketTransport(socket, scheme), admission);
}

/** Listens on `tcp://host:port`. */
export async function listenTcp<A>(address: SocketAddress, context: ListenContext<A>): Promise<Listener> {
  const net = await builtin("net");
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => acceptPlain(socket, "tcp", context));
  await listenServer(server, { host: address.host, port: address.port });
  const port = (server.address() as AddressInfo).port;
  return { url: `tcp://${hostForUrl(address.host)}:${port}`, close: () => closeServer(server) };
}
