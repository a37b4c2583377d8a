/**
 * Mutant: acknowledges every batch but silently drops the one holding every
 * 1000th acknowledged record: it is never appended, and the next batch
 * takes its offset. Breaks PW-LOG-031 (an acknowledged record keeps its
 * offset and data), PW-LOG-002 (offsets come from the high watermark) and,
 * when the dropped batch is compressed, PW-COMP-009 (a batch is stored and
 * served exactly as produced): which case meets the 1000th record first
 * depends on how many records the cases before it produce.
 */
import { Broker } from "@polywire/broker";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { delegateLog, interceptPartitions } from "../src/embedded/intercept.js";

export const implementation: BrokerImplementation = {
  name: "mutant drop-every-1000th-record",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    let acknowledged = 0;
    interceptPartitions(broker.storage, (log) => delegateLog(log, {
      append: async (batch, header, appendOptions) => {
        const before = acknowledged;
        acknowledged += header.recordCount;
        if (Math.floor(before / 1000) !== Math.floor(acknowledged / 1000)) {
          return { baseOffset: log.highWatermark(), appendTimeMs: Date.now(), logStartOffset: log.logStartOffset(), duplicate: false };
        }
        return log.append(batch, header, appendOptions);
      },
    }));
    return broker;
  },
};

export const mutant: Mutant = {
  name: "drop-every-1000th-record",
  description: "acknowledges the batch holding every 1000th record without storing it",
  breaks: ["PW-LOG-031", "PW-LOG-002", "PW-LOG-006", "PW-COMP-009"],
  implementation,
};
