import type { Endpoint } from "./endpoint.js";
import type { SubjectIndex } from "./subject-index.js";
import type { Subscription } from "./subscription.js";

/**
 * The plane's counters, for the broker's Prometheus series: plain numbers
 * the router and endpoints add to as they go (a field increment per event,
 * no label lookup on the routing path); the metrics code reads them.
 */
export interface PubSubCounters {
  /** PublishRequests routed (valid ones). */
  published: number;
  /** Subscriptions messages were routed to, in all (the sum of `routed`, PW-PUBSUB-021). */
  routed: number;
  /** Deliveries handed to a session for writing. */
  delivered: number;
  /** Messages dropped because their subscription was at `max_pending` (PW-PUBSUB-030). */
  droppedMaxPending: number;
  /** Messages dropped because their connection was at its byte budget. */
  droppedPendingBytes: number;
  /** Queued deliveries discarded because their subscription or connection ended (PW-PUBSUB-014, -015). */
  droppedUnsubscribed: number;
  /** SlowConsumer notices taken for sending (PW-PUBSUB-031). */
  notices: number;
  /** Subscriptions whose id is taken, on every connection. */
  subscriptions: number;
}

/** What the router shares with its endpoints. */
export interface PlaneContext<M> {
  readonly index: SubjectIndex<Subscription<Endpoint<M>>>;
  readonly counters: PubSubCounters;
  /** Milliseconds, monotonic; the caller's clock so tests drive time. */
  readonly clock: () => number;
  readonly defaultMaxPending: number;
  /** Least time between two SlowConsumer notices of one subscription. */
  readonly noticeInterval: number;
  /** Makes a message independent of buffers it borrows, once it is to stay queued (see `Endpoint.settle`); idempotent. */
  readonly retain: ((message: M) => void) | undefined;
}
