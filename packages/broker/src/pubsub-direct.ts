import { checkHeaderKeys, checkReplyTo, PolywireError, type DirectHeaders, type DirectPubSub, type DirectPubSubReceiver } from "@polywire/core";
import { Feature } from "@polywire/proto/session";
import type { DeliveryWriter, Endpoint, EndpointOptions, PubSubRouter, SlowConsumerNotice } from "./pubsub/index.js";
import { PlaneMessage } from "./pubsub/plane-message.js";

/** What the in-process path needs of the session it shares a connection with. */
export interface DirectSession {
  /** Aborted when the session closes: its subscriptions end (PW-PUBSUB-015). */
  readonly signal: AbortSignal;
  readonly features: ReadonlySet<Feature>;
}

/**
 * One in-process connection's side of the pub/sub plane (PW-TRANS-012): the
 * same {@link Endpoint} as a connection reading frames has, with the same
 * limits, but its requests are calls and its deliveries are handed to the
 * client's receiver as values. Routing queues into the endpoint and wakes
 * one flush per microtask, so a burst of publishes in one tick fills
 * `max_pending` and drops newest first (PW-PUBSUB-030) exactly as it does
 * over a socket; the receiver takes every delivery it is handed (it does
 * not push back), so a slow loop loses messages in the client's buffer, as
 * over a socket whose reader keeps reading.
 */
export class PubSubDirect implements DirectPubSub {
  readonly byReference = true;
  readonly endpoint: Endpoint<PlaneMessage>;
  readonly #router: PubSubRouter<PlaneMessage>;
  readonly #receiver: DirectPubSubReceiver;
  readonly #clock: () => number;
  // The session's close, as a field: reading AbortSignal.aborted on every publish costs more than routing.
  #closed = false;
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #flushTask = (): void => this.#flush();
  readonly #writer: DeliveryWriter<PlaneMessage>;

  constructor(router: PubSubRouter<PlaneMessage>, session: DirectSession, receiver: DirectPubSubReceiver, options: Omit<EndpointOptions, "notices">, clock: () => number) {
    this.#router = router;
    this.#receiver = receiver;
    this.#clock = clock;
    this.endpoint = router.endpoint({ wake: () => this.#schedule() }, { ...options, notices: session.features.has(Feature.SLOW_CONSUMER_NOTICE) });
    this.#writer = (sub, sequence, m) => receiver.deliver(sub.id, sequence, m.subject, m.replyTo, m.headers, m.body);
    if (session.signal.aborted) this.close();
    else session.signal.addEventListener("abort", () => this.close(), { once: true });
  }

  subscribe(subscriptionId: number, pattern: string, queueGroup: string, maxPending: number): void {
    this.#open();
    this.endpoint.subscribe(subscriptionId, pattern, queueGroup, maxPending);
  }

  unsubscribe(subscriptionId: number, afterMessages: number): void {
    this.#open();
    const notice = this.endpoint.unsubscribe(subscriptionId, afterMessages);
    if (notice !== undefined) this.sendNotice(notice);
  }

  publish(subject: string, replyTo: string, headers: DirectHeaders, body: Uint8Array): number {
    this.#open();
    if (!(body instanceof Uint8Array)) throw new PolywireError("INVALID_ARGUMENT", "the body must be a Uint8Array");
    checkReplyTo(replyTo);
    if (headers.length > 0) checkHeaderKeys(headers.map(([key]) => ({ key })));
    const message = PlaneMessage.direct(subject, replyTo, headers, body);
    // Throws INVALID_SUBJECT or RESERVED_SUBJECT before routing anything (PW-PUBSUB-001, -003, -022).
    return this.#router.publish(subject, message, message.size);
  }

  /** A notice now (one an unsubscribe must be preceded by, PW-PUBSUB-031). */
  sendNotice(notice: SlowConsumerNotice): void {
    this.#receiver.slowConsumer(notice.subscriptionId, notice.dropped);
  }

  /** Ends every subscription; nothing is routed or handed over afterwards. */
  close(): void {
    this.#closed = true;
    this.endpoint.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(): void {
    if (this.#closed) throw new PolywireError("CONNECTION_LOST", "the connection is closed");
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushTask);
  }

  #flush(): void {
    this.#scheduled = false;
    const endpoint = this.endpoint;
    if (endpoint.closed) return;
    for (const notice of endpoint.takeNotices()) this.sendNotice(notice);
    if (endpoint.pending > 0) endpoint.drain(this.#writer);
    this.#armNoticeTimer();
  }

  // As PubSubConnection's: one timer, at the earliest notice not yet due.
  #armNoticeTimer(): void {
    const due = this.endpoint.nextNoticeAt();
    if (due === undefined || due >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#flush();
    }, Math.max(0, Math.ceil(due - this.#clock())));
  }
}
