import { GroupState } from "@polywire/proto/admin";
import { Assignor } from "@polywire/proto/groups";
import { ErrorCode, Feature } from "@polywire/proto/session";
import { check, checkEqual, show } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { flatten, groupId, heartbeatFails, joinAll, Member, nextNotice, settle } from "./io.js";

const incremental: ConformanceCase = {
  id: "groups/incremental",
  title: "A new member gets no partition the old one still owns; the old one is first asked to revoke at its epoch, then advanced, and the freed partitions reach the new member; claims of partitions never given are ignored",
  plane: "groups",
  clauses: ["PW-GROUP-020", "PW-GROUP-021", "PW-GROUP-022", "PW-GROUP-024", "PW-GROUP-026", "PW-GROUP-004"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const topic = await ctx.topic(4);
    const all = [0, 1, 2, 3].map((p) => `${topic}:${p}`);
    const group = groupId(ctx, "incremental");
    const a = new Member(await ctx.connect(), group);
    await a.join([topic]);
    checkEqual("PW-GROUP-021", flatten(a.assigned).sort(), all, "the only member's assignment");
    const b = new Member(await ctx.connect(), group);
    await b.join([topic]);
    check("PW-GROUP-022", b.partitions().length === 0, `the new member was given ${show(b.partitions())} while the first still owns every partition`);
    // B heartbeats again before A has heard anything: still nothing of A's.
    await b.beat({ owned: { partitions: [] } });
    check("PW-GROUP-022", b.partitions().length === 0, `the new member was given ${show(b.partitions())} before the first released anything`);
    const epochA = a.epoch;
    // A heartbeats without owned: it releases nothing (PW-GROUP-004, PW-GROUP-026).
    await a.beat();
    const kept = a.partitions();
    check("PW-GROUP-020", kept.length === 2 && kept.every((p) => all.includes(p)), `the first member was asked to keep ${show(kept)} of four partitions`);
    checkEqual("PW-GROUP-020", a.epoch, epochA, "the member epoch in the response asking to revoke");
    await b.beat({ owned: { partitions: [] } });
    check("PW-GROUP-026", b.partitions().length === 0, `partitions went to the new member (${show(b.partitions())}) though the first member never reported releasing them`);
    // A reports the smaller set: it advances, and the freed partitions become B's at B's next heartbeat.
    await a.ack();
    check("PW-GROUP-021", a.epoch > epochA, `after releasing, the first member is at epoch ${a.epoch}, not above ${epochA}`);
    await b.ack();
    const freed = all.filter((p) => !kept.includes(p));
    checkEqual("PW-GROUP-024", b.partitions().sort(), freed, "the new member's assignment at its first heartbeat after the partitions were freed");
    // A claims B's partitions as owned: ignored, B keeps them and A is resent its real assignment.
    const claim = await a.beat({ owned: { partitions: [{ topic, partitions: [0, 1, 2, 3] }] } });
    check("PW-GROUP-026", claim.assignment !== undefined && flatten(claim.assignment.partitions).sort().join() === kept.sort().join(), `a member claiming partitions it was never given was answered ${show(claim.assignment)}`);
    await b.ack();
    checkEqual("PW-GROUP-026", b.partitions().sort(), freed, "the second member's assignment after the first claimed its partitions");
  },
};

const assignorChoice: ConformanceCase = {
  id: "groups/assignor-choice",
  title: "An unsupported assignor fails with UNSUPPORTED_ASSIGNOR; the group uses the assignor most members name, ties to the lowest value, taken from each heartbeat, and reports it",
  plane: "groups",
  clauses: ["PW-GROUP-030", "PW-GROUP-019", "PW-GROUP-003", "PW-GROUP-025"],
  features: [Feature.GROUPS],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(2);
    const group = groupId(ctx, "assignor");
    const session = await ctx.connect();
    await heartbeatFails(session, "PW-GROUP-030", { groupId: group, memberEpoch: 0, subscription: { topics: [topic] }, assignor: 99 as Assignor }, ErrorCode.UNSUPPORTED_ASSIGNOR, "a join naming assignor 99");
    const admin = ctx.target.admin;
    if (admin === undefined) return;
    const members = await joinAll(ctx, group, 1, [topic], { assignor: Assignor.ROUND_ROBIN });
    const describe = async (): Promise<{ assignor: Assignor; state: GroupState }> => admin.describeGroup(group);
    checkEqual("PW-GROUP-030", (await describe()).assignor, Assignor.ROUND_ROBIN, "the assignor of a group whose only member names ROUND_ROBIN");
    members.push(...(await joinAll(ctx, group, 1, [topic], { assignor: Assignor.RANGE })));
    // One each: the tie goes to the lower value, RANGE (1) before ROUND_ROBIN (2).
    checkEqual("PW-GROUP-030", (await describe()).assignor, Assignor.RANGE, "the assignor of a group with one RANGE and one ROUND_ROBIN member");
    members.push(...(await joinAll(ctx, group, 1, [topic])));
    // UNSPECIFIED means COOPERATIVE_STICKY (3): still one vote each, RANGE wins.
    checkEqual("PW-GROUP-030", (await describe()).assignor, Assignor.RANGE, "the assignor with RANGE, ROUND_ROBIN and an unspecified (cooperative-sticky) member");
    await settle(members);
    checkEqual("PW-GROUP-025", (await describe()).state, GroupState.STABLE, "the state of a group whose members all own their targets");
    check("PW-GROUP-003", new Set(members.map((m) => m.epoch)).size === 1, `members of a settled group are at different epochs: ${show(members.map((m) => m.epoch))}`);
    // The RANGE member heartbeats with ASSIGNOR_UNSPECIFIED: that is its choice from now on, two votes for cooperative-sticky.
    const ranged = members[1] as Member;
    const epoch = ranged.epoch;
    await ranged.beat({ assignor: Assignor.UNSPECIFIED });
    checkEqual("PW-GROUP-019", (await describe()).assignor, Assignor.COOPERATIVE_STICKY, "the group's assignor after the RANGE member heartbeat with ASSIGNOR_UNSPECIFIED");
    const groupEpoch = (await admin.describeGroup(group)).groupEpoch;
    check("PW-GROUP-030", groupEpoch > epoch, `the group epoch stayed ${groupEpoch} when the chosen assignor changed`);
  },
};

const notices: ConformanceCase = {
  id: "groups/notice",
  title: "With FEATURE_GROUP_NOTICE, a join tells the owner at once that it has partitions to revoke, once until it heartbeats, and a release tells the members waiting for the partitions",
  plane: "groups",
  clauses: ["PW-GROUP-029"],
  features: [Feature.GROUPS, Feature.GROUP_NOTICE],
  async run(ctx) {
    const topic = await ctx.topic(4);
    const group = groupId(ctx, "notice");
    const a = new Member(await ctx.connect(), group);
    await a.join([topic]);
    const b = new Member(await ctx.connect(), group);
    await b.join([topic]);
    // "As soon as": far less than any heartbeat interval a broker would give a member at rest.
    const toA = await nextNotice(a.session, 2_000);
    check("PW-GROUP-029", toA !== undefined, "no GroupNotice within 2 s for the member that must revoke partitions after another joined");
    check("PW-GROUP-029", toA?.groupId === group && toA.memberId === a.memberId, `the notice names group ${show(toA?.groupId)} member ${show(toA?.memberId)}, not the member's own`);
    const c = new Member(await ctx.connect(), group);
    await c.join([topic]);
    const again = await nextNotice(a.session, 500);
    check("PW-GROUP-029", again === undefined, "a second GroupNotice before the member heartbeat again");
    // A learns what to revoke and releases it: the partitions B and C wait for are free.
    await a.beat();
    await a.ack();
    for (const [name, m] of [["second", b], ["third", c]] as const) {
      const n = await nextNotice(m.session, 2_000);
      check("PW-GROUP-029", n?.memberId === m.memberId, `the ${name} member got ${n === undefined ? "no GroupNotice" : `a notice for ${show(n.memberId)}`} within 2 s of the partitions it waits for being released`);
    }
  },
};

/** §8.2 and the assignor choice of §8.3. */
export const reconciliationCases: readonly ConformanceCase[] = [incremental, assignorChoice, notices];
