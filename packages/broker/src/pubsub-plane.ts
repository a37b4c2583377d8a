import { create, toBinary } from "@bufbuild/protobuf";
import { PublishResponseSchema, SubscribeResponseSchema, UnsubscribeResponseSchema } from "@polywire/proto/pubsub";
import { Feature, FrameKind } from "@polywire/proto/session";
import { DIRECT_PUBSUB, PolywireError, type DirectPubSubOffer, type Transport } from "@polywire/core";
import { integerSetting } from "./config/errors.js";
import { PubSubConnection } from "./pubsub-connection.js";
import { PubSubDirect, type DirectSession } from "./pubsub-direct.js";
import { PlaneMessage } from "./pubsub/plane-message.js";
import { decodePublishRequest } from "./pubsub/publish-codec.js";
import { checkHeaderKeys, checkReplyTo, DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_BYTES, DEFAULT_MAX_SUBSCRIPTIONS, PubSubRouter } from "./pubsub/index.js";
import { route, type Route, type RequestSession } from "./route.js";

/** Pub/sub limits of a broker (§9); every one has the reference broker's default. */
export interface PubSubOptions {
  /** Subscriptions one connection may hold (PW-PUBSUB-016). Default 65,536. */
  readonly maxSubscriptions?: number;
  /** Bytes of messages routed to one connection and not yet written (PW-PUBSUB-033). Default 64 MiB. */
  readonly maxPendingBytes?: number;
  /** `max_pending` of a subscription that asks for 0 (PW-PUBSUB-030). Default 65,536. */
  readonly defaultMaxPending?: number;
}

// A body whose bytes are a small part of the buffer they arrived in is
// copied, so that holding it does not hold the whole read (the byte budget
// counts the body, not the buffer behind it).
const COPY_BELOW_SHARE = 2;

function ownBody(payload: Uint8Array): Uint8Array {
  return payload.byteLength * COPY_BELOW_SHARE < payload.buffer.byteLength ? payload.slice() : payload;
}

function positive(name: keyof PubSubOptions, value: number | undefined, fallback: number): number {
  return value === undefined ? fallback : integerSetting(`pubsub.${name}`, value, 1, 0xffff_ffff, "a positive 32-bit integer");
}

/** Checks the options, a BrokerConfigError naming a bad one; the broker does so before it opens anything. */
export function checkPubSubOptions(options: PubSubOptions = {}): void {
  void new PubSubPlane(options);
}

/**
 * The pub/sub plane of a broker (§9): one {@link PubSubRouter} for every
 * connection, a {@link PubSubConnection} per session that subscribes, and
 * the routes of SubscribeRequest, UnsubscribeRequest and PublishRequest.
 */
export class PubSubPlane {
  readonly router: PubSubRouter<PlaneMessage>;
  readonly #connections = new WeakMap<RequestSession, PubSubConnection>();
  readonly #endpointOptions: { maxSubscriptions: number; maxPendingBytes: number };
  readonly #clock = (): number => performance.now();

  constructor(options: PubSubOptions = {}) {
    this.#endpointOptions = {
      maxSubscriptions: positive("maxSubscriptions", options.maxSubscriptions, DEFAULT_MAX_SUBSCRIPTIONS),
      maxPendingBytes: positive("maxPendingBytes", options.maxPendingBytes, DEFAULT_MAX_PENDING_BYTES),
    };
    this.router = new PubSubRouter<PlaneMessage>({
      clock: this.#clock,
      defaultMaxPending: positive("defaultMaxPending", options.defaultMaxPending, DEFAULT_MAX_PENDING),
    });
  }

  #connection(session: RequestSession): PubSubConnection {
    let connection = this.#connections.get(session);
    if (connection === undefined) {
      if (session.signal.aborted) throw new PolywireError("CONNECTION_LOST", "the connection is closing");
      connection = new PubSubConnection(this.router, session, this.#endpointOptions, this.#clock);
      this.#connections.set(session, connection);
    }
    return connection;
  }

  /**
   * Offers the in-process path (PW-TRANS-012) on `transport`'s other end
   * when it is an in-process one (`memory://`). The client takes it once
   * its handshake is done; a session without FEATURE_PUBSUB is refused.
   */
  offerDirect(session: DirectSession, transport: Transport): void {
    if (transport.provide === undefined) return;
    let taken = false;
    const offer: DirectPubSubOffer = (receiver) => {
      if (!session.features.has(Feature.PUBSUB)) throw new PolywireError("FEATURE_NOT_NEGOTIATED", "pub/sub was not granted on this connection (PW-SESS-006)");
      if (session.signal.aborted) throw new PolywireError("CONNECTION_LOST", "the connection is closed");
      if (taken) throw new PolywireError("INVALID_ARGUMENT", "the in-process pub/sub path of this connection is already taken");
      taken = true;
      return new PubSubDirect(this.router, session, receiver, this.#endpointOptions, this.#clock);
    };
    transport.provide(DIRECT_PUBSUB, offer);
  }

  routes(): Route[] {
    return [
      route({
        kind: FrameKind.SUBSCRIBE_REQUEST,
        handle: ({ message, session }) => {
          const { subscriptionId, subject, queueGroup, maxPending } = message;
          // Active when this returns, before the response is written (PW-PUBSUB-011).
          this.#connection(session).endpoint.subscribe(subscriptionId, subject, queueGroup, maxPending);
          return { message: toBinary(SubscribeResponseSchema, create(SubscribeResponseSchema, { subscriptionId })) };
        },
      }),
      route({
        kind: FrameKind.UNSUBSCRIBE_REQUEST,
        handle: ({ message, session }) => {
          const { subscriptionId, afterMessages } = message;
          const connection = this.#connections.get(session);
          if (connection === undefined) throw new PolywireError("UNKNOWN_SUBSCRIPTION", `subscription ${subscriptionId} is not active on this connection`);
          // Its last drops are reported before the response (PW-PUBSUB-031).
          const notice = connection.endpoint.unsubscribe(subscriptionId, afterMessages);
          if (notice !== undefined) connection.sendNotice(notice);
          return { message: toBinary(UnsubscribeResponseSchema, create(UnsubscribeResponseSchema, { subscriptionId })) };
        },
      }),
      route({
        kind: FrameKind.PUBLISH_REQUEST,
        decode: decodePublishRequest,
        // PW-PUBSUB-021: a PublishResponse only with `ack`; an invalid request is answered with an Error either way (PW-PUBSUB-022).
        answers: (m) => m.ack,
        handle: ({ message, frame }) => {
          checkReplyTo(message.replyTo);
          checkHeaderKeys(message.headers);
          const m = PlaneMessage.framed(message.subject, message.replyTo, message.headers, ownBody(frame.payload));
          // Throws INVALID_SUBJECT or RESERVED_SUBJECT before routing anything (PW-PUBSUB-001, -003).
          const routed = this.router.publish(message.subject, m, m.size);
          return message.ack ? { message: toBinary(PublishResponseSchema, create(PublishResponseSchema, { routed })) } : undefined;
        },
      }),
    ];
  }
}
