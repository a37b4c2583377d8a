import { PublishResponseSchema, SlowConsumerSchema } from "@polywire/proto/pubsub";
import { Feature, FrameKind } from "@polywire/proto/session";
import { checkPublishSubject, checkQueueGroup, checkReplyTo, decodeMessage, DIRECT_PUBSUB, frameSize, parsePattern, PolywireError, type DirectPubSub, type DirectPubSubReceiver } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { Connection } from "../connection.js";
import type { BrokerLink } from "../broker-link.js";
import { callSignal, checkTimeout, type CallOptions } from "../signal.js";
import { Message, toBytes, toHeaderPairs, toWireHeaders, type MessageData, type MessageHeadersInit } from "./message.js";
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
  /**
   * Hands `data` over instead of lending it (a Uint8Array body): over
   * `memory://` (PW-TRANS-012) every subscriber in this process then
   * receives this very array, not a copy. The caller must not modify it
   * afterwards, nor must subscribers (it is one array for all of them).
   * Default false: the body is copied once at publish, so the caller may
   * reuse its buffer at once. Other transports copy it onto the wire
   * either way.
   */
  readonly transfer?: boolean;
}

/** `max_pending` of a subscription that names none: the broker's default (PW-PUBSUB-030). */
export const DEFAULT_MAX_PENDING = 65_536;
// What an in-process publish without `ack` resolves with: one settled promise serves them all.
const SENT: Promise<undefined> = Promise.resolve(undefined);
// A body that is a small part of the read it arrived in is copied, so that
// keeping a message does not keep the whole read.
const COPY_BELOW_SHARE = 2;

/**
 * A client's side of the pub/sub plane (§9) on its primary connection:
 * publishing, subscriptions by the ids it gives them, Deliveries and
 * SlowConsumer notices routed to them, and every active subscription made
 * anew on each new connection after a reconnect. Over `memory://` the
 * broker's end offers its plane as calls (PW-TRANS-012): publishes are
 * routed and subscriptions made synchronously, and Deliveries arrive as
 * values, without frames.
 */
export class PubSub implements SubscriptionOwner {
  readonly #link: BrokerLink;
  readonly #subscriptions = new Map<number, Subscription>();
  // The connection each subscription was made on; a new connection makes it again.
  readonly #madeOn = new WeakMap<Subscription, Connection>();
  #nextId = 1;
  #attached: Connection | undefined;
  // The in-process plane of `#attached`, when its transport offers one (PW-TRANS-012).
  #direct: DirectPubSub | undefined;
  #maxFrame = 0;
  readonly #receiver: DirectPubSubReceiver = {
    deliver: (subscriptionId, sequence, subject, replyTo, headers, body) => {
      this.#subscriptions.get(subscriptionId)?.deliver(new Message(subject, replyTo, headers, body, sequence));
    },
    slowConsumer: (subscriptionId, dropped) => this.#subscriptions.get(subscriptionId)?.notice(dropped),
  };
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
    const limit = async (): Promise<void> => {
      if (after !== undefined && subscription.active) await subscription.unsubscribe({ afterMessages: after });
    };
    // In process it is made now, so that a publish right after this call is routed to it, as frames would be in order.
    const direct = this.#directNow();
    if (direct !== undefined) {
      this.#makeDirect(direct, subscription, false);
      void limit().catch(() => {});
    } else {
      void this.#make(subscription, false).then(limit).catch(() => {});
    }
    return subscription;
  }

  publish(subject: string, data: MessageData, options: PublishOptions = {}): Promise<number | undefined> {
    const direct = this.#directNow();
    return direct === undefined ? this.#publishFramed(subject, data, options) : this.#publishDirect(direct, subject, data, options);
  }

  // PW-TRANS-012: routed before this returns; the same checks and typed errors as over frames, from the broker's own code.
  #publishDirect(direct: DirectPubSub, subject: string, data: MessageData, options: PublishOptions): Promise<number | undefined> {
    try {
      checkTimeout(options.timeoutMs);
      if (options.signal?.aborted === true) throw PolywireError.from(options.signal.reason, "CANCELLED");
      const replyTo = options.replyTo ?? "";
      const headers = options.headers === undefined ? [] : toHeaderPairs(options.headers);
      let body = toBytes(data, "message data");
      if (body === data && options.transfer !== true && direct.byReference) body = body.slice();
      this.#checkSize(subject, replyTo, options.headers, body);
      const ack = options.ack !== false;
      const routed = direct.publish(subject, replyTo, headers, body, ack);
      return ack ? Promise.resolve(routed as number | Promise<number>) : SENT;
    } catch (error) {
      return Promise.reject(PolywireError.from(error));
    }
  }

  // The frame this publish would have been must fit the broker's max_frame_size (FRAME_TOO_LARGE), as over frames.
  #checkSize(subject: string, replyTo: string, headers: MessageHeadersInit | undefined, body: Uint8Array): void {
    const limit = this.#maxFrame;
    // A UTF-16 unit is at most 3 bytes of UTF-8: most publishes are far below the limit and encode nothing to know it.
    if (headers === undefined && body.byteLength + 3 * (subject.length + replyTo.length) + 64 <= limit) return;
    const checksum = this.#attached?.hasFeature(Feature.FRAME_CHECKSUM) ?? false;
    const size = frameSize(encodePublish(subject, replyTo, toWireHeaders(headers), false).byteLength, body.byteLength, checksum);
    if (size > limit) throw new PolywireError("FRAME_TOO_LARGE", `a ${size}-byte frame exceeds the broker's max_frame_size ${limit}`, { limit });
  }

  async #publishFramed(subject: string, data: MessageData, options: PublishOptions): Promise<number | undefined> {
    checkPublishSubject(subject);
    const replyTo = options.replyTo ?? "";
    checkReplyTo(replyTo);
    const body = toBytes(data, "message data");
    const ack = options.ack ?? true;
    const message = encodePublish(subject, replyTo, toWireHeaders(options.headers), ack);
    const signal = callSignal(options);
    const connection = this.#link.ready ?? await this.#link.acquire(signal);
    this.#attach(connection);
    if (this.#direct !== undefined) return this.#publishDirect(this.#direct, subject, data, options);
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
    this.#attach(connection);
    // In process every publish was routed when it returned; from another thread the plane says when.
    if (this.#direct !== undefined) return await this.#direct.flush?.();
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
      if (connection === this.#attached && this.#direct !== undefined) await this.#direct.unsubscribe(subscription.id, after);
      else await connection.call(FrameKind.UNSUBSCRIBE_REQUEST, { subscriptionId: subscription.id, afterMessages: after });
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
    if (this.#direct !== undefined) {
      this.#makeDirect(this.#direct, subscription, again);
      return;
    }
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

  #makeDirect(direct: DirectPubSub, subscription: Subscription, again: boolean): void {
    this.#madeOn.set(subscription, this.#attached as Connection);
    const refused = (error: unknown): void => {
      const failure = PolywireError.from(error);
      if (failure.code !== "CONNECTION_LOST") subscription.end(failure);
    };
    try {
      const made = direct.subscribe(subscription.id, subscription.pattern, subscription.queue, subscription.maxPending);
      if (made === undefined) subscription.activated(again);
      else made.then(() => subscription.activated(again), refused);
    } catch (error) {
      refused(error);
    }
  }

  // The in-process plane of the ready connection, if it offers one.
  #directNow(): DirectPubSub | undefined {
    const connection = this.#link.ready;
    if (connection === undefined) return undefined;
    this.#attach(connection);
    return this.#direct;
  }

  #attach(connection: Connection): void {
    if (this.#attached === connection) return;
    this.#attached?.off("frame", this.#onFrame);
    this.#attached = connection;
    this.#direct = undefined;
    this.#maxFrame = connection.limits.maxFrameSize;
    const offer = connection.peerService(DIRECT_PUBSUB);
    if (typeof offer === "function") {
      try {
        this.#direct = (offer as (receiver: DirectPubSubReceiver) => DirectPubSub)(this.#receiver);
      } catch {
        // Refused (pub/sub not granted, or the connection closing): frames say why, as they would anyway.
      }
    }
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
      const payload = frame.payload;
      const data = payload.byteLength * COPY_BELOW_SHARE < payload.buffer.byteLength ? payload.slice() : payload;
      subscription.deliver(new Message(d.subject, d.replyTo, d.headers, data, d.sequence));
    } else if (frame.kind === FrameKind.SLOW_CONSUMER) {
      const notice = decodeMessage(SlowConsumerSchema, frame.message);
      this.#subscriptions.get(notice.subscriptionId)?.notice(Number(notice.dropped));
    }
  }
}
