import { Broker } from "@polywire/broker";
import type { BrokerImplementation } from "../src/embedded/implementation.js";
import { FrameProxy, type ProxyHooks } from "../src/wire/frame-proxy.js";

/**
 * A mutant built as a proxy in front of the reference broker: `hooks`
 * (made fresh for each start) see and rewrite every frame.
 */
export function proxiedBroker(name: string, module: string, hooks: () => ProxyHooks): BrokerImplementation {
  return {
    name: `mutant ${name}`,
    module,
    exportName: "implementation",
    async start(options) {
      const [listen = "tcp://127.0.0.1:0"] = options.listeners ?? [];
      const broker = await Broker.start({ ...options, listeners: ["tcp://127.0.0.1:0"] });
      const proxy = await FrameProxy.start(broker.urls[0] as string, hooks(), listen);
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
}
