import { GroupState } from "@polywire/proto/admin";
import { Assignor } from "@polywire/proto/groups";
import { assignorFunction, chooseAssignor } from "./assignors/index.js";
import type { GroupConfig } from "./config.js";
import { Holders } from "./holders.js";
import type { Member } from "./member.js";
import { compareBytes, PartitionSet } from "./partition-set.js";

/** The broker's topics as the coordinator sees them. */
export interface TopicView {
  /** The topic's partition count, or null when no topic has this name. */
  partitionCount(topic: string): number | null;
  /** Whether the name is well-formed (PW-LOG-040); a malformed name names no topic. */
  isValidName(topic: string): boolean;
}

/** Why {@link ConsumerGroup.expire} removed a member: PW-GROUP-005 (or -007), or PW-GROUP-023. */
export type RemovalReason = "session-timeout" | "rebalance-timeout";

/** Members across every group (PW-GROUP-017), kept exact by each group as members come and go. */
export class MemberTally {
  #count = 0;

  get count(): number {
    return this.#count;
  }

  change(delta: number): void {
    this.#count += delta;
  }
}

/**
 * One consumer group: its members, group epoch and target assignment
 * (spec §8). Every change to membership, a Subscription, the chosen assignor
 * or a subscribed topic's partition count bumps the group epoch and
 * recomputes the target (PW-GROUP-003, PW-GROUP-030) in {@link refresh}.
 */
export class ConsumerGroup {
  readonly groupId: string;
  #epoch = 0;
  readonly #members = new Map<string, Member>();
  #target = new Map<string, PartitionSet>();
  #assignor: Assignor = Assignor.COOPERATIVE_STICKY;
  readonly #holders = new Holders();
  // Partition counts of the subscribed topics the current target was computed from.
  #partitionCounts = new Map<string, number>();
  #emptySinceMs: number;
  #dead = false;
  // Before this time no partition is granted: members from before a restart may own them (PW-GROUP-028).
  #grantsFromMs = Number.NEGATIVE_INFINITY;
  readonly #tally: MemberTally;

  constructor(groupId: string, nowMs: number, tally: MemberTally) {
    this.groupId = groupId;
    this.#emptySinceMs = nowMs;
    this.#tally = tally;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get assignor(): Assignor {
    return this.#assignor;
  }

  get size(): number {
    return this.#members.size;
  }

  /** When the group last became empty (its creation time if it never had members). */
  get emptySinceMs(): number {
    return this.#emptySinceMs;
  }

  /** Being deleted (GROUP_STATE_DEAD): no join or commit may use it (PW-GROUP-027). */
  get dead(): boolean {
    return this.#dead;
  }

  /** Marks the group as being deleted, or back alive when the deletion failed. */
  markDead(dead: boolean): void {
    this.#dead = dead;
  }

  member(memberId: string): Member | undefined {
    return this.#members.get(memberId);
  }

  byInstance(instanceId: string): Member | undefined {
    for (const m of this.#members.values()) if (m.instanceId === instanceId) return m;
    return undefined;
  }

  /** Members in member id order (PW-ADMIN-031). */
  members(): Member[] {
    return [...this.#members.values()].sort((a, b) => compareBytes(a.memberId, b.memberId));
  }

  /** The member's target partitions (a copy; empty for a member without one). */
  target(memberId: string): PartitionSet {
    return this.#target.get(memberId)?.clone() ?? new PartitionSet();
  }

  /** Who holds a partition now (PW-GROUP-022), for checks and describe. */
  holder(topic: string, partition: number): string | undefined {
    return this.#holders.holder(topic, partition);
  }

  add(member: Member): void {
    this.#members.set(member.memberId, member);
    this.#tally.change(1);
  }

  /** Removes a member; its partitions are free at once. The caller refreshes the group. */
  remove(member: Member, nowMs: number): void {
    member.releaseAll(this.#holders);
    this.#members.delete(member.memberId);
    this.#tally.change(-1);
    if (this.#members.size === 0) this.#emptySinceMs = nowMs;
  }

  depart(member: Member, nowMs: number): void {
    member.depart(nowMs, this.#holders);
  }

  report(member: Member, owned: PartitionSet): void {
    member.report(owned, this.#holders);
  }

  reconcile(member: Member, nowMs: number): void {
    member.reconcile(this.#target.get(member.memberId) ?? new PartitionSet(), this.#epoch, nowMs, this.#holders, nowMs >= this.#grantsFromMs);
  }

  /** Grants no partition before `ms` (PW-GROUP-028). */
  withholdUntil(ms: number): void {
    this.#grantsFromMs = ms;
  }

  pending(member: Member): boolean {
    return member.pending(this.#target.get(member.memberId) ?? new PartitionSet(), this.#epoch);
  }

  /** Members whose heartbeat now would be answered with news (PW-GROUP-029), departed static members excepted. */
  *withNews(nowMs: number): Generator<Member> {
    const mayGrant = nowMs >= this.#grantsFromMs;
    for (const m of this.#members.values()) {
      if (!m.departed && m.hasNews(this.#target.get(m.memberId) ?? new PartitionSet(), this.#epoch, this.#holders, mayGrant)) yield m;
    }
  }

  /**
   * Bumps the group epoch and recomputes the target when `changed` says
   * membership or a Subscription changed, or when the chosen assignor or a
   * subscribed topic's partition count differs from what the current target
   * was computed from. Returns whether it did.
   */
  refresh(topics: TopicView, changed: boolean): boolean {
    const counts = new Map<string, number>();
    for (const m of this.#members.values()) for (const topic of m.subscription) counts.set(topic, topics.partitionCount(topic) ?? 0);
    const assignor = chooseAssignor([...this.#members.values()].map((m) => m.assignor));
    const drifted = assignor !== this.#assignor || !sameCounts(counts, this.#partitionCounts);
    if (!changed && !drifted) return false;
    this.#epoch++;
    this.#assignor = assignor;
    this.#partitionCounts = counts;
    const members = [...this.#members.values()].map((m) => ({ memberId: m.memberId, topics: m.subscription }));
    this.#target = assignorFunction(assignor)({ members, partitionCounts: counts, previous: this.#target });
    return true;
  }

  /**
   * Removes members silent (or reserved) for the session timeout and members
   * overdue on a revocation (PW-GROUP-005, PW-GROUP-007, PW-GROUP-023).
   */
  expire(nowMs: number, config: GroupConfig, topics: TopicView): RemovalReason[] {
    const removed: RemovalReason[] = [];
    for (const member of [...this.#members.values()]) {
      const reason = member.expired(nowMs, config.sessionTimeoutMs) ? "session-timeout" : member.revocationOverdue(nowMs) ? "rebalance-timeout" : null;
      if (reason === null) continue;
      this.remove(member, nowMs);
      removed.push(reason);
    }
    if (removed.length > 0) this.refresh(topics, true);
    return removed;
  }

  /** The earliest time {@link expire} can remove someone, or null without members. */
  nextDeadline(config: GroupConfig): number | null {
    let next: number | null = null;
    for (const m of this.#members.values()) {
      const at = m.nextDeadline(config.sessionTimeoutMs);
      if (next === null || at < next) next = at;
    }
    return next;
  }

  /** PW-GROUP-025. */
  state(): GroupState {
    if (this.#dead) return GroupState.DEAD;
    if (this.#members.size === 0) return GroupState.EMPTY;
    for (const m of this.#members.values()) if (this.pending(m)) return GroupState.RECONCILING;
    return GroupState.STABLE;
  }
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [topic, n] of a) if (b.get(topic) !== n) return false;
  return true;
}
