/**
 * Mutant: accepts a member's commit whatever member epoch it carries, as a
 * broker that never fences commits would: a member that missed a rebalance
 * can overwrite the offsets of partitions it no longer owns. Breaks
 * PW-GROUP-041.
 */
import { Broker } from "@polywire/broker";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";

export const implementation: BrokerImplementation = {
  name: "mutant unfenced-commits",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    const coordinator = broker.groups;
    if (coordinator === undefined) return broker;
    const commit = coordinator.commit.bind(coordinator);
    coordinator.commit = (request, nowMs) => {
      const member = coordinator.describe(request.groupId)?.memberViews.find((m) => m.memberId === request.memberId);
      // The epoch the request carries is replaced by the member's current one: never stale, never fenced.
      return commit(member === undefined ? request : { ...request, memberEpoch: member.memberEpoch }, nowMs);
    };
    return broker;
  },
};

export const mutant: Mutant = {
  name: "unfenced-commits",
  description: "accepts commits with a stale or future member epoch",
  breaks: ["PW-GROUP-041"],
  implementation,
};
