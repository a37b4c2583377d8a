import { FrameKind } from "@polywire/proto/session";
import { ErrorCode } from "@polywire/proto/session";
import { PolywireError, errorCodeName } from "@polywire/core";
import type { ClientContext } from "../context.js";
import type { TopicPartition } from "../consumer/options.js";
import { toWire } from "./options.js";

/** An offset to commit: the offset of the next record the group should consume from the partition (PW-GROUP-040). */
export interface OffsetToCommit extends TopicPartition {
  readonly offset: bigint;
  /** Stored beside the offset; at most 4 096 bytes (PW-GROUP-043). */
  readonly metadata?: string;
}

/** A member's identity for a commit (PW-GROUP-041). */
export interface CommitIdentity {
  readonly memberId: string;
  readonly memberEpoch: number;
}

/**
 * Commits `offsets` for `group` as `member`. A failure of the whole request
 * (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH, FENCED_MEMBER_EPOCH) rejects with
 * its code; otherwise resolves with the offsets stored and the first
 * partition's error, if any (PW-GROUP-043: each partition is stored on its own).
 */
export async function commitOffsets(ctx: ClientContext, group: string, member: CommitIdentity, offsets: readonly OffsetToCommit[], signal?: AbortSignal): Promise<{ stored: OffsetToCommit[]; error: PolywireError | undefined }> {
  const { message } = await ctx.request(FrameKind.OFFSET_COMMIT_REQUEST, {
    groupId: group,
    memberId: member.memberId,
    memberEpoch: member.memberEpoch,
    offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? "" })),
  }, signal === undefined ? {} : { signal });
  if (message.results.length !== offsets.length) {
    throw new PolywireError("MALFORMED_FRAME", `an OffsetCommitResponse holds ${message.results.length} results for ${offsets.length} offsets (PW-GROUP-043)`);
  }
  const stored: OffsetToCommit[] = [];
  let error: PolywireError | undefined;
  message.results.forEach((r, i) => {
    const o = offsets[i] as OffsetToCommit;
    if (r.errorCode === ErrorCode.UNSPECIFIED) stored.push(o);
    else error ??= new PolywireError(errorCodeName(r.errorCode), `committing ${o.topic}/${o.partition} at ${o.offset} for group ${JSON.stringify(group)} failed`);
  });
  return { stored, error };
}

/** The group's committed offsets of `partitions` (PW-GROUP-044): -1n where there is none. */
export async function fetchOffsets(ctx: ClientContext, group: string, partitions: readonly TopicPartition[], signal?: AbortSignal): Promise<Map<string, bigint>> {
  const { message } = await ctx.request(FrameKind.OFFSET_FETCH_REQUEST, { groupId: group, partitions: toWire(partitions) }, signal === undefined ? {} : { signal });
  if (message.errorCode !== ErrorCode.UNSPECIFIED) {
    throw new PolywireError(errorCodeName(message.errorCode), `reading the committed offsets of group ${JSON.stringify(group)} failed (PW-GROUP-045)`);
  }
  const found = new Map<string, bigint>();
  for (const o of message.offsets) {
    // A partition that vanished meanwhile starts per autoOffsetReset; its fetch reports the error.
    found.set(`${o.partition}\u0000${o.topic}`, o.errorCode === ErrorCode.UNSPECIFIED ? o.offset : -1n);
  }
  return found;
}
