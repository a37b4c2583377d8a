import { create, toBinary } from "@bufbuild/protobuf";
import { GroupNoticeSchema } from "@polywire/proto/groups";
import { Feature, FrameKind } from "@polywire/proto/session";
import type { GroupCoordinator } from "./groups/index.js";
import type { RequestSession, SessionPush } from "./route.js";

/** Where a member's latest heartbeat came from, and whether it was told since. */
interface Addressee {
  readonly push: SessionPush;
  notified: boolean;
}

/**
 * GroupNotice (PW-GROUP-029): a member whose heartbeat would now be
 * answered with news (partitions to revoke, an epoch to advance to,
 * partitions freed for it) is told so on the connection of its latest
 * heartbeat, at most once between two of its heartbeats. Without it a
 * rebalance takes a heartbeat interval per step; with it, round trips.
 */
export class GroupNotices {
  readonly #coordinator: GroupCoordinator;
  readonly #now: () => number;
  /** group id → member id → addressee; only members whose session was granted FEATURE_GROUP_NOTICE. */
  readonly #to = new Map<string, Map<string, Addressee>>();

  constructor(coordinator: GroupCoordinator, now: () => number) {
    this.#coordinator = coordinator;
    this.#now = now;
  }

  /** A heartbeat of `memberId` was answered with `memberEpoch` on `session`: later notices go there. */
  heard(groupId: string, memberId: string, memberEpoch: number, session: RequestSession): void {
    const members = this.#to.get(groupId);
    if (memberEpoch <= 0 || !session.features.has(Feature.GROUP_NOTICE)) {
      members?.delete(memberId);
      if (members?.size === 0) this.#to.delete(groupId);
      return;
    }
    if (members === undefined) this.#to.set(groupId, new Map([[memberId, { push: session.push, notified: false }]]));
    else members.set(memberId, { push: session.push, notified: false });
  }

  /** Tells the group's members with news, except `except` (the member just answered), and forgets members gone. */
  notify(groupId: string, except = ""): void {
    const members = this.#to.get(groupId);
    if (members === undefined) return;
    for (const memberId of members.keys()) if (!this.#coordinator.isMember(groupId, memberId)) members.delete(memberId);
    if (members.size === 0) {
      this.#to.delete(groupId);
      return;
    }
    for (const memberId of this.#coordinator.membersWithNews(groupId, this.#now(), except)) {
      const to = members.get(memberId);
      // A connection that is not reading gets no notice: it costs the member time only, never correctness.
      if (to === undefined || to.notified || !to.push.writable) continue;
      to.notified = true;
      to.push.write(FrameKind.GROUP_NOTICE, toBinary(GroupNoticeSchema, create(GroupNoticeSchema, { groupId, memberId })));
    }
  }

  /** After a timer removed members or topics changed: every group with members to tell. */
  notifyAll(): void {
    for (const groupId of [...this.#to.keys()]) this.notify(groupId);
  }
}
