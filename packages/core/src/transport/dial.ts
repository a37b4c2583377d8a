import { PolywireError } from "../errors.js";
import { dialMemory } from "./memory.js";
import type { DialOptions, Transport } from "./transport.js";
import { parseTransportUrl } from "./url.js";

/**
 * Opens a transport connection to `url` (any scheme of PW-TRANS-001). Node
 * transports and the `ws` package are imported only when first dialed, so
 * that a browser bundle leaves them out.
 * Failures are `PolywireError`s: INVALID_ARGUMENT for a bad URL,
 * CONNECTION_LOST when the peer cannot be reached, TIMEOUT or CANCELLED.
 */
export async function dial(url: string, options: DialOptions = {}): Promise<Transport> {
  const address = parseTransportUrl(url);
  if (options.signal?.aborted) throw PolywireError.from(options.signal.reason, "CANCELLED");
  switch (address.scheme) {
    case "memory":
      return dialMemory(address.name);
    case "worker": {
      const { dialWorker } = await import("./worker-listen.js");
      return dialWorker(address.name, options);
    }
    case "ws":
    case "wss": {
      const { dialWebSocket } = await import("./websocket.js");
      return dialWebSocket(address, options);
    }
    case "tcp": {
      const { dialTcp } = await import("./tcp.js");
      return dialTcp(address, options);
    }
    case "tls": {
      const { dialTls } = await import("./tls.js");
      return dialTls(address, options);
    }
    case "unix": {
      const { dialUnix } = await import("./unix.js");
      return dialUnix(address, options);
    }
  }
}
