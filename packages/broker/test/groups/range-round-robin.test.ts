import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Assignor } from "@polywire/proto/groups";
import { chooseAssignor, rangeAssign, resolveAssignor, roundRobinAssign } from "../../src/groups/index.js";
import { expectComplete, groupInput, input, show } from "./assignor-fixtures.js";

describe("ASSIGNOR_RANGE", () => {
  test("PW-GROUP-032: 7 partitions over 3 members are 3, 2, 2 in member id order, contiguous, index 0 lowest", () => {
    // Inserted out of order: the member id order decides, not the order given.
    const target = rangeAssign(input({ m2: ["t"], m0: ["t"], m1: ["t"] }, { t: 7 }));
    expect(show(target)).toEqual({ m0: ["t/0", "t/1", "t/2"], m1: ["t/3", "t/4"], m2: ["t/5", "t/6"] });
  });

  test("PW-GROUP-032: each topic separately, among its own subscribers; fewer partitions than members leaves the last ones empty", () => {
    const target = rangeAssign(input({ a: ["x", "y"], b: ["y"], c: ["x", "y"] }, { x: 5, y: 2 }));
    // x: a, c (5 = 3 + 2); y: a, b, c (2 = 1 + 1 + 0).
    expect(show(target)).toEqual({ a: ["x/0", "x/1", "x/2", "y/0"], b: ["y/1"], c: ["x/3", "x/4"] });
  });

  test("PW-GROUP-031: member ids are ordered as bytes, not as UTF-16 code units", () => {
    // U+FF5E sorts before U+1F600 as bytes but after it as UTF-16.
    const target = rangeAssign(input({ "\u{1F600}": ["t"], "\uFF5E": ["t"] }, { t: 3 }));
    expect(show(target)).toEqual({ "\uFF5E": ["t/0", "t/1"], "\u{1F600}": ["t/2"] });
  });

  test("PW-GROUP-014: a subscribed topic that does not exist contributes no partitions", () => {
    expect(show(rangeAssign(input({ a: ["missing"], b: ["t"] }, { t: 2 })))).toEqual({ a: [], b: ["t/0", "t/1"] });
  });

  test("PW-GROUP-031, PW-GROUP-032: complete, and per topic each subscriber gets floor(p/n) or one more, the extra ones first, as contiguous ranges", () => {
    fc.assert(
      fc.property(groupInput(), (group) => {
        const target = rangeAssign(group);
        expectComplete(group, target);
        const ordered = [...group.members].sort((x, y) => (x.memberId < y.memberId ? -1 : 1));
        for (const [topic, p] of group.partitionCounts) {
          const subs = ordered.filter((m) => m.topics.has(topic));
          let next = 0;
          subs.forEach((m, i) => {
            const mine = [...(target.get(m.memberId)?.partitionsOf(topic) ?? [])].sort((x, y) => x - y);
            const want = Math.floor(p / subs.length) + (i < p % subs.length ? 1 : 0);
            expect(mine).toEqual(Array.from({ length: want }, (_, k) => next + k));
            next += want;
          });
        }
      }),
    );
  });
});

describe("ASSIGNOR_ROUND_ROBIN", () => {
  test("PW-GROUP-033: identical subscriptions deal partitions (topic then partition) around the ring", () => {
    const target = roundRobinAssign(input({ m1: ["a", "b"], m0: ["a", "b"], m2: ["a", "b"] }, { a: 4, b: 3 }));
    // Order a/0 a/1 a/2 a/3 b/0 b/1 b/2 dealt to m0 m1 m2 m0 m1 m2 m0.
    expect(show(target)).toEqual({ m0: ["a/0", "a/3", "b/2"], m1: ["a/1", "b/0"], m2: ["a/2", "b/1"] });
  });

  test("PW-GROUP-033: a member not subscribed to a partition's topic is skipped, and the cursor moves past the member that took it", () => {
    // a: m0, m2; b: m1, m2.
    const target = roundRobinAssign(input({ m0: ["a"], m1: ["b"], m2: ["a", "b"] }, { a: 3, b: 3 }));
    // a/0: cursor m0 -> m0, cursor m1. a/1: m1 skipped -> m2, cursor m0. a/2: m0, cursor m1.
    // b/0: m1, cursor m2. b/1: m2, cursor m0. b/2: m0 skipped -> m1.
    expect(show(target)).toEqual({ m0: ["a/0", "a/2"], m1: ["b/0", "b/2"], m2: ["a/1", "b/1"] });
  });

  test("PW-GROUP-033: topics are ordered as bytes ('B' before 'a')", () => {
    const target = roundRobinAssign(input({ m0: ["a", "B"], m1: ["a", "B"] }, { a: 1, B: 1 }));
    expect(show(target)).toEqual({ m0: ["B/0"], m1: ["a/0"] });
  });

  test("PW-GROUP-031, PW-GROUP-033: complete; with one subscription, the member at index i gets the partitions at positions i, i+n, ...", () => {
    fc.assert(
      fc.property(groupInput({ sameSubscription: true }), (group) => {
        const target = roundRobinAssign(group);
        expectComplete(group, target);
        const ordered = [...group.members].map((m) => m.memberId).sort();
        const topics = [...(group.members[0]?.topics ?? [])].sort();
        const all = topics.flatMap((t) => Array.from({ length: group.partitionCounts.get(t) ?? 0 }, (_, p) => `${t}/${p}`));
        ordered.forEach((id, i) => {
          expect(show(target)[id]).toEqual(all.filter((_, k) => k % ordered.length === i));
        });
      }),
    );
  });
});

describe("assignor choice", () => {
  test("PW-GROUP-030: ASSIGNOR_UNSPECIFIED means cooperative-sticky; values the broker does not know are unsupported", () => {
    expect(resolveAssignor(Assignor.UNSPECIFIED)).toBe(Assignor.COOPERATIVE_STICKY);
    expect(resolveAssignor(Assignor.RANGE)).toBe(Assignor.RANGE);
    expect(resolveAssignor(Assignor.ROUND_ROBIN)).toBe(Assignor.ROUND_ROBIN);
    expect(resolveAssignor(4)).toBeNull();
    expect(resolveAssignor(-1)).toBeNull();
  });

  test("PW-GROUP-030: the assignor named by the most members wins, ties to the lowest enum value", () => {
    expect(chooseAssignor([Assignor.RANGE, Assignor.COOPERATIVE_STICKY, Assignor.COOPERATIVE_STICKY])).toBe(Assignor.COOPERATIVE_STICKY);
    expect(chooseAssignor([Assignor.COOPERATIVE_STICKY, Assignor.ROUND_ROBIN])).toBe(Assignor.ROUND_ROBIN);
    expect(chooseAssignor([Assignor.ROUND_ROBIN, Assignor.RANGE, Assignor.COOPERATIVE_STICKY])).toBe(Assignor.RANGE);
    expect(chooseAssignor([])).toBe(Assignor.COOPERATIVE_STICKY);
  });
});
