import type { GroupState } from "@polywire/proto/admin";
import type { Assignor, GroupHeartbeatRequest, GroupHeartbeatResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse } from "@polywire/proto/groups";
import { resolveGroupConfig, type GroupConfig } from "./config.js";
import { ConsumerGroup, MemberTally, type TopicView } from "./group.js";
import { heartbeat, type HeartbeatContext } from "./heartbeat.js";
import { OffsetBook, type OffsetLog, type OffsetLogEntry, type StoredOffset } from "./offset-book.js";
import { commitOffsets, fetchOffsets, type OffsetContext } from "./offset-requests.js";
import { failure, success, type Outcome } from "./outcome.js";
import { compareBytes, type PartitionSet } from "./partition-set.js";

export interface GroupCoordinatorOptions {
  readonly topics: TopicView;
  /** Where commits and deletions are made durable. */
  readonly offsetLog: OffsetLog;
  /** The log's entries from before a restart, in order. */
  readonly replay?: Iterable<OffsetLogEntry>;
  readonly config?: Partial<GroupConfig>;
  /** Broker time now, Unix milliseconds: groups found in `replay` count as empty from then. */
  readonly nowMs: number;
  /** Makes member ids; random UUIDs by default (unguessable, so one member cannot fence another). */
  readonly newMemberId?: () => string;
  /**
   * Groups that had members when the broker stopped, whose partitions
   * members from before the restart may still own: none of them is
   * granted before `untilMs` (PW-GROUP-028).
   */
  readonly quarantine?: { readonly groups: Iterable<string>; readonly untilMs: number };
}

/** One group as ListGroups shows it (PW-ADMIN-030). */
export interface GroupSummaryView {
  readonly groupId: string;
  readonly state: GroupState;
  readonly members: number;
  /** The group epoch (PW-GROUP-003); the metrics show it. */
  readonly groupEpoch: number;
}

/** One member as DescribeGroup shows it (PW-ADMIN-031). */
export interface GroupMemberView {
  readonly memberId: string;
  readonly instanceId: string;
  readonly clientId: string;
  readonly memberEpoch: number;
  readonly subscribedTopics: readonly string[];
  readonly assigned: PartitionSet;
  readonly target: PartitionSet;
}

/** One group as DescribeGroup shows it, without the lag the admin plane adds (PW-ADMIN-031). */
export interface GroupDescription extends GroupSummaryView {
  readonly groupEpoch: number;
  readonly assignor: Assignor;
  readonly memberViews: readonly GroupMemberView[];
  readonly offsets: readonly StoredOffset[];
}

/**
 * The consumer-group plane's state machine (spec §8): groups, their members
 * and committed offsets. It holds no timers and reads no clock: every call
 * takes the broker time, and the caller calls {@link tick} by
 * {@link nextDeadline} so that silent members are removed on time.
 */
export class GroupCoordinator {
  readonly #config: GroupConfig;
  readonly #topics: TopicView;
  readonly #book: OffsetBook;
  readonly #groups = new Map<string, ConsumerGroup>();
  readonly #tally = new MemberTally();
  readonly #newMemberId: () => string;
  readonly #heartbeat: HeartbeatContext;
  readonly #offsets: OffsetContext;
  readonly #quarantine = new Map<string, number>();

  constructor(options: GroupCoordinatorOptions) {
    this.#config = resolveGroupConfig(options.config);
    this.#topics = options.topics;
    this.#book = new OffsetBook(options.offsetLog, options.replay);
    this.#newMemberId = options.newMemberId ?? (() => globalThis.crypto.randomUUID());
    for (const groupId of options.quarantine?.groups ?? []) this.#quarantine.set(groupId, options.quarantine?.untilMs ?? 0);
    // A restart forgets membership, not offsets: a group with commits exists, empty since now.
    for (const groupId of this.#book.groups()) this.#groups.set(groupId, this.#newGroup(groupId, options.nowMs));
    const shared = {
      config: this.#config,
      topics: this.#topics,
      group: (groupId: string) => this.#groups.get(groupId),
      createGroup: (groupId: string, nowMs: number) => this.#createGroup(groupId, nowMs),
    };
    this.#heartbeat = { ...shared, memberCount: () => this.#tally.count, newMemberId: (group) => this.#uniqueMemberId(group) };
    this.#offsets = { ...shared, book: this.#book };
  }

  get config(): GroupConfig {
    return this.#config;
  }

  /** GroupHeartbeatRequest; `clientId` is the session's, shown by DescribeGroup. */
  heartbeat(request: GroupHeartbeatRequest, nowMs: number, clientId = ""): Outcome<GroupHeartbeatResponse> {
    return heartbeat(this.#heartbeat, request, nowMs, clientId);
  }

  /** OffsetCommitRequest; resolves once the valid offsets are durable. */
  commit(request: OffsetCommitRequest, nowMs: number): Promise<Outcome<OffsetCommitResponse>> {
    return commitOffsets(this.#offsets, request, nowMs);
  }

  /** OffsetFetchRequest. */
  fetch(request: OffsetFetchRequest): Outcome<OffsetFetchResponse> {
    return fetchOffsets(this.#offsets, request);
  }

  /**
   * Removes members whose session or rebalance timeout has passed
   * (PW-GROUP-005, -007, -023), and forgets groups left with neither members
   * nor committed offsets.
   */
  tick(nowMs: number): void {
    for (const [groupId, group] of this.#groups) {
      if (group.dead) continue;
      group.expire(nowMs, this.#config, this.#topics);
      if (group.size === 0 && !this.#book.has(groupId)) this.#groups.delete(groupId);
    }
  }

  /**
   * The ids of the group's members, other than `except`, whose heartbeat
   * now would be answered with news (PW-GROUP-029); empty for a group that
   * does not exist or is being deleted.
   */
  membersWithNews(groupId: string, nowMs: number, except = ""): string[] {
    const group = this.#groups.get(groupId);
    if (group === undefined || group.dead) return [];
    const ids: string[] = [];
    for (const m of group.withNews(nowMs)) if (m.memberId !== except) ids.push(m.memberId);
    return ids;
  }

  /** Whether the group has a member with this id. */
  isMember(groupId: string, memberId: string): boolean {
    return this.#groups.get(groupId)?.member(memberId) !== undefined;
  }

  /** When {@link tick} next has something to do, or null when no group has members. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const group of this.#groups.values()) {
      const at = group.nextDeadline(this.#config);
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  /**
   * A topic was created or grew, or went: groups subscribed to it get a new
   * group epoch and target (PW-GROUP-003, PW-GROUP-014).
   */
  topicsChanged(nowMs: number): void {
    for (const group of this.#groups.values()) {
      if (group.dead) continue;
      group.expire(nowMs, this.#config, this.#topics);
      group.refresh(this.#topics, false);
    }
  }

  /** A topic was deleted: its committed offsets go in every group (PW-GROUP-046), and subscribers rebalance. */
  async topicDeleted(topic: string, nowMs: number): Promise<void> {
    this.topicsChanged(nowMs);
    await this.#book.write({ kind: "delete-topic", topic });
  }

  /**
   * Expires the committed offsets of groups without members for longer than
   * the offset retention, counted from when the group became empty or its
   * last commit, whichever is later (PW-GROUP-046).
   */
  async expireOffsets(nowMs: number): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const [groupId, group] of this.#groups) {
      if (group.size > 0 || group.dead || !this.#book.has(groupId)) continue;
      const idleSince = Math.max(group.emptySinceMs, this.#book.lastCommitMs(groupId) ?? group.emptySinceMs);
      if (nowMs - idleSince > this.#config.offsetRetentionMs) writes.push(this.#book.write({ kind: "delete-group", groupId }));
    }
    await Promise.all(writes);
    this.tick(nowMs);
  }

  /**
   * Deletes a group without members and its offsets (PW-ADMIN-035). The
   * group is GROUP_STATE_DEAD until the deletion is durable (PW-GROUP-025).
   */
  async deleteGroup(groupId: string): Promise<Outcome<null>> {
    const group = this.#groups.get(groupId);
    if (group === undefined || group.dead) return failure("UNKNOWN_GROUP", `group ${JSON.stringify(groupId)} does not exist`);
    if (group.size > 0) return failure("GROUP_NOT_EMPTY", `group ${JSON.stringify(groupId)} has ${group.size} members`);
    group.markDead(true);
    try {
      await this.#book.write({ kind: "delete-group", groupId });
    } catch (cause) {
      // Nothing was deleted: the group and its offsets are as before.
      group.markDead(false);
      return failure("STORAGE", `cannot delete group ${JSON.stringify(groupId)}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    this.#groups.delete(groupId);
    return success(null);
  }

  /** Every group in id order (PW-ADMIN-030). */
  list(): GroupSummaryView[] {
    return [...this.#groups.values()]
      .sort((a, b) => compareBytes(a.groupId, b.groupId))
      .map((g) => ({ groupId: g.groupId, state: g.state(), members: g.size, groupEpoch: g.epoch }));
  }

  /** One group, or undefined when it does not exist. */
  describe(groupId: string): GroupDescription | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    return {
      groupId,
      state: group.state(),
      members: group.size,
      groupEpoch: group.epoch,
      assignor: group.assignor,
      memberViews: group.members().map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        clientId: m.clientId,
        memberEpoch: m.epoch,
        subscribedTopics: [...m.subscription].sort(compareBytes),
        assigned: m.assigned(),
        target: group.target(m.memberId),
      })),
      offsets: this.#book.all(groupId),
    };
  }

  /** The group's committed offsets, by topic as bytes then partition (empty for an unknown group). */
  offsets(groupId: string): StoredOffset[] {
    return this.#book.all(groupId);
  }

  /** Who holds a partition in a group now (PW-GROUP-022); for checkers. */
  holder(groupId: string, topic: string, partition: number): string | undefined {
    return this.#groups.get(groupId)?.holder(topic, partition);
  }

  /** The compacted form of the offset log (see {@link OffsetBook.snapshot}). */
  offsetSnapshot(): OffsetLogEntry[] {
    return this.#book.snapshot();
  }

  #createGroup(groupId: string, nowMs: number): ConsumerGroup | null {
    if (this.#groups.size >= this.#config.maxGroups) {
      // Groups with neither members nor offsets do not count; make room first.
      this.tick(nowMs);
      if (this.#groups.size >= this.#config.maxGroups) return null;
    }
    const group = this.#newGroup(groupId, nowMs);
    this.#groups.set(groupId, group);
    return group;
  }

  #newGroup(groupId: string, nowMs: number): ConsumerGroup {
    const group = new ConsumerGroup(groupId, nowMs, this.#tally);
    const until = this.#quarantine.get(groupId);
    if (until !== undefined) {
      if (nowMs < until) group.withholdUntil(until);
      else this.#quarantine.delete(groupId);
    }
    return group;
  }

  #uniqueMemberId(group: ConsumerGroup): string {
    for (;;) {
      const id = this.#newMemberId();
      if (id !== "" && group.member(id) === undefined) return id;
    }
  }
}
