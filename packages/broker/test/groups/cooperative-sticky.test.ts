import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { cooperativeStickyAssign, PartitionSet, type AssignorInput, type TargetAssignment } from "../../src/groups/index.js";
import { expectComplete, groupInput, input, isBalanced, owners, show } from "./assignor-fixtures.js";

/** Partitions that had a still-eligible owner in the previous target and now have another. */
function moves(group: AssignorInput, target: TargetAssignment): number {
  const now = owners(target);
  let moved = 0;
  for (const [id, set] of group.previous) {
    const member = group.members.find((m) => m.memberId === id);
    for (const { topic, partition } of set) {
      if (member === undefined || !member.topics.has(topic) || partition >= (group.partitionCounts.get(topic) ?? 0)) continue;
      if (now.get(`${topic}/${partition}`) !== id) moved++;
    }
  }
  return moved;
}

/**
 * The fewest moves any balanced target can make when every member has the
 * same Subscription: each member keeps what it can of its still-valid
 * previous partitions under a quota of floor(P/n), the P mod n members that
 * kept the most getting one more.
 */
function fewestMoves(group: AssignorInput): number {
  const topics = group.members[0]?.topics ?? new Set<string>();
  const total = [...topics].reduce((n, t) => n + (group.partitionCounts.get(t) ?? 0), 0);
  const n = group.members.length;
  const kept = group.members
    .map((m) => [...(group.previous.get(m.memberId) ?? [])].filter((tp) => topics.has(tp.topic) && tp.partition < (group.partitionCounts.get(tp.topic) ?? 0)).length)
    .sort((a, b) => b - a);
  return kept.reduce((sum, k, i) => sum + Math.max(0, k - (Math.floor(total / n) + (i < total % n ? 1 : 0))), 0);
}

function ten(prefix: string): string[] {
  return Array.from({ length: 10 }, (_, i) => `${prefix}${String(i).padStart(2, "0")}`);
}

describe("ASSIGNOR_COOPERATIVE_STICKY", () => {
  test("PW-GROUP-035: without a previous target, free partitions go in (topic, partition) order to the member with the fewest, ties by member id", () => {
    const target = cooperativeStickyAssign(input({ m2: ["t"], m0: ["t"], m1: ["t"] }, { t: 7 }));
    expect(show(target)).toEqual({ m0: ["t/0", "t/3", "t/6"], m1: ["t/1", "t/4"], m2: ["t/2", "t/5"] });
  });

  test("PW-GROUP-034, PW-GROUP-035: an 11th member joining 10 members over 32 partitions moves exactly 2 partitions, to the newcomer", () => {
    const before = cooperativeStickyAssign(input(Object.fromEntries(ten("m").map((id) => [id, ["t"]])), { t: 32 }));
    const previous = Object.fromEntries([...before].map(([id, set]) => [id, set.sorted().map((tp) => `t/${tp.partition}`)]));
    const group = input(Object.fromEntries([...ten("m"), "new"].map((id) => [id, ["t"]])), { t: 32 }, previous);
    const after = cooperativeStickyAssign(group);
    expect(moves(group, after)).toBe(2);
    expect(after.get("new")?.size).toBe(2);
    for (const id of ten("m")) expect(after.get(id)?.size).toBe(3);
  });

  test("PW-GROUP-035: a member leaving moves nothing else: its partitions go to the members with the fewest", () => {
    const group = input({ a: ["t"], b: ["t"], c: ["t"] }, { t: 6 }, { a: ["t/0", "t/1"], b: ["t/2", "t/3"], gone: ["t/4", "t/5"] });
    const after = cooperativeStickyAssign(group);
    expect(moves(group, after)).toBe(0);
    expect(show(after)).toEqual({ a: ["t/0", "t/1"], b: ["t/2", "t/3"], c: ["t/4", "t/5"] });
  });

  test("PW-GROUP-035: a partition of a topic its owner no longer subscribes to is free; step 3 moves the highest partition of the donor", () => {
    const group = input({ a: ["t"], b: ["t", "u"] }, { t: 4, u: 2 }, { a: ["t/0", "t/1", "t/2", "t/3", "u/0", "u/1"] });
    const after = cooperativeStickyAssign(group);
    // a no longer subscribes to u: u/0 and u/1 are free and go to b; then a=4, b=2, and t/3, a's highest, moves to b.
    expect(show(after)).toEqual({ a: ["t/0", "t/1", "t/2"], b: ["t/3", "u/0", "u/1"] });
    expect(moves(group, after)).toBe(1);
  });

  test("PW-GROUP-035: with different Subscriptions the steps are followed even where another balanced target would move less", () => {
    // m0: b only; m1: a, b; m2: a only. The previous owner of a/0..a/2 (m0) no longer subscribes to a.
    const group = input({ m0: ["b"], m1: ["a", "b"], m2: ["a"] }, { a: 3, b: 3 }, { m0: ["a/0", "a/1", "a/2", "b/1"], m1: ["b/0", "b/2"] });
    const after = cooperativeStickyAssign(group);
    // Step 2: a/0 -> m2, a/1 -> m2, a/2 -> m1 (tie at 2, member id order). Step 3: m1 has 3, m0 has 1: b/2 moves to m0.
    // Giving a/2 to m2 instead would have been balanced with no move; the clause fixes the steps so every broker agrees.
    expect(show(after)).toEqual({ m0: ["b/1", "b/2"], m1: ["a/2", "b/0"], m2: ["a/0", "a/1"] });
    expect(isBalanced(group, after)).toBe(true);
  });

  test("PW-GROUP-031, PW-GROUP-034: complete and balanced for any members, Subscriptions and previous target", () => {
    fc.assert(
      fc.property(groupInput(), (group) => {
        const target = cooperativeStickyAssign(group);
        expectComplete(group, target);
        expect(isBalanced(group, target)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test("PW-GROUP-034, PW-GROUP-035: with one Subscription every member gets floor(P/n) or ceil(P/n), and no balanced target moves fewer partitions", () => {
    fc.assert(
      fc.property(groupInput({ sameSubscription: true }), (group) => {
        const target = cooperativeStickyAssign(group);
        const total = [...(group.members[0]?.topics ?? [])].reduce((n, t) => n + (group.partitionCounts.get(t) ?? 0), 0);
        const n = group.members.length;
        for (const set of target.values()) expect([Math.floor(total / n), Math.ceil(total / n)]).toContain(set.size);
        expect(moves(group, target)).toBe(fewestMoves(group));
      }),
      { numRuns: 500 },
    );
  });

  test("PW-GROUP-035: a previous target that is still complete and balanced is kept exactly", () => {
    fc.assert(
      fc.property(groupInput(), (group) => {
        const first = cooperativeStickyAssign(group);
        const again = cooperativeStickyAssign({ ...group, previous: first });
        expect(show(again)).toEqual(show(first));
      }),
      { numRuns: 300 },
    );
  });

  test("PW-GROUP-031: deterministic whatever order the members are listed in", () => {
    fc.assert(
      fc.property(groupInput(), fc.infiniteStream(fc.nat()), (group, randoms) => {
        const it = randoms[Symbol.iterator]();
        const shuffled = [...group.members].sort(() => ((it.next().value as number) % 3) - 1);
        const previous = new Map([...group.previous].reverse().map(([id, set]) => [id, PartitionSet.of(set.sorted().reverse())]));
        expect(show(cooperativeStickyAssign({ ...group, members: shuffled, previous }))).toEqual(show(cooperativeStickyAssign(group)));
      }),
      { numRuns: 300 },
    );
  });
});
