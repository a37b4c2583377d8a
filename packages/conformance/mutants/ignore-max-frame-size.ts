/**
 * Mutant: advertises a max_frame_size of 1 MiB in Welcome but reads frames
 * up to the reference broker's 16 MiB, so an oversize frame is buffered
 * instead of refused. Built as a proxy that rewrites the Welcome. Breaks
 * PW-FRAME-006 and PW-LIM-001 (enforce exactly the limits advertised).
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Broker } from "@polywire/broker";
import { FrameKind, WelcomeSchema } from "@polywire/proto/session";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { FrameProxy } from "../src/wire/frame-proxy.js";
import { encodeRawFrame } from "../src/wire/frame.js";

const ADVERTISED = 1024 * 1024;

export const implementation: BrokerImplementation = {
  name: "mutant ignore-max-frame-size",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const [listen = "tcp://127.0.0.1:0"] = options.listeners ?? [];
    const broker = await Broker.start({ ...options, listeners: ["tcp://127.0.0.1:0"] });
    const proxy = await FrameProxy.start(broker.urls[0] as string, {
      fromBroker: (frame) => {
        if (frame.kind !== FrameKind.WELCOME) return undefined;
        const welcome = fromBinary(WelcomeSchema, frame.message);
        if (welcome.limits !== undefined) welcome.limits.maxFrameSize = ADVERTISED;
        return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(WelcomeSchema, welcome), payload: frame.payload, checksum: frame.checksum }) };
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
  name: "ignore-max-frame-size",
  description: "advertises a 1 MiB max_frame_size and reads frames up to 16 MiB",
  breaks: ["PW-FRAME-006", "PW-LIM-001"],
  implementation,
};
