import { PolywireError } from "../errors.js";
import { dialMemory } from "./memory.js";
import type { DialOptions, Transport } from "./transport.js";
import { parseTransportUrl } from "./url.js";

/**
 * Opens a transport connection to `url` (any scheme of PW-TRANS-001). Node
 * transports and the `ws` package are imported only when first dialed.
 * Failures are `PolywireError`s: INVALID_ARGUMENT for a bad URL,
 * CONNECTION_LOST when the peer cannot be reached, TIMEOUT or CANCELLED.
 */
export async function dial(url: string, options: DialOptions = {}): Promise<Transport> {
  const address = parseTransportUrl(url);
  if (options.signal?.aborted) throw PolywireError.from(options.signal.reason, "CANCELLED");
  switch (address.scheme) {
    case "memory":
      return dialMemory(address.name);
    case "ws":
    case "wss": {
      const { dialWebSocket } = await import("./websocket.js");
      return dialWebSocket(address, options);
    }
    default: {
      const { dialNode } = await import("./node.js");
      return dialNode(address, options);
    }
  }
}
