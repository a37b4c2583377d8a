import type { BrokerLink } from "./broker-link.js";
import type { ClientResource } from "./context.js";
import { ConfirmInbox, withHeader, type ConfirmedPublishOptions, type ConfirmResult } from "./pubsub/confirm.js";
import type { MessageData } from "./pubsub/message.js";
import { PubSub, type PublishOptions } from "./pubsub/pubsub.js";
import type { Subscription } from "./pubsub/subscription.js";
import { Rpc } from "./rpc/rpc.js";

/**
 * The planes a client opens on its primary link when first used: pub/sub
 * (§9) and request/reply (§10), each closed with the client.
 */
export class ClientPlanes {
  readonly #primary: BrokerLink;
  readonly #resources: Set<ClientResource>;
  readonly #subscribe: (pattern: string) => Subscription;
  #pubsub: PubSub | undefined;
  #confirms: ConfirmInbox | undefined;
  #rpc: Rpc | undefined;

  /** `subscribe` is the client's, for the inbox of confirmed publishes. */
  constructor(primary: BrokerLink, resources: Set<ClientResource>, subscribe: (pattern: string) => Subscription) {
    this.#primary = primary;
    this.#resources = resources;
    this.#subscribe = subscribe;
  }

  /** A publish with `confirm`: resolves with what every handler it reached said (spec §9.5). */
  confirmedPublish(subject: string, data: MessageData, options: PublishOptions & { confirm?: ConfirmedPublishOptions["confirm"] }): Promise<ConfirmResult> {
    const inbox = (this.#confirms ??= new ConfirmInbox(this.#subscribe));
    const confirm = options.confirm ?? true;
    const publish = (replyTo: string, header: readonly [string, string]): Promise<number> => this.pubsub.publish(subject, data, { ...options, replyTo, ack: true, headers: withHeader(options.headers, header) }) as Promise<number>;
    return inbox.publish(publish, confirm === true ? {} : confirm, options.signal);
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
