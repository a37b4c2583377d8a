import type { Pattern } from "@polywire/core";

/**
 * Where a subscription is in its life:
 * - "active": in the index, messages are routed to it;
 * - "ending": its `after_messages` ran out (PW-PUBSUB-014), so it is out of
 *   the index, but deliveries routed to it are still waiting to be written;
 *   its id stays taken until they are, so a Delivery of the old
 *   subscription can never be read as one of a new subscription that
 *   reuses the id;
 * - "ended": gone; only unreported drops may still be owed a notice.
 */
export type SubscriptionState = "active" | "ending" | "ended";

/** A SlowConsumer notice to send (PW-PUBSUB-031). */
export interface SlowConsumerNotice {
  readonly subscriptionId: number;
  /** The subscription's pattern, as the client sent it. */
  readonly subject: string;
  /** Messages dropped since the previous notice for this subscription. */
  readonly dropped: number;
}

/**
 * One subscription's state: its sequence counter (PW-PUBSUB-024), its
 * pending deliveries against `max_pending` (PW-PUBSUB-030), what remains
 * of an `after_messages` (PW-PUBSUB-014), and its drops not yet reported.
 * The connection's {@link Endpoint} drives it; the router reaches it
 * through the index.
 */
export class Subscription<O = unknown> {
  readonly id: number;
  readonly pattern: Pattern;
  readonly queueGroup: string;
  readonly maxPending: number;
  /** The connection's endpoint that owns it, typed by the endpoint. */
  readonly owner: O;
  #state: SubscriptionState = "active";
  #sequence = 0;
  #pending = 0;
  // -1: no limit; n: n more routed messages end it.
  #remaining = -1;
  #dropped = 0;
  #unreported = 0;
  #firstUnreportedAt = 0;
  #lastNoticeAt = Number.NEGATIVE_INFINITY;

  constructor(owner: O, id: number, pattern: Pattern, queueGroup: string, maxPending: number) {
    this.owner = owner;
    this.id = id;
    this.pattern = pattern;
    this.queueGroup = queueGroup;
    this.maxPending = maxPending;
  }

  get state(): SubscriptionState {
    return this.#state;
  }

  /** The last sequence number taken: messages routed to it so far, dropped ones included. */
  get sequence(): number {
    return this.#sequence;
  }

  /** Deliveries routed to it and not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /** Messages dropped for it, in all. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Drops not yet reported in a SlowConsumer notice. */
  get unreported(): number {
    return this.#unreported;
  }

  /** True while another delivery fits under `max_pending`. */
  get hasRoom(): boolean {
    return this.#pending < this.maxPending;
  }

  /**
   * Takes the next sequence number for a message routed to it, and counts
   * the message against `after_messages`. Sequence numbers are JavaScript
   * numbers: exact to 2^53, more messages than one subscription will see.
   */
  take(): number {
    if (this.#remaining > 0) this.#remaining--;
    return ++this.#sequence;
  }

  /** True once `after_messages` ran out: the message just taken was its last. */
  get exhausted(): boolean {
    return this.#remaining === 0;
  }

  /** Ends it after `count` (> 0) more routed messages (PW-PUBSUB-014); a later request replaces an earlier one. */
  limit(count: number): void {
    this.#remaining = count;
  }

  queued(): void {
    this.#pending++;
  }

  written(count = 1): void {
    this.#pending -= count;
  }

  /** Counts a drop; true when it is the first not yet reported, so a notice falls due. */
  drop(now: () => number, notices: boolean): boolean {
    this.#dropped++;
    if (!notices) return false;
    this.#unreported++;
    if (this.#unreported > 1) return false;
    this.#firstUnreportedAt = now();
    return true;
  }

  /**
   * When the notice for the unreported drops is due: at once for the first
   * drop after a quiet spell, else `interval` after the previous notice;
   * either way before the first unreported drop is `interval` old. A
   * subscription that is no longer active owes its last notice at once:
   * nothing more can be dropped for it, and its id may soon be reused.
   */
  noticeDueAt(interval: number): number {
    if (this.#state !== "active") return this.#firstUnreportedAt;
    return Math.max(this.#firstUnreportedAt, this.#lastNoticeAt + interval);
  }

  /** The notice for the unreported drops, which count as reported from now. */
  report(now: number): SlowConsumerNotice {
    const notice: SlowConsumerNotice = { subscriptionId: this.id, subject: this.pattern.text, dropped: this.#unreported };
    this.#unreported = 0;
    this.#lastNoticeAt = now;
    return notice;
  }

  /** Forgets drops that can no longer be reported (its connection closed). */
  forgetUnreported(): void {
    this.#unreported = 0;
  }

  setState(state: SubscriptionState): void {
    this.#state = state;
  }
}
