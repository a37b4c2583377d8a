/**
 * Mutant: keeps committed offsets only in memory, as a broker whose commits
 * are not durable would: every start begins without the offset log, so an
 * acknowledged commit is gone after a restart. Breaks PW-GROUP-040.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Broker } from "@polywire/broker";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";

export const implementation: BrokerImplementation = {
  name: "mutant forget-commits",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const storage = options.storage;
    // A storage config, not an opened Storage (which has partitions).
    if (storage !== undefined && !("partition" in storage) && storage.engine === "disk") await rm(join(storage.dir, "group-offsets.log"), { force: true });
    return Broker.start(options);
  },
};

export const mutant: Mutant = {
  name: "forget-commits",
  description: "forgets committed offsets across a restart",
  breaks: ["PW-GROUP-040"],
  implementation,
};
