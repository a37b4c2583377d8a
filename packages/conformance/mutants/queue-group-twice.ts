/**
 * Mutant: forgets queue groups, so every member of a group gets every
 * message. Built as a proxy in front of the reference broker that clears
 * `queue_group` in each SubscribeRequest. Breaks PW-PUBSUB-012.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Broker } from "@polywire/broker";
import { SubscribeRequestSchema } from "@polywire/proto/pubsub";
import { FrameKind } from "@polywire/proto/session";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { FrameProxy } from "../src/wire/frame-proxy.js";
import { encodeRawFrame } from "../src/wire/frame.js";

export const implementation: BrokerImplementation = {
  name: "mutant queue-group-twice",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const [listen = "tcp://127.0.0.1:0"] = options.listeners ?? [];
    const broker = await Broker.start({ ...options, listeners: ["tcp://127.0.0.1:0"] });
    const proxy = await FrameProxy.start(broker.urls[0] as string, {
      fromClient: (frame) => {
        if (frame.kind !== FrameKind.SUBSCRIBE_REQUEST) return undefined;
        let request;
        try {
          request = fromBinary(SubscribeRequestSchema, frame.message);
        } catch {
          return undefined;
        }
        if (request.queueGroup === "") return undefined;
        request.queueGroup = "";
        return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(SubscribeRequestSchema, request), payload: frame.payload, checksum: frame.checksum }) };
      },
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
  name: "queue-group-twice",
  description: "delivers each message to every member of a queue group instead of one",
  breaks: ["PW-PUBSUB-012"],
  implementation,
};
