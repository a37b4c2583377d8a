import { ErrorCode, Feature } from "@polywire/proto/session";
import { check, checkEqual, show } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { expectServing } from "../expect.js";
import { checkOrdered, flatten, groupId, heartbeat, heartbeatFails, Member } from "./io.js";

const join: ConformanceCase = {
  id: "groups/join",
  title: "A join creates the group and answers a member id, a positive epoch, a heartbeat interval and the whole assignment, ordered; an unchanged heartbeat carries no assignment; malformed heartbeats fail as a whole with Error frames",
  plane: "groups",
  clauses: ["PW-GROUP-001", "PW-GROUP-002", "PW-GROUP-013", "PW-GROUP-014", "PW-GROUP-015", "PW-GROUP-016", "PW-GROUP-018"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const a = await ctx.topic(3);
    const b = await ctx.topic(2);
    const session = await ctx.connect();
    const group = groupId(ctx, "join");
    const m = new Member(session, group);
    // Topics listed out of order, and one that does not exist (PW-GROUP-014).
    await m.join([b, `${a}-nothing`, a]);
    checkOrdered(m.assigned, "the join's assignment");
    checkEqual("PW-GROUP-002", flatten(m.assigned).sort(), [`${a}:0`, `${a}:1`, `${a}:2`, `${b}:0`, `${b}:1`].sort(), "the first member's assignment: every partition of its subscribed topics");
    const again = await m.beat();
    check("PW-GROUP-013", again.assignment === undefined, `a heartbeat with nothing changed carries an assignment: ${show(again.assignment)}`);
    checkEqual("PW-GROUP-013", again.memberId, m.memberId, "member_id of the next heartbeat");

    const other = new Member(await ctx.connect(), group);
    await other.join([a]);
    check("PW-GROUP-002", other.memberId !== m.memberId, "two members of one group got the same member_id");

    await heartbeatFails(session, "PW-GROUP-001", { groupId: "", memberEpoch: 0, subscription: { topics: [a] } }, ErrorCode.INVALID_ARGUMENT, "a join with an empty group_id");
    await heartbeatFails(session, "PW-GROUP-002", { groupId: group, memberEpoch: 0 }, ErrorCode.INVALID_ARGUMENT, "a join without a subscription");
    await heartbeatFails(session, "PW-GROUP-002", { groupId: group, memberEpoch: 0, subscription: { topics: [] } }, ErrorCode.INVALID_ARGUMENT, "a join with an empty topic list");
    await heartbeatFails(session, "PW-GROUP-014", { groupId: group, memberEpoch: 0, subscription: { topics: ["bad/name"] } }, ErrorCode.INVALID_TOPIC, "a join subscribing to a malformed topic name");
    await heartbeatFails(session, "PW-GROUP-018", { groupId: group, memberEpoch: -3, memberId: m.memberId }, ErrorCode.INVALID_ARGUMENT, "a heartbeat with member_epoch -3");
    await heartbeatFails(session, "PW-GROUP-018", { groupId: group, memberEpoch: 0, memberId: "someone", subscription: { topics: [a] } }, ErrorCode.INVALID_ARGUMENT, "a join with a member_id");
    await heartbeatFails(session, "PW-GROUP-018", { groupId: group, memberEpoch: m.epoch, memberId: m.memberId, instanceId: "not-mine" }, ErrorCode.INVALID_ARGUMENT, "a heartbeat whose instance_id differs from the join's");
    await heartbeatFails(session, "PW-GROUP-015", { groupId: group, memberEpoch: m.epoch, memberId: m.memberId, owned: { partitions: [{ topic: a, partitions: [0, 0] }] } }, ErrorCode.INVALID_ARGUMENT, "owned naming a partition twice");
    await heartbeatFails(session, "PW-GROUP-015", { groupId: group, memberEpoch: m.epoch, memberId: m.memberId, owned: { partitions: [{ topic: a, partitions: [0] }, { topic: a, partitions: [1] }] } }, ErrorCode.INVALID_ARGUMENT, "owned naming a topic twice");
    await expectServing(session, "PW-GROUP-016", "after heartbeats that failed as a whole");
    // The member is still there after its own malformed requests.
    await m.beat();
  },
};

const leave: ConformanceCase = {
  id: "groups/leave",
  title: "A member that leaves with -1 is answered -1 and its partitions go to the others at a new epoch; an unknown member id fails with UNKNOWN_MEMBER_ID",
  plane: "groups",
  clauses: ["PW-GROUP-003", "PW-GROUP-006", "PW-GROUP-009"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const topic = await ctx.topic(4);
    const group = groupId(ctx, "leave");
    const a = new Member(await ctx.connect(), group);
    await a.join([topic]);
    const b = new Member(await ctx.connect(), group);
    await b.join([topic]);
    // Let them share the partitions.
    for (let i = 0; i < 4; i++) {
      await a.ack();
      await b.ack();
    }
    check("PW-GROUP-003", b.partitions().length > 0 && a.partitions().length > 0, `two members of a 4-partition topic: ${show(a.partitions())} and ${show(b.partitions())}`);
    const before = b.epoch;
    const left = await heartbeat(a.session, { groupId: group, memberId: a.memberId, memberEpoch: -1 });
    checkEqual("PW-GROUP-006", left.memberEpoch, -1, "member_epoch of the answer to a leave");
    await b.ack();
    check("PW-GROUP-003", b.epoch > before, `the member that stayed is at epoch ${b.epoch}, as before the other left (${before})`);
    checkEqual("PW-GROUP-006", b.partitions().sort(), [0, 1, 2, 3].map((p) => `${topic}:${p}`).sort(), "the remaining member's assignment after the other left");
    await heartbeatFails(a.session, "PW-GROUP-009", { groupId: group, memberId: a.memberId, memberEpoch: a.epoch }, ErrorCode.UNKNOWN_MEMBER_ID, "a heartbeat of the member that left");
    await heartbeatFails(a.session, "PW-GROUP-009", { groupId: group, memberId: "never-joined", memberEpoch: 1 }, ErrorCode.UNKNOWN_MEMBER_ID, "a heartbeat of a member id the group never gave");
    await heartbeatFails(a.session, "PW-GROUP-009", { groupId: group, memberId: "", memberEpoch: 4 }, ErrorCode.UNKNOWN_MEMBER_ID, "a heartbeat with epoch 4 and no member_id");
  },
};

const fencing: ConformanceCase = {
  id: "groups/fencing",
  title: "A heartbeat at the member's previous epoch with owned inside its assignment is accepted and resent the assignment; any other epoch fails with FENCED_MEMBER_EPOCH and removes the member",
  plane: "groups",
  clauses: ["PW-GROUP-010", "PW-GROUP-013", "PW-GROUP-003"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const topic = await ctx.topic(2);
    const group = groupId(ctx, "fencing");
    const a = new Member(await ctx.connect(), group);
    await a.join([topic]);
    const first = a.epoch;
    const b = new Member(await ctx.connect(), group);
    await b.join([topic]);
    // A gives up one partition and reaches the new epoch.
    for (let i = 0; i < 3 && a.epoch === first; i++) await a.ack();
    check("PW-GROUP-010", a.epoch > first, `member epoch stayed ${first} after the group grew and the member released what it was asked to`);
    // As if A missed that response: its previous epoch, owned within its assignment.
    const missed = await heartbeat(a.session, { groupId: group, memberId: a.memberId, memberEpoch: first, owned: { partitions: a.assigned.map((l) => ({ topic: l.topic, partitions: [...l.partitions] })) } });
    checkEqual("PW-GROUP-010", missed.memberEpoch, a.epoch, "epoch answered to a heartbeat at the previous epoch");
    check("PW-GROUP-013", missed.assignment !== undefined, "a heartbeat at the previous epoch is answered without the assignment");
    await heartbeatFails(a.session, "PW-GROUP-010", { groupId: group, memberId: a.memberId, memberEpoch: a.epoch + 5 }, ErrorCode.FENCED_MEMBER_EPOCH, "a heartbeat at an epoch the member never had");
    await heartbeatFails(a.session, "PW-GROUP-010", { groupId: group, memberId: a.memberId, memberEpoch: a.epoch }, ErrorCode.UNKNOWN_MEMBER_ID, "a heartbeat of the fenced member (it was removed)");
    // Its partitions are free at once: B gets both.
    await b.ack();
    await b.ack();
    checkEqual("PW-GROUP-010", b.partitions().sort(), [`${topic}:0`, `${topic}:1`], "the other member's assignment once the fenced member was removed");
  },
};

const staticMembers: ConformanceCase = {
  id: "groups/static-members",
  title: "A static member that leaves with -2 keeps its assignment reserved without a new group epoch and comes back with its member id; an active instance id cannot join twice",
  plane: "groups",
  clauses: ["PW-GROUP-007", "PW-GROUP-008"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const topic = await ctx.topic(4);
    const group = groupId(ctx, "static");
    const s = new Member(await ctx.connect(), group);
    await s.join([topic], { instanceId: "instance-1" });
    const o = new Member(await ctx.connect(), group);
    await o.join([topic]);
    for (let i = 0; i < 4; i++) {
      await s.ack({ instanceId: "instance-1" });
      await o.ack();
    }
    const reserved = s.partitions().sort();
    check("PW-GROUP-007", reserved.length === 2, `the static member holds ${show(reserved)} of 4 partitions shared with another member`);
    await heartbeatFails(o.session, "PW-GROUP-008", { groupId: group, memberEpoch: 0, instanceId: "instance-1", subscription: { topics: [topic] } }, ErrorCode.UNRELEASED_INSTANCE_ID, "a join with the instance_id of an active member");
    await heartbeatFails(s.session, "PW-GROUP-007", { groupId: group, memberId: s.memberId, memberEpoch: -2 }, ErrorCode.INVALID_ARGUMENT, "member_epoch -2 without an instance_id");
    const away = await heartbeat(s.session, { groupId: group, memberId: s.memberId, memberEpoch: -2, instanceId: "instance-1" });
    checkEqual("PW-GROUP-007", away.memberEpoch, -2, "member_epoch answered to a temporary leave");
    const epochBefore = o.epoch;
    await o.ack();
    checkEqual("PW-GROUP-007", [o.epoch, o.partitions().length], [epochBefore, 2], "the other member's epoch and partition count while the static member is away");
    const back = new Member(await ctx.connect(), group);
    await back.join([topic], { instanceId: "instance-1" });
    checkEqual("PW-GROUP-008", back.memberId, s.memberId, "member_id of the static member that came back");
    checkEqual("PW-GROUP-008", back.partitions().sort(), reserved, "assignment of the static member that came back");
    await o.ack();
    checkEqual("PW-GROUP-008", o.epoch, epochBefore, "the group epoch after the static member came back (no rebalance)");
  },
};

/** §8.1: membership and epochs. */
export const membershipCases: readonly ConformanceCase[] = [join, leave, fencing, staticMembers];
