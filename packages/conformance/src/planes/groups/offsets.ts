import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual, show } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { BrokerError, codeName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { expectBrokerError } from "../expect.js";
import { groupId, heartbeat, Member } from "./io.js";

type CommitInit = { groupId: string; memberId?: string; memberEpoch: number; offsets: { topic: string; partition: number; offset: bigint; metadata?: string }[] };

async function commit(session: WireSession, init: CommitInit): Promise<string[]> {
  const { message } = await session.call(FrameKind.OFFSET_COMMIT_REQUEST, init);
  checkEqual("PW-GROUP-043", message.results.map((r) => [r.topic, r.partition]), init.offsets.map((o) => [o.topic, o.partition]), "CommitResults, one per CommitOffset in request order");
  return message.results.map((r) => codeName(r.errorCode));
}

async function fetchOffsets(session: WireSession, group: string, partitions: { topic: string; partitions: number[] }[] = []): Promise<{ topic: string; partition: number; offset: bigint; metadata: string; commitTimeMs: bigint; errorCode: number }[]> {
  const { message } = await session.call(FrameKind.OFFSET_FETCH_REQUEST, { groupId: group, partitions });
  checkEqual("PW-GROUP-045", codeName(message.errorCode), codeName(ErrorCode.UNSPECIFIED), "OffsetFetchResponse.error_code");
  return message.offsets;
}

const OK = codeName(ErrorCode.UNSPECIFIED);

const commits: ConformanceCase = {
  id: "groups/commit-and-fetch",
  title: "Commits are fenced by member epoch (unknown, stale, fenced), manual commits only while the group has no members; each offset is validated on its own; fetches answer in request order, with -1 for none and the commit time",
  plane: "groups",
  clauses: ["PW-GROUP-041", "PW-GROUP-042", "PW-GROUP-043", "PW-GROUP-044", "PW-GROUP-045", "PW-GROUP-047", "PW-GROUP-016", "PW-GROUP-015"],
  features: [Feature.GROUPS],
  async run(ctx) {
    const topic = await ctx.topic(2);
    const session = await ctx.connect();
    const manual = groupId(ctx, "manual");
    const started = BigInt(Date.now() - 60_000);
    const results = await commit(session, { groupId: manual, memberEpoch: -1, offsets: [
      { topic, partition: 1, offset: 5n, metadata: "m1" },
      { topic: `${topic}-missing`, partition: 0, offset: 1n },
      { topic, partition: 9, offset: 1n },
      { topic, partition: 0, offset: -1n },
      { topic, partition: 0, offset: 1n, metadata: "x".repeat(4097) },
      { topic, partition: 0, offset: 1_000_000n, metadata: "é".repeat(2048) },
    ] });
    checkEqual("PW-GROUP-043", results, [OK, codeName(ErrorCode.UNKNOWN_TOPIC), codeName(ErrorCode.UNKNOWN_PARTITION), codeName(ErrorCode.INVALID_COMMIT_OFFSET), codeName(ErrorCode.INVALID_COMMIT_OFFSET), OK], "results of a commit mixing valid and invalid offsets");
    const fetched = await fetchOffsets(session, manual, [{ topic, partitions: [1, 0] }, { topic: `${topic}-missing`, partitions: [0] }]);
    checkEqual("PW-GROUP-044", fetched.map((o) => [o.partition, o.offset, o.metadata, codeName(o.errorCode)]), [[1, 5n, "m1", OK], [0, 1_000_000n, "é".repeat(2048), OK], [0, -1n, "", codeName(ErrorCode.UNKNOWN_TOPIC)]], "fetch of two committed partitions and a missing topic, in request order");
    for (const o of fetched.slice(0, 2)) check("PW-GROUP-045", o.commitTimeMs >= started && o.commitTimeMs <= BigInt(Date.now() + 60_000), `commit_time_ms ${o.commitTimeMs} is not the broker's time of the commit`);
    const every = await fetchOffsets(session, manual);
    checkEqual("PW-GROUP-044", every.map((o) => o.partition), [0, 1], "a fetch without partitions: every committed partition, in partition order");
    const none = await fetchOffsets(session, groupId(ctx, "nobody"), [{ topic, partitions: [0] }]);
    checkEqual("PW-GROUP-044", none.map((o) => [o.offset, o.metadata, o.commitTimeMs, codeName(o.errorCode)]), [[-1n, "", -1n, OK]], "a fetch for a group that does not exist");
    await expectBrokerError("PW-GROUP-015", session.call(FrameKind.OFFSET_FETCH_REQUEST, { groupId: manual, partitions: [{ topic, partitions: [0, 0] }] }), ErrorCode.INVALID_ARGUMENT, "a fetch naming a partition twice");
    await expectBrokerError("PW-GROUP-047", session.call(FrameKind.OFFSET_FETCH_REQUEST, { groupId: "" }), ErrorCode.INVALID_ARGUMENT, "a fetch with an empty group_id");
    await expectBrokerError("PW-GROUP-047", session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: "", memberEpoch: -1, offsets: [] }), ErrorCode.INVALID_ARGUMENT, "a commit with an empty group_id");
    await expectBrokerError("PW-GROUP-042", session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: manual, memberEpoch: 3, offsets: [] }), ErrorCode.INVALID_ARGUMENT, "a commit without member_id at epoch 3");

    // A group with a member: fenced commits.
    const group = groupId(ctx, "fenced");
    const m = new Member(await ctx.connect(), group);
    await m.join([topic]);
    await expectBrokerError("PW-GROUP-042", session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: group, memberEpoch: -1, offsets: [{ topic, partition: 0, offset: 1n }] }), ErrorCode.UNKNOWN_MEMBER_ID, "a manual commit to a group with a member");
    await expectBrokerError("PW-GROUP-041", session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: group, memberId: "stranger", memberEpoch: 1, offsets: [] }), ErrorCode.UNKNOWN_MEMBER_ID, "a commit of an unknown member");
    await expectBrokerError("PW-GROUP-041", session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: group, memberId: m.memberId, memberEpoch: m.epoch - 1, offsets: [{ topic, partition: 0, offset: 1n }] }), ErrorCode.STALE_MEMBER_EPOCH, "a commit at an epoch below the member's");
    await expectBrokerError("PW-GROUP-041", session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: group, memberId: m.memberId, memberEpoch: m.epoch + 1, offsets: [{ topic, partition: 0, offset: 1n }] }), ErrorCode.FENCED_MEMBER_EPOCH, "a commit at an epoch above the member's");
    checkEqual("PW-GROUP-041", (await fetchOffsets(session, group)).length, 0, "committed offsets after refused commits");
    checkEqual("PW-GROUP-041", await commit(m.session, { groupId: group, memberId: m.memberId, memberEpoch: m.epoch, offsets: [{ topic, partition: 0, offset: 7n }] }), [OK], "a commit at the member's epoch");
    checkEqual("PW-GROUP-040", (await fetchOffsets(session, group)).map((o) => o.offset), [7n], "the committed offset");
    await heartbeat(m.session, { groupId: group, memberId: m.memberId, memberEpoch: -1 });
    checkEqual("PW-GROUP-042", await commit(session, { groupId: group, memberEpoch: -1, offsets: [{ topic, partition: 0, offset: 8n }] }), [OK], "a manual commit once the group has no members");
  },
};

const restart: ConformanceCase = {
  id: "groups/commit-restart",
  title: "Acknowledged commits survive a broker restart",
  plane: "groups",
  clauses: ["PW-GROUP-040"],
  features: [Feature.GROUPS],
  needs: ["restart"],
  async run(ctx) {
    const topic = await ctx.topic(3);
    const group = groupId(ctx, "restart");
    let session = await ctx.connect();
    for (let i = 0; i < 30; i++) await commit(session, { groupId: group, memberEpoch: -1, offsets: [{ topic, partition: i % 3, offset: BigInt(i), metadata: `m${i}` }] });
    await ctx.target.restart();
    session = await ctx.connect();
    const after = await fetchOffsets(session, group);
    checkEqual("PW-GROUP-040", after.map((o) => [o.partition, o.offset, o.metadata]), [[0, 27n, "m27"], [1, 28n, "m28"], [2, 29n, "m29"]], "committed offsets after a restart");
  },
};

const topicDeleted: ConformanceCase = {
  id: "groups/topic-deleted",
  title: "Deleting a topic deletes every group's committed offsets of it; a new topic of the same name has none",
  plane: "groups",
  clauses: ["PW-GROUP-046"],
  features: [Feature.GROUPS],
  needs: ["admin"],
  async run(ctx) {
    const admin = ctx.target.admin;
    if (admin === undefined) return;
    const doomed = await ctx.topic(1);
    const kept = await ctx.topic(1);
    const session = await ctx.connect();
    const groups = [groupId(ctx, "deleted-a"), groupId(ctx, "deleted-b")];
    for (const g of groups) await commit(session, { groupId: g, memberEpoch: -1, offsets: [{ topic: doomed, partition: 0, offset: 4n }, { topic: kept, partition: 0, offset: 2n }] });
    await admin.deleteTopic(doomed);
    await ctx.target.createTopic(doomed, 1);
    // The deletion may complete just after DeleteTopic answers: give it a moment, then require it.
    const deadline = Date.now() + 5_000;
    for (const g of groups) {
      let left = await fetchOffsets(session, g);
      while (left.some((o) => o.topic === doomed) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = await fetchOffsets(session, g);
      }
      checkEqual("PW-GROUP-046", left.map((o) => [o.topic, o.offset]), [[kept, 2n]], `group ${g}'s offsets after ${doomed} was deleted and created again: ${show(left)}`);
    }
  },
};

const restartGrace: ConformanceCase = {
  id: "groups/restart-grace",
  title: "After a restart that forgets membership, a group that had a member gives no partition to a new member until the longest heartbeat interval has passed, while the old member learns it is unknown; then the new member gets them all",
  plane: "groups",
  clauses: ["PW-GROUP-028", "PW-GROUP-009", "PW-GROUP-024"],
  features: [Feature.GROUPS],
  needs: ["restart"],
  timeoutMs: 60_000,
  async run(ctx) {
    const topic = await ctx.topic(2);
    const group = groupId(ctx, "restart-grace");
    const old = new Member(await ctx.connect(), group);
    await old.join([topic]);
    const interval = old.last?.heartbeatIntervalMs ?? 0;
    const restarting = Date.now();
    await ctx.target.restart();
    let kept = true;
    try {
      await heartbeat(await ctx.connect(), { groupId: group, memberId: old.memberId, memberEpoch: old.epoch });
    } catch (error) {
      if (!(error instanceof BrokerError) || error.code !== ErrorCode.UNKNOWN_MEMBER_ID) throw error;
      kept = false;
    }
    const fresh = new Member(await ctx.connect(), group);
    await fresh.join([topic]);
    check("PW-GROUP-028", fresh.partitions().length === 0, `right after a restart, a new member of a group that had one was given ${show(fresh.partitions())}`);
    if (kept) {
      ctx.note("the broker kept the group's membership across the restart");
      return;
    }
    while (fresh.partitions().length < 2 && Date.now() - restarting < 45_000) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(fresh.last?.heartbeatIntervalMs ?? 500, 1_000)));
      await fresh.ack();
      if (fresh.partitions().length > 0) {
        check("PW-GROUP-028", Date.now() - restarting >= interval, `a partition was assigned ${Date.now() - restarting} ms after the restart began, before the ${interval} ms heartbeat interval the old member was given`);
      }
    }
    checkEqual("PW-GROUP-024", fresh.partitions().sort(), [`${topic}:0`, `${topic}:1`], "the new member's assignment after the grace");
  },
};

/** §8.4: committed offsets, and what a restart keeps. */
export const offsetCases: readonly ConformanceCase[] = [commits, restart, restartGrace, topicDeleted];
