import { create } from "@bufbuild/protobuf";
import {
  CommitResultSchema,
  CommittedOffsetSchema,
  OffsetCommitResponseSchema,
  OffsetFetchResponseSchema,
  type CommitResult,
  type CommittedOffset,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from "@polywire/proto/groups";
import { ErrorCode } from "@polywire/proto/session";
import type { GroupConfig } from "./config.js";
import type { ConsumerGroup, TopicView } from "./group.js";
import { LEAVE_EPOCH, STATIC_LEAVE_EPOCH } from "./heartbeat.js";
import type { OffsetBook, StoredOffset } from "./offset-book.js";
import { failure, success, type Outcome } from "./outcome.js";
import { PartitionSet } from "./partition-set.js";

/** PW-GROUP-043: the longest `metadata`, in UTF-8 bytes. */
export const MAX_COMMIT_METADATA_BYTES = 4096;

/** What the offset requests need from the coordinator. */
export interface OffsetContext {
  readonly config: GroupConfig;
  readonly topics: TopicView;
  readonly book: OffsetBook;
  group(groupId: string): ConsumerGroup | undefined;
  createGroup(groupId: string, nowMs: number): ConsumerGroup | null;
}

/**
 * OffsetCommitRequest (PW-GROUP-040..043): fenced by member epoch, each
 * offset validated and stored on its own, answered once the valid ones are
 * durable.
 */
export async function commitOffsets(ctx: OffsetContext, request: OffsetCommitRequest, nowMs: number): Promise<Outcome<OffsetCommitResponse>> {
  const admitted = admit(ctx, request, nowMs);
  if (!admitted.ok) return admitted;
  const results: CommitResult[] = [];
  const valid: StoredOffset[] = [];
  for (const o of request.offsets) {
    let code = partitionError(ctx.topics, o.topic, o.partition);
    if (code === ErrorCode.UNSPECIFIED && (o.offset < 0n || utf8Length(o.metadata) > MAX_COMMIT_METADATA_BYTES)) code = ErrorCode.INVALID_COMMIT_OFFSET;
    results.push(create(CommitResultSchema, { topic: o.topic, partition: o.partition, errorCode: code }));
    if (code === ErrorCode.UNSPECIFIED) valid.push({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata, commitTimeMs: nowMs });
  }
  if (valid.length > 0) {
    try {
      await ctx.book.write({ kind: "commit", groupId: request.groupId, offsets: valid });
    } catch (cause) {
      return failure("STORAGE", `cannot store the commit: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  return success(create(OffsetCommitResponseSchema, { results }));
}

/** PW-GROUP-027, PW-GROUP-041, PW-GROUP-042, PW-GROUP-047: who may commit to the group now. */
function admit(ctx: OffsetContext, request: OffsetCommitRequest, nowMs: number): Outcome<null> {
  if (request.groupId === "") return failure("INVALID_ARGUMENT", "group_id is empty (PW-GROUP-047)");
  let group = ctx.group(request.groupId);
  if (group?.dead === true) return failure("UNKNOWN_GROUP", `group ${JSON.stringify(request.groupId)} is being deleted (PW-GROUP-027)`);
  group?.expire(nowMs, ctx.config, ctx.topics);
  if (request.memberId === "") {
    if (request.memberEpoch !== LEAVE_EPOCH) return failure("INVALID_ARGUMENT", "a commit without member_id must have member_epoch -1 (PW-GROUP-042)");
    if (group !== undefined && group.size > 0) {
      return failure("UNKNOWN_MEMBER_ID", `group ${JSON.stringify(request.groupId)} has members; a commit without member_id needs a group without members (PW-GROUP-042)`);
    }
    group ??= ctx.createGroup(request.groupId, nowMs) ?? undefined;
    if (group === undefined) return failure("GROUP_MAX_SIZE_REACHED", `the broker holds its maximum of ${ctx.config.maxGroups} groups (PW-GROUP-017)`);
    return success(null);
  }
  const member = group?.member(request.memberId);
  if (member === undefined) return failure("UNKNOWN_MEMBER_ID", `member ${JSON.stringify(request.memberId)} is not in group ${JSON.stringify(request.groupId)} (PW-GROUP-041)`);
  // A reserved static member's process is gone; only its next incarnation may commit (PW-GROUP-007).
  const current = member.departed ? STATIC_LEAVE_EPOCH : member.epoch;
  if (request.memberEpoch < current) return failure("STALE_MEMBER_EPOCH", `commit with epoch ${request.memberEpoch}; the member's epoch is ${current} (PW-GROUP-041)`);
  if (request.memberEpoch > current) return failure("FENCED_MEMBER_EPOCH", `commit with epoch ${request.memberEpoch}; the member's epoch is ${current} (PW-GROUP-041)`);
  return success(null);
}

/** OffsetFetchRequest (PW-GROUP-044, PW-GROUP-045). */
export function fetchOffsets(ctx: OffsetContext, request: OffsetFetchRequest): Outcome<OffsetFetchResponse> {
  if (request.groupId === "") return failure("INVALID_ARGUMENT", "group_id is empty (PW-GROUP-047)");
  const lists = PartitionSet.fromWire(request.partitions);
  if (typeof lists === "string") return failure("INVALID_ARGUMENT", `partitions: ${lists} (PW-GROUP-015)`);
  const offsets: CommittedOffset[] = [];
  if (request.partitions.length === 0) {
    for (const o of ctx.book.all(request.groupId)) offsets.push(committed(o.topic, o.partition, o, ErrorCode.UNSPECIFIED));
  } else {
    for (const { topic, partitions } of request.partitions) {
      for (const partition of partitions) {
        const code = partitionError(ctx.topics, topic, partition);
        offsets.push(committed(topic, partition, code === ErrorCode.UNSPECIFIED ? ctx.book.get(request.groupId, topic, partition) : undefined, code));
      }
    }
  }
  return success(create(OffsetFetchResponseSchema, { offsets }));
}

function committed(topic: string, partition: number, stored: StoredOffset | undefined, errorCode: ErrorCode): CommittedOffset {
  return create(CommittedOffsetSchema, {
    topic,
    partition,
    offset: stored?.offset ?? -1n,
    metadata: stored?.metadata ?? "",
    errorCode,
    commitTimeMs: stored === undefined ? -1n : BigInt(stored.commitTimeMs),
  });
}

/** PW-GROUP-043, PW-GROUP-044 and PW-LOG-040: whether the partition exists. */
function partitionError(topics: TopicView, topic: string, partition: number): ErrorCode {
  if (!topics.isValidName(topic)) return ErrorCode.INVALID_TOPIC;
  const count = topics.partitionCount(topic);
  if (count === null) return ErrorCode.UNKNOWN_TOPIC;
  return partition < count ? ErrorCode.UNSPECIFIED : ErrorCode.UNKNOWN_PARTITION;
}

/** UTF-8 length without encoding: metadata is checked on every commit. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
