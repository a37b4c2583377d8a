import type { BrokerLink } from "./broker-link.js";
import type { ClientResource } from "./context.js";
import { PubSub } from "./pubsub/pubsub.js";
import { Rpc } from "./rpc/rpc.js";

/**
 * The planes a client opens on its primary link when first used: pub/sub
 * (§9) and request/reply (§10), each closed with the client.
 */
export class ClientPlanes {
  readonly #primary: BrokerLink;
  readonly #resources: Set<ClientResource>;
  #pubsub: PubSub | undefined;
  #rpc: Rpc | undefined;

  constructor(primary: BrokerLink, resources: Set<ClientResource>) {
    this.#primary = primary;
    this.#resources = resources;
  }

  get pubsub(): PubSub {
    if (this.#pubsub === undefined) {
      const pubsub = new PubSub(this.#primary);
      this.#pubsub = pubsub;
      this.#resources.add({ close: async () => pubsub.close(), fail: (error) => pubsub.close(error) });
    }
    return this.#pubsub;
  }

  get rpc(): Rpc {
    if (this.#rpc === undefined) {
      const rpc = new Rpc(this.#primary);
      this.#rpc = rpc;
      this.#resources.add({ close: async () => rpc.drain(), fail: (error) => rpc.close(error) });
    }
    return this.#rpc;
  }
}
