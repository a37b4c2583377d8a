/**
 * Mutant: every fifth plain (non-idempotent) batch waits up to 25 ms; when
 * another batch for the same partition arrives meanwhile, that one is
 * appended first. Two produce requests pipelined on one connection then land
 * in the opposite order. Breaks PW-LOG-007.
 */
import { Broker } from "@polywire/broker";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { delegateLog, interceptPartitions } from "../src/embedded/intercept.js";

export const implementation: BrokerImplementation = {
  name: "mutant reorder-batches",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    interceptPartitions(broker.storage, (log) => {
      let count = 0;
      let held: (() => void) | undefined;
      return delegateLog(log, {
        append: (batch, header, appendOptions) => {
          const release = held;
          held = undefined;
          if (release === undefined && header.producerId < 0n && ++count % 5 === 0) {
            return new Promise((resolve, reject) => {
              const go = (): void => {
                if (held === go) held = undefined;
                log.append(batch, header, appendOptions).then(resolve, reject);
              };
              held = go;
              setTimeout(() => held === go && go(), 25);
            });
          }
          const result = log.append(batch, header, appendOptions);
          release?.();
          return result;
        },
      });
    });
    return broker;
  },
};

export const mutant: Mutant = {
  name: "reorder-batches",
  description: "appends a pipelined batch before the one sent ahead of it on the same connection",
  breaks: ["PW-LOG-007"],
  implementation,
};
