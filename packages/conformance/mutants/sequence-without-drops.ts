/**
 * Mutant: numbers the Deliveries of a subscription 1, 2, 3... as they are
 * written, so dropped messages leave no gap in `sequence`. Built as a
 * proxy in front of the reference broker that renumbers each connection's
 * Deliveries per subscription. Breaks PW-PUBSUB-024.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Broker } from "@polywire/broker";
import { DeliverySchema } from "@polywire/proto/pubsub";
import { FrameKind } from "@polywire/proto/session";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { FrameProxy } from "../src/wire/frame-proxy.js";
import { encodeRawFrame } from "../src/wire/frame.js";

export const implementation: BrokerImplementation = {
  name: "mutant sequence-without-drops",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const [listen = "tcp://127.0.0.1:0"] = options.listeners ?? [];
    const broker = await Broker.start({ ...options, listeners: ["tcp://127.0.0.1:0"] });
    // Per connection, per subscription id: the Deliveries written so far.
    const written = new Map<number, Map<number, bigint>>();
    const proxy = await FrameProxy.start(broker.urls[0] as string, {
      fromBroker: (frame, _raw, connection) => {
        if (frame.kind !== FrameKind.DELIVERY) return undefined;
        const delivery = fromBinary(DeliverySchema, frame.message);
        let subscriptions = written.get(connection.id);
        if (subscriptions === undefined) written.set(connection.id, (subscriptions = new Map()));
        const sequence = (subscriptions.get(delivery.subscriptionId) ?? 0n) + 1n;
        subscriptions.set(delivery.subscriptionId, sequence);
        delivery.sequence = sequence;
        return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(DeliverySchema, delivery), payload: frame.payload, checksum: frame.checksum }) };
      },
      closed: (connection) => written.delete(connection.id),
    }, listen);
    return {
      urls: [proxy.url],
      httpUrl: broker.httpUrl,
      storage: broker.storage,
      close: async () => {
        await proxy.close();
        await broker.close();
      },
    };
  },
};

export const mutant: Mutant = {
  name: "sequence-without-drops",
  description: "numbers Deliveries as written, so drops for a slow consumer leave no gap in sequence",
  breaks: ["PW-PUBSUB-024"],
  implementation,
};
