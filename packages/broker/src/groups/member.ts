import type { Assignor } from "@polywire/proto/groups";
import type { Holders } from "./holders.js";
import { PartitionSet } from "./partition-set.js";

/** What a member is created with, from its joining heartbeat. */
export interface MemberInit {
  readonly memberId: string;
  readonly instanceId: string;
  readonly clientId: string;
  readonly subscription: ReadonlySet<string>;
  readonly assignor: Assignor;
  readonly rebalanceTimeoutMs: number;
  readonly nowMs: number;
}

/**
 * One member of a group and its side of incremental reconciliation (§8.2).
 * `assigned` is the last Assignment sent or about to be sent; `revoking`
 * holds partitions withdrawn from it that the member has not yet reported
 * released. Together they are what the member may be processing, so the
 * group's {@link Holders} index lists the member as their holder.
 */
export class Member {
  readonly memberId: string;
  readonly instanceId: string;
  #clientId: string;
  #epoch = 0;
  // No epoch before the first one; 0 is a join, never a previous epoch.
  #previousEpoch = 0;
  #subscription: ReadonlySet<string>;
  #assignor: Assignor;
  #rebalanceTimeoutMs: number;
  readonly #assigned = new PartitionSet();
  readonly #revoking = new PartitionSet();
  #reported = new PartitionSet();
  #lastSent: PartitionSet | null = null;
  #lastHeartbeatMs: number;
  #departedAtMs: number | null = null;
  #revokeDeadlineMs: number | null = null;

  constructor(init: MemberInit) {
    this.memberId = init.memberId;
    this.instanceId = init.instanceId;
    this.#clientId = init.clientId;
    this.#subscription = init.subscription;
    this.#assignor = init.assignor;
    this.#rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.#lastHeartbeatMs = init.nowMs;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get clientId(): string {
    return this.#clientId;
  }

  get subscription(): ReadonlySet<string> {
    return this.#subscription;
  }

  get assignor(): Assignor {
    return this.#assignor;
  }

  /** The partitions the member may own now (a copy). */
  assigned(): PartitionSet {
    return this.#assigned.clone();
  }

  /** Whether the member left with -2 and its assignment is reserved (PW-GROUP-007). */
  get departed(): boolean {
    return this.#departedAtMs !== null;
  }

  /** A heartbeat arrived: the session timeout starts again (PW-GROUP-005). */
  touch(nowMs: number, clientId: string): void {
    this.#lastHeartbeatMs = nowMs;
    if (clientId !== "") this.#clientId = clientId;
  }

  /** Replaces the Subscription; true when it changed (PW-GROUP-003). */
  subscribe(topics: ReadonlySet<string>): boolean {
    const same = topics.size === this.#subscription.size && [...topics].every((t) => this.#subscription.has(t));
    if (!same) this.#subscription = topics;
    return !same;
  }

  prefer(assignor: Assignor, rebalanceTimeoutMs: number): void {
    this.#assignor = assignor;
    this.#rebalanceTimeoutMs = rebalanceTimeoutMs;
  }

  /** PW-GROUP-010: the current epoch, or the previous one when the member evidently missed a response. */
  acceptsEpoch(epoch: number, owned: PartitionSet | undefined): boolean {
    if (epoch === this.#epoch) return true;
    return epoch === this.#previousEpoch && (owned ?? this.#reported).isSubsetOf(this.#assigned);
  }

  /**
   * A heartbeat carried `owned`. Partitions being revoked that it leaves out
   * are released (PW-GROUP-022, PW-GROUP-026). Claims of partitions the
   * member does not own are ignored, so a confused member cannot block anyone.
   */
  report(owned: PartitionSet, holders: Holders): void {
    const mine = this.#assigned.clone();
    for (const tp of this.#revoking) mine.add(tp.topic, tp.partition);
    this.#reported = owned.intersect(mine);
    for (const { topic, partition } of this.#revoking.minus(owned)) {
      this.#revoking.delete(topic, partition);
      holders.release(topic, partition, this.memberId);
    }
    if (this.#revoking.size === 0) this.#revokeDeadlineMs = null;
  }

  /**
   * One reconciliation step towards `target` of group epoch `groupEpoch`:
   * withdraw what the target lacks without changing the epoch (PW-GROUP-020);
   * once nothing outside the target is held, advance the epoch (PW-GROUP-021)
   * and add every target partition nobody else holds (PW-GROUP-022).
   */
  reconcile(target: PartitionSet, groupEpoch: number, nowMs: number, holders: Holders, mayGrant = true): void {
    if (this.#epoch !== groupEpoch) {
      for (const { topic, partition } of this.#assigned.minus(target)) {
        this.#assigned.delete(topic, partition);
        this.#revoking.add(topic, partition);
      }
      // A partition being revoked that the target gives back stays: the
      // member still holds it, so nobody else can have it.
      for (const { topic, partition } of this.#revoking.intersect(target)) {
        this.#revoking.delete(topic, partition);
        this.#assigned.add(topic, partition);
      }
      if (this.#revoking.size > 0) {
        // The clock of PW-GROUP-023 starts with the first revocation sent.
        this.#revokeDeadlineMs ??= nowMs + this.#rebalanceTimeoutMs;
        return;
      }
      this.#previousEpoch = this.#epoch;
      this.#epoch = groupEpoch;
      this.#revokeDeadlineMs = null;
    }
    // Partitions may still be owned by members from before a restart (PW-GROUP-028): nothing new is granted yet.
    if (!mayGrant) return;
    for (const { topic, partition } of target) {
      if (!this.#assigned.has(topic, partition) && holders.take(topic, partition, this.memberId)) this.#assigned.add(topic, partition);
    }
  }

  /**
   * The `assignment` for this response (PW-GROUP-013): present when it
   * changed since the previous response, or when `force` says the member may
   * not know it (a join, a missed response, a report that differs from it).
   */
  assignmentToSend(force: boolean): PartitionSet | undefined {
    if (!force && this.#lastSent !== null && this.#lastSent.equals(this.#assigned)) return undefined;
    this.#lastSent = this.#assigned.clone();
    return this.#lastSent.clone();
  }

  /**
   * Whether reconciliation is under way for this member: false exactly when
   * it owns its target at the group epoch (PW-GROUP-025).
   */
  pending(target: PartitionSet, groupEpoch: number): boolean {
    return this.#epoch !== groupEpoch || this.#revoking.size > 0 || !this.#assigned.equals(target);
  }

  /**
   * Whether a heartbeat now would be answered with news (PW-GROUP-029): a
   * revocation or epoch advance that {@link reconcile} would make, or a
   * partition of `target` that is free to grant. False while the member is
   * only waiting for its own release, which it knows about already.
   */
  hasNews(target: PartitionSet, groupEpoch: number, holders: Holders, mayGrant: boolean): boolean {
    if (this.#epoch !== groupEpoch) {
      if (!this.#assigned.isSubsetOf(target)) return true;
      if (this.#revoking.intersect(target).size > 0) return true;
      // Nothing outside the target is held any more: the epoch would advance.
      return this.#revoking.size === 0;
    }
    if (!mayGrant) return false;
    for (const { topic, partition } of target) {
      if (!this.#assigned.has(topic, partition) && holders.holder(topic, partition) === undefined) return true;
    }
    return false;
  }

  /**
   * Static leave (-2, PW-GROUP-007): the assignment stays reserved; the
   * process is gone, so what it was still revoking is free at once.
   */
  depart(nowMs: number, holders: Holders): void {
    this.#departedAtMs ??= nowMs;
    this.#releaseRevoking(holders);
  }

  /** A new incarnation took the reserved member over (PW-GROUP-008). */
  takeOver(nowMs: number, clientId: string): void {
    this.#departedAtMs = null;
    this.#lastSent = null;
    this.#reported = new PartitionSet();
    this.touch(nowMs, clientId);
  }

  /** The member leaves the group: every partition it held is free (PW-GROUP-005, -006). */
  releaseAll(holders: Holders): void {
    for (const { topic, partition } of this.#assigned) holders.release(topic, partition, this.memberId);
    this.#releaseRevoking(holders);
  }

  /** PW-GROUP-005 and PW-GROUP-007: silent, or reserved, for the session timeout. */
  expired(nowMs: number, sessionTimeoutMs: number): boolean {
    return nowMs - (this.#departedAtMs ?? this.#lastHeartbeatMs) >= sessionTimeoutMs;
  }

  /** PW-GROUP-023: still holding revoked partitions at the rebalance deadline. */
  revocationOverdue(nowMs: number): boolean {
    return this.#revokeDeadlineMs !== null && nowMs >= this.#revokeDeadlineMs && this.#revoking.size > 0;
  }

  /** The earliest time at which {@link expired} or {@link revocationOverdue} can turn true. */
  nextDeadline(sessionTimeoutMs: number): number {
    const session = (this.#departedAtMs ?? this.#lastHeartbeatMs) + sessionTimeoutMs;
    return this.#revokeDeadlineMs === null ? session : Math.min(session, this.#revokeDeadlineMs);
  }

  #releaseRevoking(holders: Holders): void {
    for (const { topic, partition } of this.#revoking) holders.release(topic, partition, this.memberId);
    this.#revoking.clear();
    this.#revokeDeadlineMs = null;
  }
}
