import { create, toBinary } from "@bufbuild/protobuf";
import { SlowConsumerSchema } from "@polywire/proto/pubsub";
import { Feature, FrameKind } from "@polywire/proto/session";
import { DeliveryEncoder } from "./pubsub/delivery-codec.js";
import type { PlaneMessage } from "./pubsub/plane-message.js";
import type { DeliveryWriter, Endpoint, EndpointOptions, PubSubRouter, SlowConsumerNotice } from "./pubsub/index.js";
import type { RequestSession, SessionPush } from "./route.js";

/** Encodes a SlowConsumer notice (PW-PUBSUB-031). */
export function encodeSlowConsumer(notice: SlowConsumerNotice): Uint8Array {
  return toBinary(SlowConsumerSchema, create(SlowConsumerSchema, { subscriptionId: notice.subscriptionId, subject: notice.subject, dropped: BigInt(notice.dropped) }));
}

/**
 * One session's side of the pub/sub plane: the core's {@link Endpoint}
 * (its subscriptions and undelivered messages) wired to the session's push
 * output. Routing only queues into the endpoint; this writes the queue out
 * while the transport takes writes, and stops when it pushes back, so a
 * client that reads slowly has its messages dropped by the endpoint's
 * limits (PW-PUBSUB-030, -033) and never slows a publisher (PW-PUBSUB-032).
 * It resumes when the transport drains. SlowConsumer notices go out first,
 * when due, on a timer (PW-PUBSUB-031). The session's close ends every
 * subscription (PW-PUBSUB-015).
 */
export class PubSubConnection {
  readonly endpoint: Endpoint<PlaneMessage>;
  readonly #push: SessionPush;
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #clock: () => number;
  readonly #flushTask = (): void => this.#flush();
  readonly #writer: DeliveryWriter<PlaneMessage>;

  constructor(router: PubSubRouter<PlaneMessage>, session: RequestSession, options: Omit<EndpointOptions, "notices">, clock: () => number) {
    this.#push = session.push;
    this.#clock = clock;
    this.endpoint = router.endpoint({ wake: () => this.#schedule() }, { ...options, notices: session.features.has(Feature.SLOW_CONSUMER_NOTICE) });
    const push = this.#push;
    // Each Delivery is encoded straight into the transport's output, by one encoder set anew for each.
    const delivery = new DeliveryEncoder();
    this.#writer = (sub, sequence, message) => push.write(FrameKind.DELIVERY, delivery.set(sub.id, sequence, message.shared), message.body);
    push.onWritable(() => this.#flush());
    session.signal.addEventListener("abort", () => this.close(), { once: true });
  }

  /** Writes a notice now, whatever the transport says: one an UnsubscribeResponse must follow (PW-PUBSUB-031). */
  sendNotice(notice: SlowConsumerNotice): void {
    this.#push.write(FrameKind.SLOW_CONSUMER, encodeSlowConsumer(notice));
  }

  /** Ends every subscription; nothing is routed to this connection or written for it afterwards. */
  close(): void {
    this.endpoint.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // Routing calls wake synchronously, often many times in one read of
  // frames: one flush after the reading is done writes the lot, corked.
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushTask);
  }

  #flush(): void {
    this.#scheduled = false;
    const endpoint = this.endpoint;
    if (endpoint.closed) return;
    const push = this.#push;
    // Not writable: the transport's drain calls this again (and no timer
    // is armed meanwhile, which would only find the transport full again).
    if (push.writable) {
      for (const notice of endpoint.takeNotices()) push.write(FrameKind.SLOW_CONSUMER, encodeSlowConsumer(notice));
      if (push.writable && endpoint.pending > 0) endpoint.drain(this.#writer);
      this.#armNoticeTimer();
    }
    // What stays queued stops borrowing the reads it arrived in.
    endpoint.settle();
  }

  // A notice not yet due (notices of one subscription are spaced) is sent
  // by a timer; one timer per connection, at the earliest due notice.
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
