// PW-TRANS-012: the pub/sub plane between a client and a broker in one
// process. Over `memory://` the broker's end of the connection offers an
// object that routes publishes and subscriptions synchronously and hands
// Deliveries to the client as values: no frame is encoded, decoded or
// queued in the transport, and a body goes from publisher to subscriber by
// reference. Over `worker://` (another thread) the same calls travel as
// compact records on the connection's port and return promises
// (`transport/worker-pubsub.ts`). Only the pub/sub plane's three requests
// and two pushes take this path; everything else (handshake, keepalive,
// Close, other planes) stays on the frames of the same connection, whose
// life it shares.

/** Message headers as values: key, then value bytes; keys may repeat, order kept (PW-PUBSUB-020). */
export type DirectHeaders = ReadonlyArray<readonly [string, Uint8Array]>;

/** What the client gives the broker: where Deliveries and SlowConsumer notices go. */
export interface DirectPubSubReceiver {
  /**
   * One Delivery (PW-PUBSUB-023). `body` is shared by every subscription of
   * this process the message went to: receivers must not modify it.
   */
  deliver(subscriptionId: number, sequence: number, subject: string, replyTo: string, headers: DirectHeaders, body: Uint8Array): void;
  /** One SlowConsumer notice (PW-PUBSUB-031). */
  slowConsumer(subscriptionId: number, dropped: number): void;
}

/**
 * The broker's pub/sub plane as the client calls it without frames. In
 * process each call does at once what the broker does on reading the
 * request frame, with the same checks and the same typed errors (thrown, a
 * `PolywireError`), and returns what the response would carry; from
 * another thread it returns a promise of the same, its effects ordered
 * after every call made before. Once the connection is closed, every call
 * fails with CONNECTION_LOST.
 */
export interface DirectPubSub {
  /** True when `publish` keeps the body by reference (in process): the caller copies a body it does not hand over. */
  readonly byReference: boolean;
  /** A SubscribeRequest: active when this returns or its promise resolves (PW-PUBSUB-011). */
  subscribe(subscriptionId: number, pattern: string, queueGroup: string, maxPending: number): void | Promise<void>;
  /** An UnsubscribeRequest; its last SlowConsumer notice reaches the receiver before it completes (PW-PUBSUB-031). */
  unsubscribe(subscriptionId: number, afterMessages: number): void | Promise<void>;
  /**
   * A PublishRequest: routes the message and returns `routed` (PW-PUBSUB-021).
   * In process the broker keeps `body` by reference until each delivery is
   * handed over: the caller must not modify it afterwards. `ack` false says
   * the caller does not need `routed` (another thread then sends no answer).
   */
  publish(subject: string, replyTo: string, headers: DirectHeaders, body: Uint8Array, ack?: boolean): number | Promise<number> | undefined;
  /** From another thread: resolves once every call made before has taken effect. Absent in process, where each has when it returns. */
  flush?(): Promise<void>;
}

/** What the broker's end of an in-process connection offers under {@link DIRECT_PUBSUB}. */
export type DirectPubSubOffer = (receiver: DirectPubSubReceiver) => DirectPubSub;

/**
 * The key of the offer on an in-process transport. `Symbol.for`, so that a
 * client and a broker bundled with different copies of this package meet
 * (as the memory registry does).
 */
export const DIRECT_PUBSUB: unique symbol = Symbol.for("@polywire/core/direct-pubsub/v1");
