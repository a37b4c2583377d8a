import { PolywireError } from "../errors.js";
import type { ListenContext, Listener } from "./listen.js";
import { builtin, closeServer, listenServer, waitConnected } from "./node.js";
import { SocketTransport } from "./socket.js";
import { acceptPlain } from "./tcp.js";
import type { DialOptions, Transport } from "./transport.js";
import type { TransportAddress } from "./url.js";

type UnixAddress = Extract<TransportAddress, { scheme: "unix" }>;

/** Dials `unix:///path`. */
export async function dialUnix(address: UnixAddress, options: DialOptions): Promise<Transport> {
  const net = await builtin("net");
  const socket = net.connect({ path: address.path });
  await waitConnected(socket, "connect", address, options);
  return new SocketTransport(socket, "unix");
}

/** Removes a Unix socket file left by a dead process; refuses to touch one that a live process listens on. */
async function clearStaleSocket(path: string): Promise<void> {
  const fs = await builtin("fs");
  if (!fs.existsSync(path)) return;
  const net = await builtin("net");
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new PolywireError("INVALID_ARGUMENT", `unix://${path} is in use by another process`);
  fs.unlinkSync(path);
}

/** Listens on `unix:///path`, replacing a socket file a dead process left. */
export async function listenUnix<A>(address: UnixAddress, context: ListenContext<A>): Promise<Listener> {
  await clearStaleSocket(address.path);
  const net = await builtin("net");
  const server = net.createServer({ pauseOnConnect: true }, (socket) => acceptPlain(socket, "unix", context));
  await listenServer(server, { path: address.path });
  return { url: `unix://${address.path}`, close: () => closeServer(server) };
}
