/**
 * Mutant: hands every member its whole target at once, without waiting for
 * the previous owner to report a partition released (an eager rebalance):
 * for a while two members own the same partition. Breaks PW-GROUP-022 (and
 * with it PW-GROUP-020, PW-GROUP-026).
 */
import { create } from "@bufbuild/protobuf";
import { Broker } from "@polywire/broker";
import { AssignmentSchema } from "@polywire/proto/groups";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";

export const implementation: BrokerImplementation = {
  name: "mutant eager-assignment",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const broker = await Broker.start(options);
    const coordinator = broker.groups;
    if (coordinator === undefined) return broker;
    const heartbeat = coordinator.heartbeat.bind(coordinator);
    // What each member was last sent, so an unchanged target is not resent (PW-GROUP-013 stays as it was).
    const sent = new Map<string, string>();
    coordinator.heartbeat = (request, nowMs, clientId) => {
      const outcome = heartbeat(request, nowMs, clientId);
      if (!outcome.ok || outcome.value.memberEpoch <= 0) return outcome;
      const view = coordinator.describe(request.groupId)?.memberViews.find((m) => m.memberId === outcome.value.memberId);
      if (view === undefined) return outcome;
      const target = view.target.toWire();
      const key = `${request.groupId}\u0000${view.memberId}`;
      if (outcome.value.assignment === undefined && sent.get(key) === JSON.stringify(target)) return outcome;
      sent.set(key, JSON.stringify(target));
      return { ok: true, value: { ...outcome.value, assignment: create(AssignmentSchema, { partitions: target }) } };
    };
    return broker;
  },
};

export const mutant: Mutant = {
  name: "eager-assignment",
  description: "gives a partition to its new owner before the old one released it",
  breaks: ["PW-GROUP-022", "PW-GROUP-020", "PW-GROUP-026"],
  implementation,
};
