import { Assignor } from "@polywire/proto/groups";
import { Feature } from "@polywire/proto/session";
import { check, checkEqual, show } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { groupId, joinAll, settle, type Member } from "./io.js";

/** Members in `member_id` order, compared as bytes (PW-GROUP-031). */
function byId(members: readonly Member[]): Member[] {
  return [...members].sort((a, b) => Buffer.compare(Buffer.from(a.memberId), Buffer.from(b.memberId)));
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const range: ConformanceCase = {
  id: "groups/range",
  title: "ASSIGNOR_RANGE gives each member, in member id order, a contiguous range of floor(p/n) partitions plus one for the first p mod n, topic by topic",
  plane: "groups",
  clauses: ["PW-GROUP-032", "PW-GROUP-031"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const seven = await ctx.topic(7);
    const two = await ctx.topic(2);
    const members = byId(await joinAll(ctx, groupId(ctx, "range"), 3, [seven, two], { assignor: Assignor.RANGE }));
    await settle(members);
    const expected = [[`${seven}:0`, `${seven}:1`, `${seven}:2`, `${two}:0`], [`${seven}:3`, `${seven}:4`, `${two}:1`], [`${seven}:5`, `${seven}:6`]];
    members.forEach((m, i) => {
      checkEqual("PW-GROUP-032", m.partitions().sort(byteOrder), (expected[i] as string[]).sort(byteOrder), `the range assignment of member ${i} of 3 in member id order (7 and 2 partitions)`);
    });
  },
};

const roundRobin: ConformanceCase = {
  id: "groups/round-robin",
  title: "ASSIGNOR_ROUND_ROBIN deals the partitions, ordered by topic then partition, to the members in member id order as a ring, skipping members not subscribed to the topic",
  plane: "groups",
  clauses: ["PW-GROUP-033", "PW-GROUP-031"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const [first, second] = [await ctx.topic(3), await ctx.topic(2)].sort(byteOrder) as [string, string];
    const group = groupId(ctx, "round-robin");
    const members = byId(await joinAll(ctx, group, 3, [first, second], { assignor: Assignor.ROUND_ROBIN }));
    // The last member in id order subscribes to the first topic only: it is skipped for the second.
    const last = members[2] as Member;
    await last.beat({ subscription: { topics: [first] } });
    await settle(members);
    // first: 0→m0 1→m1 2→m2; second: 0→m0 (cursor after m2 wraps), 1→m1.
    const expected = [[`${first}:0`, `${second}:0`], [`${first}:1`, `${second}:1`], [`${first}:2`]];
    members.forEach((m, i) => checkEqual("PW-GROUP-033", m.partitions().sort(byteOrder), (expected[i] as string[]).sort(byteOrder), `the round-robin assignment of member ${i} in member id order`));
  },
};

const sticky: ConformanceCase = {
  id: "groups/cooperative-sticky",
  title: "ASSIGNOR_COOPERATIVE_STICKY is balanced and sticky: a third member takes exactly the highest partition of each of the two others",
  plane: "groups",
  clauses: ["PW-GROUP-034", "PW-GROUP-035", "PW-GROUP-031"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const topic = await ctx.topic(6);
    const group = groupId(ctx, "sticky");
    const two = await joinAll(ctx, group, 2, [topic]);
    await settle(two);
    const before = two.map((m) => m.partitions().sort());
    check("PW-GROUP-034", before.every((p) => p.length === 3), `two members of a 6-partition topic hold ${show(before)}`);
    const third = await joinAll(ctx, group, 1, [topic]);
    const all = [...two, ...third];
    await settle(all);
    const after = all.map((m) => m.partitions().sort());
    check("PW-GROUP-034", after.every((p) => p.length === 2), `three members of a 6-partition topic hold ${show(after)}`);
    two.forEach((m, i) => {
      const prior = before[i] as string[];
      const highest = prior.reduce((x, y) => (Number(x.split(":").pop()) > Number(y.split(":").pop()) ? x : y));
      checkEqual("PW-GROUP-035", after[i], prior.filter((p) => p !== highest).sort(), `member ${i}'s partitions after a third joined (it held ${show(prior)})`);
    });
  },
};

/** §8.3: the assignors, exactly. */
export const assignorCases: readonly ConformanceCase[] = [range, roundRobin, sticky];
