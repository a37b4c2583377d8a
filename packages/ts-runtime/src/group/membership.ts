import { GroupNoticeSchema } from "@polywire/proto/groups";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { PolywireError, decodeMessage, errorCodeName } from "@polywire/core";
import type { ClientContext } from "../context.js";
import type { TopicPartition } from "../consumer/options.js";
import { sleep } from "../signal.js";
import { fromWire, toWire, type GroupSettings } from "./options.js";

/** What the heartbeat loop asks of, and tells, the group consumer. */
export interface MembershipHost {
  /** The partitions the member owns now, reported on every heartbeat (PW-GROUP-026). */
  owned(): Iterable<TopicPartition>;
  /** The broker sent a full assignment (PW-GROUP-013). */
  assigned(partitions: TopicPartition[]): void;
  /** The member is fenced or unknown (PW-GROUP-011): drop every partition now; the loop rejoins. */
  fenced(error: PolywireError): void;
  /** A failure no heartbeat can get past (a bad subscription, the group full): the consumer fails with it. */
  fail(error: PolywireError): void;
}

// Codes after which the member must stop and may rejoin (PW-GROUP-011).
const FENCING = new Set(["FENCED_MEMBER_EPOCH", "UNKNOWN_MEMBER_ID"]);
/** Before the first response gives the broker's interval: how long to wait after a retriable failure. */
const FIRST_INTERVAL_MS = 1_000;

/**
 * The member's side of PW-GROUP-002..011: one heartbeat loop on its own
 * timer, which never waits for the application (a busy `for await` body
 * cannot starve it), sending the owned partitions every time, at the
 * broker's interval or at once when `beatNow()` is called (a revocation
 * finished, PW-GROUP-004). Retriable failures are retried for as long as
 * the consumer is open: the broker's session timeout is the only judge.
 */
export class Membership {
  readonly #ctx: ClientContext;
  readonly #settings: GroupSettings;
  readonly #host: MembershipHost;
  readonly #stop = new AbortController();
  #memberId = "";
  #epoch = 0;
  #intervalMs = FIRST_INTERVAL_MS;
  #wake: (() => void) | undefined;
  #due = true;
  #loop: Promise<void> | undefined;
  #inFlight: Promise<void> | undefined;
  #beats = 0;
  #beatWaiters: Array<{ after: number; resolve: () => void }> = [];
  #stopNotices: (() => void) | undefined;

  constructor(ctx: ClientContext, settings: GroupSettings, host: MembershipHost) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#host = host;
  }

  get memberId(): string {
    return this.#memberId;
  }

  /** The member epoch; 0 while not (or no longer) a member. */
  get epoch(): number {
    return this.#epoch;
  }

  start(): void {
    // PW-GROUP-029: the broker says when a heartbeat would bring news; heartbeat at once instead of at the interval.
    this.#stopNotices ??= this.#ctx.onPush(FrameKind.GROUP_NOTICE, (frame) => {
      let notice;
      try {
        notice = decodeMessage(GroupNoticeSchema, frame.message);
      } catch {
        return; // A notice is a hint: one that cannot be read costs time, never correctness.
      }
      if (this.#memberId !== "" && notice.groupId === this.#settings.group && notice.memberId === this.#memberId) this.beatNow();
    });
    this.#loop ??= this.#run();
  }

  /** Sends a heartbeat as soon as the one in flight (if any) has answered. */
  beatNow(): void {
    this.#due = true;
    this.#wake?.();
  }

  /** Resolves once a heartbeat sent after this call has answered (or the loop stopped). */
  nextBeat(): Promise<void> {
    this.beatNow();
    const after = this.#beats + (this.#inFlight === undefined ? 1 : 2);
    return new Promise((resolve) => this.#beatWaiters.push({ after, resolve }));
  }

  /** Forgets the membership (fenced): the next heartbeat joins anew. */
  reset(): void {
    this.#memberId = "";
    this.#epoch = 0;
    this.beatNow();
  }

  /**
   * Stops the loop and, when a member, leaves: epoch -1, or -2 for a
   * static member so that it comes back without a rebalance (PW-GROUP-006,
   * PW-GROUP-007). A failed leave is left to the session timeout.
   */
  async leave(): Promise<void> {
    this.#stop.abort(new PolywireError("CANCELLED", "the group consumer is closed"));
    this.#stopNotices?.();
    this.#wake?.();
    await this.#loop;
    for (const w of this.#beatWaiters.splice(0)) w.resolve();
    if (this.#memberId === "" || this.#epoch <= 0) return;
    const epoch = this.#settings.instanceId === "" ? -1 : -2;
    try {
      await this.#ctx.request(FrameKind.GROUP_HEARTBEAT_REQUEST, this.#request(epoch, []), { timeoutMs: 5_000 });
    } catch {
      // The broker removes the member at the end of its session timeout anyway.
    }
    this.#memberId = "";
    this.#epoch = 0;
  }

  #request(epoch: number, owned: Iterable<TopicPartition>) {
    const s = this.#settings;
    return {
      groupId: s.group,
      memberId: this.#memberId,
      memberEpoch: epoch,
      instanceId: s.instanceId,
      rebalanceTimeoutMs: s.rebalanceTimeoutMs,
      // Sent every time: an omitted field means unchanged, never empty (PW-GROUP-004), and
      // the assignor and rebalance timeout are never "unchanged" (PW-GROUP-019).
      subscription: { topics: [...s.topics] },
      assignor: s.assignor,
      owned: { partitions: toWire(owned) },
    };
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      if (!this.#due) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#intervalMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
        if (stop.aborted) break;
      }
      this.#due = false;
      this.#inFlight = this.#beat();
      await this.#inFlight;
      this.#inFlight = undefined;
      this.#beats++;
      this.#beatWaiters = this.#beatWaiters.filter((w) => (w.after <= this.#beats ? (w.resolve(), false) : true));
    }
  }

  async #beat(): Promise<void> {
    const stop = this.#stop.signal;
    const sentEpoch = this.#epoch;
    const sentId = this.#memberId;
    try {
      const { message } = await this.#ctx.request(FrameKind.GROUP_HEARTBEAT_REQUEST, this.#request(sentEpoch, this.#host.owned()), {
        signal: stop,
        // A heartbeat that takes longer than its interval is overtaken by the next one.
        timeoutMs: Math.max(this.#intervalMs, FIRST_INTERVAL_MS) * 2,
      });
      if (message.errorCode !== ErrorCode.UNSPECIFIED) {
        // PW-GROUP-016: any other value is a failure of the request with that code.
        throw new PolywireError(errorCodeName(message.errorCode), message.errorMessage || "the heartbeat failed");
      }
      // A reset (fencing) while this heartbeat was out makes its answer stale.
      if (stop.aborted || this.#memberId !== sentId || this.#epoch !== sentEpoch) return;
      this.#memberId = message.memberId;
      this.#epoch = message.memberEpoch;
      this.#intervalMs = message.heartbeatIntervalMs > 0 ? message.heartbeatIntervalMs : FIRST_INTERVAL_MS;
      if (message.assignment !== undefined) this.#host.assigned(fromWire(message.assignment.partitions));
    } catch (error) {
      if (stop.aborted) return;
      const failure = PolywireError.from(error);
      this.#ctx.stats.error(failure.code);
      if (FENCING.has(failure.code)) {
        if (this.#memberId !== sentId) return;
        this.#memberId = "";
        this.#epoch = 0;
        this.#host.fenced(failure);
        this.#due = true;
        return;
      }
      if (failure.retriable || failure.code === "UNRELEASED_INSTANCE_ID") {
        // UNRELEASED_INSTANCE_ID: the previous holder of the instance id has
        // not left; the broker frees it at its session timeout. Try again later.
        await sleep(Math.min(this.#intervalMs, FIRST_INTERVAL_MS), stop).catch(() => undefined);
        this.#due = true;
        return;
      }
      const final = failure.code === "FEATURE_NOT_NEGOTIATED"
        ? new PolywireError("FEATURE_NOT_NEGOTIATED", "consumer groups are not available on this broker: it did not grant FEATURE_GROUPS (PW-SESS-006)", { cause: failure })
        : failure;
      this.#host.fail(final);
      this.#stop.abort(final);
    }
  }
}
