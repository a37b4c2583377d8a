import { Endpoint, DEFAULT_MAX_PENDING, type EndpointOptions, type EndpointSink } from "./endpoint.js";
import type { PlaneContext, PubSubCounters } from "./plane.js";
import { checkPublishSubject } from "@polywire/core";
import { SubjectIndex } from "./subject-index.js";
import type { Subscription } from "./subscription.js";

/**
 * Least time between two SlowConsumer notices of one subscription. The
 * first unreported drop must be reported within one second (PW-PUBSUB-031);
 * spacing notices half that leaves the other half for timers and writes on
 * a loaded machine.
 */
export const DEFAULT_NOTICE_INTERVAL_MS = 500;

export interface PubSubRouterOptions<M = unknown> {
  /** Monotonic milliseconds; default `performance.now`. */
  readonly clock?: () => number;
  /** Subjects whose match is cached; 0 turns the cache off. */
  readonly cacheSize?: number;
  /** `max_pending` for a SubscribeRequest that says 0 (PW-PUBSUB-030). */
  readonly defaultMaxPending?: number;
  readonly noticeIntervalMs?: number;
  /**
   * Called on a message that is to stay queued for a connection that is
   * not writing it at once (see `Endpoint.settle`): a message that borrows
   * bytes from a larger buffer (a body viewed in the read it arrived in)
   * copies them here, so that what a slow reader holds is what the byte
   * budget counts. Must be idempotent. Default: nothing.
   */
  readonly retain?: (message: M) => void;
}

const hasRoom = (sub: Subscription): boolean => sub.hasRoom;

/**
 * The pub/sub plane of one broker, without any transport: subscriptions of
 * every connection in one subject index, and `publish`, which routes a
 * message synchronously into the matching subscriptions' endpoints. `M` is
 * whatever the session needs to write a Delivery (subject, reply_to,
 * headers, body); the router only passes it along, by reference, so one
 * message routed to many subscriptions is held once.
 */
export class PubSubRouter<M> {
  #plane: PlaneContext<M>;

  constructor(options: PubSubRouterOptions<M> = {}) {
    this.#plane = {
      index: new SubjectIndex({ cacheSize: options.cacheSize }),
      counters: {
        published: 0,
        routed: 0,
        delivered: 0,
        droppedMaxPending: 0,
        droppedPendingBytes: 0,
        droppedUnsubscribed: 0,
        notices: 0,
        subscriptions: 0,
      },
      clock: options.clock ?? (() => performance.now()),
      defaultMaxPending: options.defaultMaxPending ?? DEFAULT_MAX_PENDING,
      noticeInterval: options.noticeIntervalMs ?? DEFAULT_NOTICE_INTERVAL_MS,
      retain: options.retain,
    };
  }

  /** The plane's counters (read them; they change as messages flow). */
  get counters(): Readonly<PubSubCounters> {
    return this.#plane.counters;
  }

  /** Subscriptions in the index (active ones, every connection). */
  get indexed(): number {
    return this.#plane.index.size;
  }

  /** A connection's endpoint; `sink.wake` tells its session when there is something to write. */
  endpoint(sink: EndpointSink, options?: EndpointOptions): Endpoint<M> {
    return new Endpoint<M>(this.#plane, sink, options);
  }

  /**
   * Routes a message to every matching subscription outside a queue
   * group, and to one member of each matching queue group, the
   * publisher's own subscriptions included (PW-PUBSUB-013). Returns
   * `routed`: the subscriptions it was routed to, drops included
   * (PW-PUBSUB-021). `size` is what the message costs to hold (its frame
   * size), charged against each receiving connection's byte budget.
   *
   * Throws INVALID_SUBJECT or RESERVED_SUBJECT, routing nothing
   * (PW-PUBSUB-022). A subject whose match is cached was checked when it
   * was first routed, so the common case costs one map lookup.
   */
  publish(subject: string, message: M, size: number): number {
    // Reserved subjects are never cached (nothing may publish to them), so
    // this one comparison keeps them off the cached path.
    if (subject.charCodeAt(0) === 0x24) checkPublishSubject(subject);
    const match = this.#plane.index.match(subject);
    let routed = 0;
    const plain = match.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i] as Subscription<Endpoint<M>>;
      // A wake handler that ends subscriptions at once (against its
      // contract) must not make this route to them.
      if (sub.state !== "active") continue;
      sub.owner.offer(sub, message, size);
      routed++;
    }
    const groups = match.groups;
    for (let i = 0; i < groups.length; i++) {
      const sub = (groups[i] as (typeof groups)[number]).pick(hasRoom);
      if (sub === undefined || sub.state !== "active") continue;
      sub.owner.offer(sub, message, size);
      routed++;
    }
    const counters = this.#plane.counters;
    counters.published++;
    counters.routed += routed;
    return routed;
  }
}
