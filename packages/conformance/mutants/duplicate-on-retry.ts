/**
 * Mutant: when an idempotent batch is a retry of one already stored, it is
 * stored again (as a plain batch) and acknowledged as new. Breaks
 * PW-IDEM-003 (a retry inside the window is never appended again).
 */
import { Broker } from "@polywire/broker";
import { resealBatch } from "../src/batch/batch.js";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { delegateLog, interceptPartitions } from "../src/embedded/intercept.js";

export const implementation: BrokerImplementation = {
  name: "mutant duplicate-on-retry",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    interceptPartitions(broker.storage, (log) => delegateLog(log, {
      append: async (batch, header, appendOptions) => {
        const copy = batch.slice();
        const result = await log.append(batch, header, appendOptions);
        if (!result.duplicate) return result;
        const view = new DataView(copy.buffer);
        view.setBigInt64(39, -1n);
        view.setInt16(47, -1);
        view.setInt32(49, -1);
        return log.append(resealBatch(copy), { ...header, producerId: -1n, producerEpoch: -1, baseSequence: -1 }, appendOptions);
      },
    }));
    return broker;
  },
};

export const mutant: Mutant = {
  name: "duplicate-on-retry",
  description: "stores a retried idempotent batch a second time",
  breaks: ["PW-IDEM-003", "PW-IDEM-006"],
  implementation,
};
