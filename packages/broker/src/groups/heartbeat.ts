import { create } from "@bufbuild/protobuf";
import { GroupHeartbeatResponseSchema, type Assignor, type GroupHeartbeatRequest, type GroupHeartbeatResponse } from "@polywire/proto/groups";
import { resolveAssignor } from "./assignors/index.js";
import type { GroupConfig } from "./config.js";
import type { ConsumerGroup, TopicView } from "./group.js";
import { Member } from "./member.js";
import { failure, success, type Outcome } from "./outcome.js";
import { PartitionSet } from "./partition-set.js";

/** Member epochs with a meaning of their own (GroupHeartbeatRequest). */
export const JOIN_EPOCH = 0;
export const LEAVE_EPOCH = -1;
export const STATIC_LEAVE_EPOCH = -2;

/** What the heartbeat handler needs from the coordinator. */
export interface HeartbeatContext {
  readonly config: GroupConfig;
  readonly topics: TopicView;
  group(groupId: string): ConsumerGroup | undefined;
  /** Creates an empty group, or returns null when the broker holds its maximum number of groups (PW-GROUP-017). */
  createGroup(groupId: string, nowMs: number): ConsumerGroup | null;
  /** Members across every group (PW-GROUP-017). */
  memberCount(): number;
  /** A member id not used in `group` (PW-GROUP-002). */
  newMemberId(group: ConsumerGroup): string;
}

/** A heartbeat whose fields passed the checks every heartbeat gets. */
interface Checked {
  readonly request: GroupHeartbeatRequest;
  readonly assignor: Assignor;
  readonly rebalanceTimeoutMs: number;
  readonly subscription: ReadonlySet<string> | undefined;
  readonly owned: PartitionSet | undefined;
}

/** Answers one GroupHeartbeatRequest (§8.1, §8.2) at broker time `nowMs`. */
export function heartbeat(ctx: HeartbeatContext, request: GroupHeartbeatRequest, nowMs: number, clientId: string): Outcome<GroupHeartbeatResponse> {
  const checked = check(ctx, request);
  if (!checked.ok) return checked;
  if (request.memberEpoch === JOIN_EPOCH) return join(ctx, checked.value, nowMs, clientId);

  const group = ctx.group(request.groupId);
  // Timeouts apply before the request, so the outcome does not depend on when the caller last ticked.
  if (group !== undefined && !group.dead) group.expire(nowMs, ctx.config, ctx.topics);
  const member = group?.dead === false ? group.member(request.memberId) : undefined;
  if (group === undefined || member === undefined) {
    return failure("UNKNOWN_MEMBER_ID", `member ${JSON.stringify(request.memberId)} is not in group ${JSON.stringify(request.groupId)} (PW-GROUP-009)`);
  }
  if (member.instanceId !== request.instanceId) {
    return failure("INVALID_ARGUMENT", `member ${member.memberId} joined with instance_id ${JSON.stringify(member.instanceId)}, not ${JSON.stringify(request.instanceId)} (PW-GROUP-018)`);
  }
  if (request.memberEpoch === LEAVE_EPOCH) {
    group.remove(member, nowMs);
    group.refresh(ctx.topics, true);
    return success(left(member.memberId, LEAVE_EPOCH, ctx.config));
  }
  if (request.memberEpoch === STATIC_LEAVE_EPOCH) {
    // The assignment stays reserved and the group epoch does not move (PW-GROUP-007).
    group.depart(member, nowMs);
    return success(left(member.memberId, STATIC_LEAVE_EPOCH, ctx.config));
  }
  return beat(ctx, group, member, checked.value, nowMs, clientId);
}

/** The checks that need no group state: PW-GROUP-001, -002, -007, -014, -015, -018 and -030. */
function check(ctx: HeartbeatContext, request: GroupHeartbeatRequest): Outcome<Checked> {
  if (request.groupId === "") return failure("INVALID_ARGUMENT", "group_id is empty (PW-GROUP-001)");
  const epoch = request.memberEpoch;
  if (epoch < STATIC_LEAVE_EPOCH) return failure("INVALID_ARGUMENT", `member_epoch ${epoch} is below -2 (PW-GROUP-018)`);
  if (epoch === STATIC_LEAVE_EPOCH && request.instanceId === "") return failure("INVALID_ARGUMENT", "member_epoch -2 needs an instance_id (PW-GROUP-007)");
  if (epoch === JOIN_EPOCH && request.memberId !== "") return failure("INVALID_ARGUMENT", "a join (member_epoch 0) must have an empty member_id (PW-GROUP-018)");
  if (epoch !== JOIN_EPOCH && request.memberId === "") return failure("UNKNOWN_MEMBER_ID", "member_id is empty (PW-GROUP-009)");
  if (epoch === JOIN_EPOCH && (request.subscription?.topics.length ?? 0) === 0) {
    return failure("INVALID_ARGUMENT", "a join needs a subscription with at least one topic (PW-GROUP-002)");
  }
  const assignor = resolveAssignor(request.assignor);
  if (assignor === null) return failure("UNSUPPORTED_ASSIGNOR", `assignor ${request.assignor} is not supported (PW-GROUP-030)`);
  let owned: PartitionSet | undefined;
  if (request.owned !== undefined) {
    const parsed = PartitionSet.fromWire(request.owned.partitions);
    if (typeof parsed === "string") return failure("INVALID_ARGUMENT", `owned: ${parsed} (PW-GROUP-015)`);
    owned = parsed;
  }
  let subscription: Set<string> | undefined;
  if (request.subscription !== undefined) {
    const malformed = request.subscription.topics.find((t) => !ctx.topics.isValidName(t));
    if (malformed !== undefined) return failure("INVALID_TOPIC", `subscription names the malformed topic ${JSON.stringify(malformed)} (PW-GROUP-014)`);
    subscription = new Set(request.subscription.topics);
  }
  const asked = request.rebalanceTimeoutMs === 0 ? ctx.config.defaultRebalanceTimeoutMs : request.rebalanceTimeoutMs;
  const rebalanceTimeoutMs = Math.min(asked, ctx.config.maxRebalanceTimeoutMs);
  return success({ request, assignor, rebalanceTimeoutMs, subscription, owned });
}

/** Epoch 0: a new member, or a new incarnation of a reserved static member (PW-GROUP-002, -008, -012). */
function join(ctx: HeartbeatContext, checked: Checked, nowMs: number, clientId: string): Outcome<GroupHeartbeatResponse> {
  const { request } = checked;
  let group = ctx.group(request.groupId);
  if (group?.dead === true) return failure("UNKNOWN_GROUP", `group ${JSON.stringify(request.groupId)} is being deleted (PW-GROUP-027)`);
  group?.expire(nowMs, ctx.config, ctx.topics);
  const subscription = checked.subscription ?? new Set<string>();
  if (group !== undefined && request.instanceId !== "") {
    const reserved = group.byInstance(request.instanceId);
    if (reserved !== undefined) {
      if (!reserved.departed) {
        return failure("UNRELEASED_INSTANCE_ID", `instance_id ${JSON.stringify(request.instanceId)} belongs to the active member ${reserved.memberId} (PW-GROUP-008)`);
      }
      reserved.takeOver(nowMs, clientId);
      const changed = reserved.subscribe(subscription);
      reserved.prefer(checked.assignor, checked.rebalanceTimeoutMs);
      group.refresh(ctx.topics, changed);
      // PW-GROUP-008: the reserved assignment as it is; a target that moved
      // while the member was away is reconciled from its next heartbeat.
      return success(respond(ctx, group, reserved, true));
    }
  }
  if (group !== undefined && group.size >= ctx.config.maxGroupSize) {
    return failure("GROUP_MAX_SIZE_REACHED", `group ${JSON.stringify(request.groupId)} has its maximum of ${ctx.config.maxGroupSize} members (PW-GROUP-012)`);
  }
  if (ctx.memberCount() >= ctx.config.maxMembers) {
    return failure("GROUP_MAX_SIZE_REACHED", `the broker holds its maximum of ${ctx.config.maxMembers} group members (PW-GROUP-017)`);
  }
  if (group === undefined) {
    const created = ctx.createGroup(request.groupId, nowMs);
    if (created === null) return failure("GROUP_MAX_SIZE_REACHED", `the broker holds its maximum of ${ctx.config.maxGroups} groups (PW-GROUP-017)`);
    group = created;
  }
  const member = new Member({
    memberId: ctx.newMemberId(group),
    instanceId: request.instanceId,
    clientId,
    subscription,
    assignor: checked.assignor,
    rebalanceTimeoutMs: checked.rebalanceTimeoutMs,
    nowMs,
  });
  group.add(member);
  group.refresh(ctx.topics, true);
  group.reconcile(member, nowMs);
  return success(respond(ctx, group, member, true));
}

/** A member's regular heartbeat (PW-GROUP-004, -010, §8.2). */
function beat(ctx: HeartbeatContext, group: ConsumerGroup, member: Member, checked: Checked, nowMs: number, clientId: string): Outcome<GroupHeartbeatResponse> {
  const { request, owned } = checked;
  // A reserved static member has no current epoch: its old process must be gone (PW-GROUP-007).
  if (member.departed || !member.acceptsEpoch(request.memberEpoch, owned)) {
    // The fenced member stops processing at once (PW-GROUP-011), so its
    // partitions are free now rather than after its session times out.
    group.remove(member, nowMs);
    group.refresh(ctx.topics, true);
    return failure("FENCED_MEMBER_EPOCH", `member ${member.memberId} sent epoch ${request.memberEpoch}; its epoch is ${member.departed ? STATIC_LEAVE_EPOCH : member.epoch} (PW-GROUP-010)`);
  }
  const missedResponse = request.memberEpoch !== member.epoch;
  member.touch(nowMs, clientId);
  if (owned !== undefined) group.report(member, owned);
  const changed = checked.subscription !== undefined && member.subscribe(checked.subscription);
  member.prefer(checked.assignor, checked.rebalanceTimeoutMs);
  group.refresh(ctx.topics, changed);
  group.reconcile(member, nowMs);
  // A member that missed a response, or reports something else than its
  // assignment, may not know it: send it again (PW-GROUP-013).
  const force = missedResponse || (owned !== undefined && !owned.equals(member.assigned()));
  return success(respond(ctx, group, member, force));
}

function respond(ctx: HeartbeatContext, group: ConsumerGroup, member: Member, force: boolean): GroupHeartbeatResponse {
  const assignment = member.assignmentToSend(force);
  return create(GroupHeartbeatResponseSchema, {
    memberId: member.memberId,
    memberEpoch: member.epoch,
    heartbeatIntervalMs: group.pending(member) ? ctx.config.reconcileHeartbeatIntervalMs : ctx.config.heartbeatIntervalMs,
    ...(assignment === undefined ? {} : { assignment: { partitions: assignment.toWire() } }),
  });
}

function left(memberId: string, epoch: number, config: GroupConfig): GroupHeartbeatResponse {
  return create(GroupHeartbeatResponseSchema, { memberId, memberEpoch: epoch, heartbeatIntervalMs: config.heartbeatIntervalMs });
}
