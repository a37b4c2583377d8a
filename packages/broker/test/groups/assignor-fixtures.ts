import fc from "fast-check";
import { PartitionSet, type AssignorInput, type AssignorMember, type TargetAssignment } from "../../src/groups/index.js";

/** Members named by id, each with its topics. */
export function members(spec: Record<string, readonly string[]>): AssignorMember[] {
  return Object.entries(spec).map(([memberId, topics]) => ({ memberId, topics: new Set(topics) }));
}

export function input(spec: Record<string, readonly string[]>, counts: Record<string, number>, previous: Record<string, readonly string[]> = {}): AssignorInput {
  return { members: members(spec), partitionCounts: new Map(Object.entries(counts)), previous: new Map(Object.entries(previous).map(([id, tps]) => [id, parse(tps)])) };
}

/** "topic/partition" strings to a set. */
export function parse(tps: readonly string[]): PartitionSet {
  return PartitionSet.of(
    tps.map((tp) => {
      const at = tp.lastIndexOf("/");
      return { topic: tp.slice(0, at), partition: Number(tp.slice(at + 1)) };
    }),
  );
}

/** A target as member id → sorted "topic/partition" strings, for toEqual. */
export function show(target: TargetAssignment): Record<string, string[]> {
  return Object.fromEntries([...target].map(([id, set]) => [id, set.sorted().map((tp) => `${tp.topic}/${tp.partition}`)]));
}

/** Partition → owner, checking on the way that no partition has two owners. */
export function owners(target: TargetAssignment): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, set] of target) {
    for (const { topic, partition } of set) {
      const key = `${topic}/${partition}`;
      if (out.has(key)) throw new Error(`${key} assigned to ${out.get(key)} and ${id}`);
      out.set(key, id);
    }
  }
  return out;
}

/** PW-GROUP-031: each partition of each subscribed topic goes to exactly one subscribed member. */
export function expectComplete(input: AssignorInput, target: TargetAssignment): void {
  const byId = new Map(input.members.map((m) => [m.memberId, m]));
  const owner = owners(target);
  if ([...target.keys()].sort().join() !== [...byId.keys()].sort().join()) throw new Error("target does not list every member exactly");
  let expected = 0;
  for (const [topic, count] of input.partitionCounts) {
    if (!input.members.some((m) => m.topics.has(topic))) continue;
    for (let p = 0; p < count; p++) {
      expected++;
      const id = owner.get(`${topic}/${p}`);
      if (id === undefined) throw new Error(`${topic}/${p} is unassigned`);
      if (!(byId.get(id)?.topics.has(topic) ?? false)) throw new Error(`${topic}/${p} went to ${id}, which does not subscribe to ${topic}`);
    }
  }
  if (owner.size !== expected) throw new Error(`${owner.size - expected} partitions assigned that nobody subscribes to or that do not exist`);
}

/** PW-GROUP-034: no partition can move to an eligible member with at least two fewer partitions. */
export function isBalanced(input: AssignorInput, target: TargetAssignment): boolean {
  const count = (id: string): number => target.get(id)?.size ?? 0;
  for (const [id, set] of target) {
    for (const topic of set.topics()) {
      for (const m of input.members) if (m.topics.has(topic) && count(m.memberId) <= count(id) - 2) return false;
    }
  }
  return true;
}

const TOPICS = ["a", "b", "c"] as const;

/**
 * Random groups: up to 7 members with ids that sort differently as bytes and
 * by insertion, subsets of three topics, up to 12 partitions per topic, and a
 * previous target made of arbitrary (possibly stale) claims.
 */
export const groupInput = (options: { sameSubscription?: boolean } = {}): fc.Arbitrary<AssignorInput> =>
  fc
    .record({
      ids: fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9-]{1,6}$/), { minLength: 1, maxLength: 7 }),
      subscriptions: fc.array(fc.subarray([...TOPICS], { minLength: 1 }), { minLength: 7, maxLength: 7 }),
      counts: fc.tuple(fc.nat({ max: 12 }), fc.nat({ max: 12 }), fc.nat({ max: 12 })),
      claims: fc.array(fc.tuple(fc.nat({ max: 7 }), fc.constantFrom(...TOPICS), fc.nat({ max: 14 })), { maxLength: 40 }),
    })
    .map(({ ids, subscriptions, counts, claims }) => {
      const list = ids.map((memberId, i) => ({ memberId, topics: new Set(options.sameSubscription === true ? subscriptions[0] : subscriptions[i]) }));
      const previous = new Map<string, PartitionSet>();
      const claimed = new Set<string>();
      for (const [who, topic, partition] of claims) {
        // Index 7 stands for a member that has left; claims stay disjoint, as the broker's targets are.
        const id = ids[who] ?? "gone";
        if (claimed.has(`${topic}/${partition}`)) continue;
        claimed.add(`${topic}/${partition}`);
        if (!previous.has(id)) previous.set(id, new PartitionSet());
        previous.get(id)?.add(topic, partition);
      }
      return { members: list, partitionCounts: new Map(TOPICS.map((t, i) => [t, counts[i] ?? 0])), previous };
    });
