import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { PartitionLagSchema, ResetTarget, type GroupService, type ResetGroupOffsetsRequest } from "@polywire/proto/admin";
import { OffsetCommitRequestSchema } from "@polywire/proto/groups";
import { compareBytes, PartitionSet, type GroupCoordinator, type GroupDescription, type GroupErrorName } from "../groups/index.js";
import type { Storage } from "../storage/storage.js";
import { quote } from "../quote.js";
import type { AdminContext } from "./context.js";
import { adminError } from "./errors.js";

/** The message of every GroupService RPC on a broker without the groups plane (PW-ADMIN-029). */
export const GROUPS_UNAVAILABLE = "consumer groups are not available on this broker";

function unavailable(): never {
  throw new ConnectError(GROUPS_UNAVAILABLE, Code.Unimplemented);
}

type Lag = MessageInitShape<typeof PartitionLagSchema>;

// How a coordinator failure reads on the admin plane (PW-ADMIN-002, PW-ADMIN-033, PW-ADMIN-035).
const CONNECT_CODES: Readonly<Partial<Record<GroupErrorName, Code>>> = {
  UNKNOWN_GROUP: Code.NotFound,
  GROUP_NOT_EMPTY: Code.FailedPrecondition,
  // A member joined between the check and the commit of a reset: the group is not empty any more.
  UNKNOWN_MEMBER_ID: Code.FailedPrecondition,
  GROUP_MAX_SIZE_REACHED: Code.ResourceExhausted,
  INVALID_ARGUMENT: Code.InvalidArgument,
};

function groupError(code: GroupErrorName, message: string): ConnectError {
  const named = code === "UNKNOWN_MEMBER_ID" ? "GROUP_NOT_EMPTY" : code;
  return adminError(CONNECT_CODES[code] ?? Code.Internal, named, message);
}

/** PW-ADMIN-032: a partition's committed offset beside its high watermark. */
function lagOf(topic: string, partition: number, committed: bigint, highWatermark: bigint, memberId: string): Lag {
  const lag = committed < 0n ? -1n : highWatermark > committed ? highWatermark - committed : 0n;
  return { topic, partition, committedOffset: committed, highWatermark, lag, memberId };
}

/** PW-ADMIN-031: every partition of a subscribed topic or with a committed offset, in topic then partition order. */
function groupLag(storage: Storage, group: GroupDescription): Lag[] {
  const partitions = new PartitionSet();
  const owner = new Map<string, string>();
  for (const m of group.memberViews) {
    for (const topic of m.subscribedTopics) {
      let count = 0;
      try {
        count = storage.topic(topic).partitions;
      } catch {
        // A subscribed topic that does not exist has no partitions (PW-GROUP-014).
      }
      for (let p = 0; p < count; p++) partitions.add(topic, p);
    }
    for (const { topic, partition } of m.assigned) owner.set(`${partition}\u0000${topic}`, m.memberId);
  }
  const committed = new Map<string, bigint>();
  for (const o of group.offsets) {
    partitions.add(o.topic, o.partition);
    committed.set(`${o.partition}\u0000${o.topic}`, o.offset);
  }
  return partitions.sorted().map(({ topic, partition }) => {
    const key = `${partition}\u0000${topic}`;
    return lagOf(topic, partition, committed.get(key) ?? -1n, storage.partition(topic, partition).highWatermark(), owner.get(key) ?? "");
  });
}

/** PW-ADMIN-034: where ResetGroupOffsets moves one partition. */
async function resetOffset(storage: Storage, request: ResetGroupOffsetsRequest, topic: string, partition: number): Promise<bigint> {
  const log = storage.partition(topic, partition);
  const start = log.logStartOffset();
  const end = log.highWatermark();
  switch (request.target) {
    case ResetTarget.EARLIEST:
      return start;
    case ResetTarget.LATEST:
      return end;
    case ResetTarget.TIMESTAMP:
      return (await log.offsetForTimestamp(Number(request.value)))?.offset ?? end;
    default:
      return request.value < start ? start : request.value > end ? end : request.value;
  }
}

async function resetGroupOffsets(groups: GroupCoordinator, context: AdminContext, request: ResetGroupOffsetsRequest): Promise<Lag[]> {
  const { storage } = context;
  if (!(request.target in ResetTarget) || request.target === ResetTarget.UNSPECIFIED) {
    throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", "target must be EARLIEST, LATEST, TIMESTAMP or OFFSET (PW-ADMIN-033)");
  }
  const listed = PartitionSet.fromWire(request.partitions);
  if (typeof listed === "string") throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", `partitions: ${listed} (PW-GROUP-015)`);
  const group = groups.describe(request.groupId);
  if (group !== undefined && group.members > 0) {
    throw adminError(Code.FailedPrecondition, "GROUP_NOT_EMPTY", `group ${quote(request.groupId)} has ${group.members} members; stop them before resetting its offsets (PW-ADMIN-033)`);
  }
  if (request.partitions.length === 0 && group === undefined) {
    throw adminError(Code.NotFound, "UNKNOWN_GROUP", `group ${quote(request.groupId)} does not exist (PW-ADMIN-033)`);
  }
  const targets = request.partitions.length > 0 ? listed.sorted() : (group?.offsets ?? []).map((o) => ({ topic: o.topic, partition: o.partition }));
  const offsets: { topic: string; partition: number; offset: bigint }[] = [];
  // storage.partition throws UNKNOWN_TOPIC or UNKNOWN_PARTITION, which the interceptor answers `not_found`.
  for (const { topic, partition } of targets) offsets.push({ topic, partition, offset: await resetOffset(storage, request, topic, partition) });
  if (!request.dryRun && offsets.length > 0) {
    const commit = create(OffsetCommitRequestSchema, { groupId: request.groupId, memberId: "", memberEpoch: -1, offsets });
    const outcome = await groups.commit(commit, Date.now());
    if (!outcome.ok) throw groupError(outcome.code, outcome.message);
    const failed = outcome.value.results.find((r) => r.errorCode !== 0);
    if (failed !== undefined) throw adminError(Code.NotFound, "UNKNOWN_PARTITION", `partition ${failed.partition} of ${quote(failed.topic)} went away during the reset`);
    context.metrics.offsetCommits.inc(offsets.length);
  }
  return offsets
    .sort((a, b) => compareBytes(a.topic, b.topic) || a.partition - b.partition)
    .map((o) => lagOf(o.topic, o.partition, o.offset, storage.partition(o.topic, o.partition).highWatermark(), ""));
}

/**
 * GroupService (§11.4) over the broker's group coordinator: list, describe
 * with members and lag, reset offsets, delete. A broker without the groups
 * plane never grants FEATURE_GROUPS, and every RPC answers `unimplemented`
 * saying so (PW-ADMIN-029), rather than an empty list that would look like
 * a broker with no groups yet.
 */
export function groupService(context: AdminContext): ServiceImpl<typeof GroupService> {
  const groups = context.groups;
  if (groups === undefined) {
    return { listGroups: unavailable, describeGroup: unavailable, resetGroupOffsets: unavailable, deleteGroup: unavailable };
  }
  return {
    listGroups() {
      return { groups: groups.list().map((g) => ({ groupId: g.groupId, state: g.state, members: g.members })) };
    },

    describeGroup(request) {
      const group = groups.describe(request.groupId);
      if (group === undefined) throw adminError(Code.NotFound, "UNKNOWN_GROUP", `group ${quote(request.groupId)} does not exist (PW-ADMIN-031)`);
      return {
        groupId: group.groupId,
        state: group.state,
        groupEpoch: group.groupEpoch,
        assignor: group.assignor,
        members: group.memberViews.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          clientId: m.clientId,
          memberEpoch: m.memberEpoch,
          subscribedTopics: [...m.subscribedTopics],
          assigned: m.assigned.toWire(),
          target: m.target.toWire(),
        })),
        lag: groupLag(context.storage, group),
      };
    },

    async resetGroupOffsets(request) {
      return { offsets: await resetGroupOffsets(groups, context, request) };
    },

    async deleteGroup(request) {
      const outcome = await groups.deleteGroup(request.groupId);
      if (!outcome.ok) throw groupError(outcome.code, outcome.message);
      return {};
    },
  };
}
