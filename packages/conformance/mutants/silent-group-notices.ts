/**
 * Mutant: grants FEATURE_GROUP_NOTICE but never sends a GroupNotice, so
 * members learn of a rebalance only at their next heartbeat interval.
 * Breaks PW-GROUP-029.
 */
import { Broker } from "@polywire/broker";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";

export const implementation: BrokerImplementation = {
  name: "mutant silent-group-notices",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    const coordinator = broker.groups;
    // No member ever has news to be told about.
    if (coordinator !== undefined) coordinator.membersWithNews = () => [];
    return broker;
  },
};

export const mutant: Mutant = {
  name: "silent-group-notices",
  description: "grants FEATURE_GROUP_NOTICE but never sends a GroupNotice",
  breaks: ["PW-GROUP-029"],
  implementation,
};
