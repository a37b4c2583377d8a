import type { Socket } from "node:net";
import { listenMemory } from "./memory.js";
import type { TransportScheme, Transport } from "./transport.js";
import { parseTransportUrl } from "./url.js";

/** TLS settings of `tls://` and `wss://` listeners (PEM strings or buffers). */
export interface TlsServerOptions {
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

/**
 * What a listener needs from its owner. `A` is the owner's record of an
 * accepted socket (the broker's place in its connection count): the
 * listener only carries it from `admit` to `onConnection`.
 */
export interface ListenContext<A = unknown> {
  readonly tls: TlsServerOptions | undefined;
  /** Largest frame, used as the WebSocket message limit. */
  readonly maxFrameSize: number;
  /**
   * Called with every socket the moment it is accepted, before any TLS
   * handshake or WebSocket upgrade (PW-TRANS-007, PW-TRANS-008); undefined
   * refuses it and the listener closes it at once.
   */
  admit(socket: Socket, scheme: TransportScheme): A | undefined;
  /** Receives every connection whose transport is established, with the admission of its socket (undefined for memory://). */
  onConnection(transport: Transport, admission: A | undefined): void;
}

/**
 * Binds one listener for `url` (any scheme of PW-TRANS-001; port 0 picks a
 * free port) and hands every accepted connection to `context.onConnection`.
 * The Node modules of each scheme are loaded only when it is listened on.
 */
export async function listen<A>(url: string, context: ListenContext<A>): Promise<Listener> {
  const address = parseTransportUrl(url);
  switch (address.scheme) {
    case "tcp": {
      const { listenTcp } = await import("./tcp.js");
      return listenTcp(address, context);
    }
    case "tls": {
      const { listenTls } = await import("./tls.js");
      return listenTls(address, context);
    }
    case "unix": {
      const { listenUnix } = await import("./unix.js");
      return listenUnix(address, context);
    }
    case "ws":
    case "wss": {
      const { listenWebSocket } = await import("./websocket.js");
      return listenWebSocket(address, context);
    }
    case "memory": {
      const listener = listenMemory(address.name, (transport) => context.onConnection(transport, undefined));
      return { url: listener.url, close: async () => listener.close() };
    }
    case "worker": {
      const { listenWorker } = await import("./worker-listen.js");
      const listener = listenWorker(address.name, (transport) => context.onConnection(transport, undefined));
      return { url: listener.url, close: async () => listener.close() };
    }
  }
}
