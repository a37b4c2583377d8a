import { PublishResponseSchema, SlowConsumerSchema } from "@polywire/proto/pubsub";
import { FrameKind } from "@polywire/proto/session";
import { checkPublishSubject, checkQueueGroup, checkReplyTo, decodeMessage, parsePattern, PolywireError } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { Connection } from "../connection.js";
import type { BrokerLink } from "../broker-link.js";
import { callSignal, type CallOptions } from "../signal.js";
import { BodyCopier } from "./body-copy.js";
import { Message, toBytes, toWireHeaders, type MessageData, type MessageHeadersInit } from "./message.js";
import { Subscription, type SubscribeOptions, type SubscriptionOwner } from "./subscription.js";
import { decodeDelivery, encodePublish } from "./wire.js";

/** Options of `client.publish`. */
export interface PublishOptions extends CallOptions {
  readonly headers?: MessageHeadersInit;
  /** Where receivers should answer (a subject, PW-PUBSUB-004). */
  readonly replyTo?: string;
  /**
   * Wait for the broker's PublishResponse and resolve with `routed`, the
   * subscriptions it went to (PW-PUBSUB-021). Default true; false resolves
   * once the message is handed to the connection, and a broker error is
   * reported as the client's `error` event.
   */
  readonly ack?: boolean;
}

/** `max_pending` of a subscription that names none: the broker's default (PW-PUBSUB-030). */
export const DEFAULT_MAX_PENDING = 65_536;
// Subjects whose PublishRequest is kept encoded; past this many the cache starts over.
const REQUEST_CACHE_SIZE = 1024;
const NO_ANSWER = { expectResponse: false } as const;

/**
 * A client's side of the pub/sub plane (§9) on its primary connection:
 * publishing, subscriptions by the ids it gives them, Deliveries and
 * SlowConsumer notices routed to them, and every active subscription made
 * anew on each new connection after a reconnect.
 */
export class PubSub implements SubscriptionOwner {
  readonly #link: BrokerLink;
  readonly #subscriptions = new Map<number, Subscription>();
  // The connection each subscription was made on; a new connection makes it again.
  readonly #madeOn = new WeakMap<Subscription, Connection>();
  #nextId = 1;
  #attached: Connection | undefined;
  readonly #bodies = new BodyCopier();
  readonly #unacked = new Map<string, Uint8Array>();
  readonly #acked = new Map<string, Uint8Array>();
  readonly #onFrame = (frame: Frame): void => this.#frame(frame);

  constructor(link: BrokerLink) {
    this.#link = link;
    link.on("state", (state) => {
      const connection = link.ready;
      if (state === "ready" && connection !== undefined) this.#attach(connection);
    });
    const connection = link.ready;
    if (connection !== undefined) this.#attach(connection);
  }

  subscribe(pattern: string, options: SubscribeOptions = {}): Subscription {
    // The grammar is checked here, with the broker's typed errors (PW-PUBSUB-002, -003, -012).
    parsePattern(pattern);
    const queue = options.queue ?? "";
    checkQueueGroup(queue);
    const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    if (!Number.isInteger(maxPending) || maxPending < 1 || maxPending > 0xffff_ffff) {
      throw new PolywireError("INVALID_ARGUMENT", `maxPending must be an integer from 1 to 2^32-1, got ${String(maxPending)}`);
    }
    const after = options.afterMessages;
    if (after !== undefined && (!Number.isInteger(after) || after < 1 || after > 0xffff_ffff)) {
      throw new PolywireError("INVALID_ARGUMENT", `afterMessages must be an integer from 1 to 2^32-1, got ${String(after)}`);
    }
    const subscription = new Subscription(this, this.#takeId(), pattern, queue, maxPending);
    this.#subscriptions.set(subscription.id, subscription);
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) subscription.end(PolywireError.from(signal.reason, "CANCELLED"));
      else signal.addEventListener("abort", () => void subscription.close(), { once: true });
    }
    void this.#make(subscription, false).then(async () => {
      if (after !== undefined && subscription.active) await subscription.unsubscribe({ afterMessages: after });
    }).catch(() => {});
    return subscription;
  }

  publish(subject: string, data: MessageData, options: PublishOptions = {}): Promise<number | undefined> {
    try {
      const ack = options.ack ?? true;
      const plain = options.replyTo === undefined && options.headers === undefined;
      // The usual fire-and-forget publish on a ready connection: no promise of its own, the request encoded once per subject.
      if (!ack && plain && options.signal === undefined && options.timeoutMs === undefined) {
        const connection = this.#link.ready;
        if (connection !== undefined) return connection.request(FrameKind.PUBLISH_REQUEST, this.#plainRequest(subject, false), toBytes(data, "message data"), NO_ANSWER);
      }
      const message = plain ? this.#plainRequest(subject, ack) : this.#request(subject, options, ack);
      return this.#send(message, toBytes(data, "message data"), ack, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // A PublishRequest with headers or reply_to.
  #request(subject: string, options: PublishOptions, ack: boolean): Uint8Array {
    checkPublishSubject(subject);
    const replyTo = options.replyTo ?? "";
    checkReplyTo(replyTo);
    return encodePublish(subject, replyTo, toWireHeaders(options.headers), ack);
  }

  // A PublishRequest of just a subject (and ack), checked and encoded once
  // per subject: the transport copies it, so one buffer serves every publish.
  #plainRequest(subject: string, ack: boolean): Uint8Array {
    const cache = ack ? this.#acked : this.#unacked;
    let message = cache.get(subject);
    if (message === undefined) {
      checkPublishSubject(subject);
      message = encodePublish(subject, "", [], ack);
      if (cache.size >= REQUEST_CACHE_SIZE) cache.clear();
      cache.set(subject, message);
    }
    return message;
  }

  async #send(message: Uint8Array, body: Uint8Array, ack: boolean, options: PublishOptions): Promise<number | undefined> {
    const signal = callSignal(options);
    const connection = this.#link.ready ?? await this.#link.acquire(signal);
    const requestOptions = signal === undefined ? {} : { signal };
    if (!ack) {
      await connection.request(FrameKind.PUBLISH_REQUEST, message, body, { ...requestOptions, expectResponse: false });
      return undefined;
    }
    const answer = await connection.request(FrameKind.PUBLISH_REQUEST, message, body, requestOptions);
    return decodeMessage(PublishResponseSchema, answer.message).routed;
  }

  /** Resolves once the broker has routed everything published before (a Ping answered in order behind it). */
  async flush(options: CallOptions = {}): Promise<void> {
    const signal = callSignal(options);
    const connection = this.#link.ready ?? await this.#link.acquire(signal);
    await connection.ping(signal === undefined ? {} : { signal });
  }

  /** Ends every subscription (the client closes, or gave up reconnecting with `error`). */
  close(error?: PolywireError): void {
    for (const subscription of [...this.#subscriptions.values()]) subscription.end(error);
  }

  async unsubscribe(subscription: Subscription, after: number): Promise<void> {
    const connection = this.#madeOn.get(subscription);
    if (connection === undefined || connection !== this.#link.ready) return;
    try {
      await connection.call(FrameKind.UNSUBSCRIBE_REQUEST, { subscriptionId: subscription.id, afterMessages: after });
    } catch (error) {
      const failure = PolywireError.from(error);
      // The broker ended it by itself already (PW-PUBSUB-014), or the connection went with it (PW-PUBSUB-015).
      if (failure.code !== "UNKNOWN_SUBSCRIPTION" && failure.code !== "CONNECTION_LOST") throw failure;
    }
  }

  forget(subscription: Subscription): void {
    this.#subscriptions.delete(subscription.id);
  }

  #takeId(): number {
    // Ids are never reused while the client lives (2^32 - 1 of them): one the broker still holds for an ending subscription (PW-PUBSUB-014) is never asked for again.
    const id = this.#nextId;
    this.#nextId = id === 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  async #make(subscription: Subscription, again: boolean): Promise<void> {
    let connection: Connection;
    try {
      connection = this.#link.ready ?? await this.#link.acquire();
    } catch (error) {
      subscription.end(PolywireError.from(error, "CONNECTION_LOST"));
      return;
    }
    if (!subscription.active || this.#madeOn.get(subscription) === connection) return;
    this.#attach(connection);
    this.#madeOn.set(subscription, connection);
    try {
      await connection.call(FrameKind.SUBSCRIBE_REQUEST, { subscriptionId: subscription.id, subject: subscription.pattern, queueGroup: subscription.queue, maxPending: subscription.maxPending });
      subscription.activated(again);
    } catch (error) {
      const failure = PolywireError.from(error);
      // A connection lost meanwhile is made good by the next one.
      if (failure.code !== "CONNECTION_LOST") subscription.end(failure);
    }
  }

  #attach(connection: Connection): void {
    if (this.#attached === connection) return;
    this.#attached?.off("frame", this.#onFrame);
    this.#attached = connection;
    connection.on("frame", this.#onFrame);
    for (const subscription of this.#subscriptions.values()) {
      const made = this.#madeOn.get(subscription);
      if (made !== undefined && made !== connection) void this.#make(subscription, true);
    }
  }

  #frame(frame: Frame): void {
    if (frame.kind === FrameKind.DELIVERY) {
      const d = decodeDelivery(frame.message);
      const subscription = this.#subscriptions.get(d.subscriptionId);
      if (subscription === undefined) return;
      subscription.deliver(new Message(d.subject, d.replyTo, d.headers, this.#bodies.own(frame.payload), d.sequence));
    } else if (frame.kind === FrameKind.SLOW_CONSUMER) {
      const notice = decodeMessage(SlowConsumerSchema, frame.message);
      this.#subscriptions.get(notice.subscriptionId)?.notice(Number(notice.dropped));
    }
  }
}
