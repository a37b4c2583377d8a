import { emptyTarget, membersInOrder, subscribedTopics, type AssignorInput, type TargetAssignment } from "./types.js";

/**
 * ASSIGNOR_RANGE (PW-GROUP-032): per topic, the n subscribed members in
 * member id order; the member at index i gets floor(p/n) partitions plus one
 * if i < p mod n, as a contiguous range, index 0 getting the lowest.
 */
export function rangeAssign(input: AssignorInput): TargetAssignment {
  const target = emptyTarget(input.members);
  const ordered = membersInOrder(input.members);
  for (const topic of subscribedTopics(input)) {
    const p = input.partitionCounts.get(topic) ?? 0;
    const subscribers = ordered.filter((m) => m.topics.has(topic));
    const n = subscribers.length;
    const base = Math.floor(p / n);
    const extra = p % n;
    let next = 0;
    subscribers.forEach((member, i) => {
      const count = base + (i < extra ? 1 : 0);
      const set = target.get(member.memberId);
      for (let k = 0; k < count; k++) set?.add(topic, next + k);
      next += count;
    });
  }
  return target;
}
