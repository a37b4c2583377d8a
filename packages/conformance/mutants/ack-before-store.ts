/**
 * Mutant: answers ACKS_ALL produces at once with the offset the batch will
 * get, and appends (and fsyncs) it 50 ms later. Breaks PW-LOG-006 (answer
 * only once durable) and PW-LOG-005 (answer once appended and visible).
 */
import { Broker } from "@polywire/broker";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { delegateLog, interceptPartitions } from "../src/embedded/intercept.js";

export const implementation: BrokerImplementation = {
  name: "mutant ack-before-store",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    interceptPartitions(broker.storage, (log) => {
      // Appends stay in arrival order; ACKS_ALL ones are answered before their turn comes.
      let queue: Promise<unknown> = Promise.resolve();
      let next = -1n;
      return delegateLog(log, {
        append: (batch, header, appendOptions) => {
          const base = next > log.highWatermark() ? next : log.highWatermark();
          next = base + BigInt(header.recordCount);
          const stored = queue.then(() => new Promise((r) => setTimeout(r, appendOptions?.durability === "synced" ? 50 : 0))).then(() => log.append(batch, header, appendOptions));
          queue = stored.catch(() => undefined);
          if (appendOptions?.durability !== "synced") return stored;
          stored.catch(() => undefined);
          return Promise.resolve({ baseOffset: base, appendTimeMs: Date.now(), logStartOffset: log.logStartOffset(), duplicate: false });
        },
      });
    });
    return broker;
  },
};

export const mutant: Mutant = {
  name: "ack-before-store",
  description: "acknowledges ACKS_ALL produces before the batch is appended and fsynced",
  breaks: ["PW-LOG-006", "PW-LOG-005", "PW-LOG-031"],
  implementation,
};
