import { ConnectError, Code } from "@connectrpc/connect";
import { GroupState, ResetTarget } from "@polywire/proto/admin";
import { Acks } from "@polywire/proto/log";
import { Feature, FrameKind } from "@polywire/proto/session";
import { ClauseViolation, check, checkEqual, show } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { produce } from "../log/io.js";
import { utf8 } from "../log/records.js";
import { groupId, heartbeat, Member } from "./io.js";

/** Awaits an admin call that must fail with `code`, and whose message names `errorCode` when given. */
async function adminFails(clause: string, call: Promise<unknown>, code: Code, what: string, errorCode?: string): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    check(clause, error.code === code, `${what}: expected ${Code[code]}, got ${Code[error.code]} (${error.rawMessage})`);
    if (errorCode !== undefined) check(clause, error.rawMessage.includes(`ERROR_CODE_${errorCode}`), `${what}: the message ${show(error.rawMessage)} does not name ERROR_CODE_${errorCode}`);
    return;
  }
  throw new ClauseViolation(clause, `${what}: expected ${Code[code]}, but the call succeeded`);
}

const groupAdmin: ConformanceCase = {
  id: "groups/admin",
  title: "GroupService lists and describes groups with their state, members and lag, resets the offsets of empty groups only, and deletes them; a deleted group's id is free again",
  plane: "groups",
  clauses: ["PW-ADMIN-030", "PW-ADMIN-031", "PW-ADMIN-032", "PW-ADMIN-033", "PW-ADMIN-034", "PW-ADMIN-035", "PW-GROUP-025", "PW-GROUP-027"],
  features: [Feature.GROUPS],
  needs: ["admin"],
  async run(ctx) {
    const admin = ctx.target.admin;
    if (admin === undefined) return;
    const topic = await ctx.topic(2);
    const session = await ctx.connect();
    await produce(session, topic, 0, Array.from({ length: 5 }, (_, i) => ({ key: null, value: utf8(`r${i}`), headers: [], typeId: 0n, timestamp: 1_000n + BigInt(i) })), { acks: Acks.ALL });
    const group = groupId(ctx, "admin");
    const m = new Member(await ctx.connect(), group);
    await m.join([topic]);
    await session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: group, memberId: m.memberId, memberEpoch: m.epoch, offsets: [{ topic, partition: 0, offset: 2n }] });

    const listed = (await admin.listGroups()).find((g) => g.groupId === group);
    checkEqual("PW-ADMIN-030", listed === undefined ? undefined : [listed.state, listed.members], [GroupState.STABLE, 1], "the group's summary");
    const all = (await admin.listGroups()).map((g) => g.groupId);
    check("PW-ADMIN-030", all.every((id, i) => i === 0 || Buffer.compare(Buffer.from(all[i - 1] as string), Buffer.from(id)) < 0), `ListGroups is not ordered by group id: ${show(all)}`);
    const described = await admin.describeGroup(group);
    checkEqual("PW-ADMIN-031", [described.groupId, described.state, described.groupEpoch, described.members.map((x) => [x.memberId, x.memberEpoch, x.subscribedTopics])], [group, GroupState.STABLE, m.epoch, [[m.memberId, m.epoch, [topic]]]], "DescribeGroup of a one-member group");
    checkEqual("PW-ADMIN-032", described.lag.map((l) => [l.topic, l.partition, l.committedOffset, l.highWatermark, l.lag, l.memberId]), [[topic, 0, 2n, 5n, 3n, m.memberId], [topic, 1, -1n, 0n, -1n, m.memberId]], "PartitionLag of each subscribed partition");
    await adminFails("PW-ADMIN-031", admin.describeGroup(groupId(ctx, "never")), Code.NotFound, "DescribeGroup of a group that does not exist");
    await adminFails("PW-ADMIN-033", admin.resetGroupOffsets({ groupId: group, target: ResetTarget.EARLIEST }), Code.FailedPrecondition, "ResetGroupOffsets of a group with a member", "GROUP_NOT_EMPTY");
    await adminFails("PW-ADMIN-035", admin.deleteGroup(group), Code.FailedPrecondition, "DeleteGroup of a group with a member", "GROUP_NOT_EMPTY");

    await heartbeat(m.session, { groupId: group, memberId: m.memberId, memberEpoch: -1 });
    checkEqual("PW-GROUP-025", (await admin.describeGroup(group)).state, GroupState.EMPTY, "the state of a group without members");
    await adminFails("PW-ADMIN-033", admin.resetGroupOffsets({ groupId: group, target: ResetTarget.UNSPECIFIED }), Code.InvalidArgument, "ResetGroupOffsets to RESET_TARGET_UNSPECIFIED");
    await adminFails("PW-ADMIN-033", admin.resetGroupOffsets({ groupId: group, target: ResetTarget.LATEST, partitions: [{ topic, partitions: [7] }] }), Code.NotFound, "ResetGroupOffsets of a partition that does not exist");
    await adminFails("PW-ADMIN-033", admin.resetGroupOffsets({ groupId: groupId(ctx, "never"), target: ResetTarget.LATEST }), Code.NotFound, "ResetGroupOffsets of every partition of a group that does not exist");
    const dry = await admin.resetGroupOffsets({ groupId: group, target: ResetTarget.LATEST, dryRun: true, partitions: [{ topic, partitions: [1, 0] }] });
    checkEqual("PW-ADMIN-034", dry.map((l) => [l.partition, l.committedOffset]), [[0, 5n], [1, 0n]], "a dry-run reset to LATEST, in partition order");
    checkEqual("PW-ADMIN-034", (await admin.describeGroup(group)).lag.map((l) => l.committedOffset), [2n], "committed offsets after a dry run");
    const byTime = await admin.resetGroupOffsets({ groupId: group, target: ResetTarget.TIMESTAMP, value: 1_003n });
    checkEqual("PW-ADMIN-034", byTime.map((l) => [l.partition, l.committedOffset]), [[0, 3n]], "a reset to the first record at or after a timestamp");
    const clamped = await admin.resetGroupOffsets({ groupId: group, target: ResetTarget.OFFSET, value: 99n, partitions: [{ topic, partitions: [0] }] });
    checkEqual("PW-ADMIN-034", clamped.map((l) => l.committedOffset), [5n], "a reset to offset 99 of a partition whose high watermark is 5");

    await admin.deleteGroup(group);
    await adminFails("PW-ADMIN-035", admin.describeGroup(group), Code.NotFound, "DescribeGroup of a deleted group");
    await adminFails("PW-ADMIN-035", admin.deleteGroup(group), Code.NotFound, "DeleteGroup of a deleted group");
    const { message: fetched } = await session.call(FrameKind.OFFSET_FETCH_REQUEST, { groupId: group });
    checkEqual("PW-ADMIN-035", fetched.offsets.length, 0, "committed offsets of a deleted group");
    // The id is free: a join creates the group anew.
    const again = new Member(await ctx.connect(), group);
    await again.join([topic]);
    checkEqual("PW-GROUP-027", (await admin.describeGroup(group)).members.length, 1, "members of a group created again after its deletion");
  },
};

/** §11.4 against a broker with consumer groups. */
export const groupAdminCases: readonly ConformanceCase[] = [groupAdmin];
