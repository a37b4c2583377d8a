/**
 * Mutant: reports every partition's high watermark one above the truth, in
 * fetch results, ListOffsets and Metadata. Breaks PW-LOG-016 and PW-LOG-020.
 */
import { Broker } from "@polywire/broker";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { delegateLog, interceptPartitions } from "../src/embedded/intercept.js";

export const implementation: BrokerImplementation = {
  name: "mutant wrong-high-watermark",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    interceptPartitions(broker.storage, (log) => delegateLog(log, {
      highWatermark: () => log.highWatermark() + 1n,
      read: async (offset, maxBytes) => {
        const result = await log.read(offset, maxBytes);
        return { ...result, highWatermark: result.highWatermark + 1n };
      },
    }));
    return broker;
  },
};

export const mutant: Mutant = {
  name: "wrong-high-watermark",
  description: "reports high watermarks one above the truth",
  breaks: ["PW-LOG-016", "PW-LOG-020", "PW-LOG-023"],
  implementation,
};
