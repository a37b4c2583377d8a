import { emptyTarget, membersInOrder, subscribedTopics, type AssignorInput, type TargetAssignment } from "./types.js";

/**
 * ASSIGNOR_ROUND_ROBIN (PW-GROUP-033): every subscribed partition in (topic
 * as bytes, partition) order, dealt around the ring of members in member id
 * order; each goes to the first member at or after the cursor subscribed to
 * its topic, and the cursor moves to the member after that one.
 */
export function roundRobinAssign(input: AssignorInput): TargetAssignment {
  const target = emptyTarget(input.members);
  const ring = membersInOrder(input.members);
  let cursor = 0;
  for (const topic of subscribedTopics(input)) {
    const p = input.partitionCounts.get(topic) ?? 0;
    for (let partition = 0; partition < p; partition++) {
      // A subscribed topic has a subscriber, so one turn of the ring finds it.
      for (let step = 0; step < ring.length; step++) {
        const i = (cursor + step) % ring.length;
        const member = ring[i];
        if (member?.topics.has(topic) === true) {
          target.get(member.memberId)?.add(topic, partition);
          cursor = (i + 1) % ring.length;
          break;
        }
      }
    }
  }
  return target;
}
