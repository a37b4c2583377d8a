import { checkQueueGroup, parsePattern, PolywireError } from "@polywire/core";
import { DeliveryQueue } from "./delivery-queue.js";
import type { PlaneContext } from "./plane.js";
import { Subscription, type SlowConsumerNotice } from "./subscription.js";

/** `max_pending` when a SubscribeRequest says 0 (PW-PUBSUB-030). */
export const DEFAULT_MAX_PENDING = 65_536;
/**
 * Bytes of undelivered messages one connection may hold before further
 * ones are dropped: NATS's default `max_pending`. `max_pending` counts
 * messages, and 65,536 messages of 16 MiB would be a terabyte; this bounds
 * what a slow reader can make the broker hold.
 */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Subscriptions one connection may hold at once. */
export const DEFAULT_MAX_SUBSCRIPTIONS = 65_536;
/**
 * What a queued delivery costs besides its message's size (its ring slots
 * and its share of the message object), so that a flood of empty messages
 * is bounded by the byte budget too.
 */
export const DELIVERY_OVERHEAD_BYTES = 64;

/** What the endpoint asks of the session that owns it. */
export interface EndpointSink {
  /**
   * Called when there is work: the delivery queue went from empty to not
   * empty, or a SlowConsumer notice fell due (see `nextNoticeAt`). Called
   * synchronously from inside `publish`: it should schedule a flush, not
   * write or publish itself.
   */
  wake(): void;
}

export interface EndpointOptions {
  readonly maxPendingBytes?: number;
  readonly maxSubscriptions?: number;
  /** Whether the connection was granted FEATURE_SLOW_CONSUMER_NOTICE (PW-PUBSUB-031). */
  readonly notices?: boolean;
}

/** Writes one delivery; return false to stop draining after it (the transport is full). */
export type DeliveryWriter<M> = (subscription: Subscription<Endpoint<M>>, sequence: number, message: M) => boolean | void;

/**
 * One connection's side of the pub/sub plane: its subscriptions, by the
 * ids the client chose (PW-PUBSUB-010), and the deliveries routed to them
 * that its session has not yet written (PW-PUBSUB-030). Routing only ever
 * appends to the queue or drops; nothing here waits for the transport, so a
 * slow reader costs publishers nothing (PW-PUBSUB-032).
 */
export class Endpoint<M> {
  #plane: PlaneContext<M>;
  #sink: EndpointSink;
  #subscriptions = new Map<number, Subscription<Endpoint<M>>>();
  #queue = new DeliveryQueue<Subscription<Endpoint<M>>, M>();
  #bytes = 0;
  #maxBytes: number;
  #maxSubscriptions: number;
  #notices: boolean;
  #unreported = new Set<Subscription<Endpoint<M>>>();
  #closed = false;
  // Deliveries queued since the last settle(), at the queue's end.
  #unsettled = 0;
  // The last settle() left deliveries queued: new ones are retained as they come.
  #backlogged = false;

  constructor(plane: PlaneContext<M>, sink: EndpointSink, options: EndpointOptions = {}) {
    this.#plane = plane;
    this.#sink = sink;
    this.#maxBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.#maxSubscriptions = options.maxSubscriptions ?? DEFAULT_MAX_SUBSCRIPTIONS;
    this.#notices = options.notices ?? true;
  }

  /** Bytes held for undelivered messages, overhead included. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** Deliveries waiting to be written. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Subscriptions whose id is taken (active, or ending with deliveries still queued). */
  get subscriptions(): number {
    return this.#subscriptions.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  subscription(id: number): Subscription<Endpoint<M>> | undefined {
    return this.#subscriptions.get(id);
  }

  /**
   * Starts a subscription (PW-PUBSUB-010 to -012). It is active when this
   * returns: the session may send SubscribeResponse, and every message
   * published from now on is considered for it (PW-PUBSUB-011).
   */
  subscribe(id: number, pattern: string, queueGroup = "", maxPending = 0): Subscription<Endpoint<M>> {
    if (this.#closed) throw new PolywireError("CONNECTION_LOST", "the connection is closed");
    if (!Number.isInteger(id) || id <= 0 || id > 0xffff_ffff) throw new PolywireError("INVALID_ARGUMENT", `subscription_id must be a non-zero uint32, not ${id}`);
    if (!Number.isInteger(maxPending) || maxPending < 0 || maxPending > 0xffff_ffff) throw new PolywireError("INVALID_ARGUMENT", `max_pending must be a uint32, not ${maxPending}`);
    if (this.#subscriptions.has(id)) throw new PolywireError("SUBSCRIPTION_EXISTS", `subscription ${id} is already active on this connection`);
    const parsed = parsePattern(pattern);
    checkQueueGroup(queueGroup);
    if (this.#subscriptions.size >= this.#maxSubscriptions) {
      throw new PolywireError("TOO_MANY_SUBSCRIPTIONS", `this connection already holds ${this.#maxSubscriptions} subscriptions`, { limit: this.#maxSubscriptions });
    }
    const sub = new Subscription<Endpoint<M>>(this, id, parsed, queueGroup, maxPending === 0 ? this.#plane.defaultMaxPending : maxPending);
    this.#subscriptions.set(id, sub);
    this.#plane.index.add(sub);
    this.#plane.counters.subscriptions++;
    return sub;
  }

  /**
   * Ends a subscription now (`after` 0) or after `after` more routed
   * messages (PW-PUBSUB-014). Ending now discards its queued deliveries, so
   * none follows the UnsubscribeResponse; the notice it returns, if any,
   * reports its last drops and goes out before that response, while its id
   * still names it.
   */
  unsubscribe(id: number, after = 0): SlowConsumerNotice | undefined {
    const sub = this.#subscriptions.get(id);
    if (sub === undefined) throw new PolywireError("UNKNOWN_SUBSCRIPTION", `subscription ${id} is not active on this connection`);
    if (!Number.isInteger(after) || after < 0 || after > 0xffff_ffff) throw new PolywireError("INVALID_ARGUMENT", `after_messages must be a uint32, not ${after}`);
    if (after > 0) {
      // Counted from now: a later request replaces an earlier one.
      if (sub.state === "active") sub.limit(after);
      return undefined;
    }
    const { count, size } = this.#queue.removeSubscription(sub);
    this.#bytes -= size + count * DELIVERY_OVERHEAD_BYTES;
    sub.written(count);
    this.#plane.counters.droppedUnsubscribed += count;
    this.#end(sub);
    if (sub.unreported === 0) return undefined;
    this.#unreported.delete(sub);
    return this.#report(sub, this.#plane.clock());
  }

  /**
   * Routes one message to `sub`, one of this endpoint's subscriptions: takes
   * its sequence number, then queues the delivery or, at `max_pending` or
   * the connection's byte budget, drops it, newest first (PW-PUBSUB-024,
   * -030). For the router only.
   */
  offer(sub: Subscription<Endpoint<M>>, message: M, size: number): void {
    const sequence = sub.take();
    const cost = size + DELIVERY_OVERHEAD_BYTES;
    if (!sub.hasRoom) {
      this.#plane.counters.droppedMaxPending++;
      this.#drop(sub);
    } else if (this.#bytes + cost > this.#maxBytes) {
      this.#plane.counters.droppedPendingBytes++;
      this.#drop(sub);
    } else {
      if (this.#backlogged) this.#plane.retain?.(message);
      else this.#unsettled++;
      this.#queue.push(sub, sequence, message, size);
      sub.queued();
      this.#bytes += cost;
      if (this.#queue.length === 1) this.#sink.wake();
    }
    if (sub.exhausted && sub.state === "active") {
      if (sub.pending === 0) this.#end(sub);
      else {
        this.#plane.index.remove(sub);
        sub.setState("ending");
      }
    }
  }

  #drop(sub: Subscription<Endpoint<M>>): void {
    if (sub.drop(this.#plane.clock, this.#notices)) {
      this.#unreported.add(sub);
      this.#sink.wake();
    }
  }

  /**
   * Hands queued deliveries to `write`, oldest first, until the queue is
   * empty or `write` returns false. A delivery counts as written (and
   * leaves `max_pending`) when it is handed over. Returns how many.
   */
  drain(write: DeliveryWriter<M>): number {
    const queue = this.#queue;
    let written = 0;
    while (queue.length > 0) {
      const sub = queue.headSubscription;
      const sequence = queue.headSequence;
      const message = queue.headMessage;
      this.#bytes -= queue.headSize + DELIVERY_OVERHEAD_BYTES;
      queue.shift();
      sub.written();
      written++;
      if (sub.state === "ending" && sub.pending === 0) this.#end(sub);
      if (write(sub, sequence, message) === false) break;
    }
    this.#plane.counters.delivered += written;
    return written;
  }

  /**
   * The session wrote what it could for now (call it after every flush,
   * whether it drained or not): deliveries still queued are retained (the
   * plane's `retain`), and so is every delivery queued from now on until
   * the queue has been drained empty. Routing can thus hand over messages
   * that borrow bytes (a body viewed in the read it arrived in) at no cost
   * when they are written in the same tick, the usual case, and a reader
   * that falls behind holds only copies the byte budget counts.
   */
  settle(): void {
    const retain = this.#plane.retain;
    if (retain !== undefined && this.#unsettled > 0 && this.#queue.length > 0) this.#queue.forNewest(this.#unsettled, retain);
    this.#unsettled = 0;
    this.#backlogged = this.#queue.length > 0;
  }

  /** When the next SlowConsumer notice falls due, on the plane's clock; undefined when none is owed. */
  nextNoticeAt(): number | undefined {
    let next: number | undefined;
    const interval = this.#plane.noticeInterval;
    for (const sub of this.#unreported) {
      const due = sub.noticeDueAt(interval);
      if (next === undefined || due < next) next = due;
    }
    return next;
  }

  /** The SlowConsumer notices due now (PW-PUBSUB-031); they count as sent. */
  takeNotices(): SlowConsumerNotice[] {
    if (this.#unreported.size === 0) return [];
    const now = this.#plane.clock();
    const interval = this.#plane.noticeInterval;
    const notices: SlowConsumerNotice[] = [];
    for (const sub of this.#unreported) {
      if (sub.noticeDueAt(interval) > now) continue;
      this.#unreported.delete(sub);
      notices.push(this.#report(sub, now));
    }
    return notices;
  }

  #report(sub: Subscription<Endpoint<M>>, now: number): SlowConsumerNotice {
    this.#plane.counters.notices++;
    return sub.report(now);
  }

  /**
   * Ends every subscription of a closing connection (PW-PUBSUB-015): none
   * is routed to after this returns, and queued deliveries and unreported
   * drops are forgotten with the connection.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#plane.counters.droppedUnsubscribed += this.#queue.length;
    this.#queue.clear();
    this.#bytes = 0;
    for (const sub of [...this.#subscriptions.values()]) this.#end(sub);
    for (const sub of this.#unreported) sub.forgetUnreported();
    this.#unreported.clear();
  }

  // Takes the subscription out of the index (if still there) and frees its id.
  #end(sub: Subscription<Endpoint<M>>): void {
    if (sub.state === "active") this.#plane.index.remove(sub);
    if (sub.state === "ended") return;
    sub.setState("ended");
    this.#subscriptions.delete(sub.id);
    this.#plane.counters.subscriptions--;
  }
}
