import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  GroupHeartbeatRequestSchema, GroupHeartbeatResponseSchema, GroupNoticeSchema, OffsetCommitRequestSchema, OffsetCommitResponseSchema,
  OffsetFetchRequestSchema, OffsetFetchResponseSchema,
} from "@polywire/proto/groups";
import {
  FetchRequestSchema, FetchResponseSchema, InitProducerRequestSchema, InitProducerResponseSchema,
  ListOffsetsRequestSchema, ListOffsetsResponseSchema, MetadataRequestSchema, MetadataResponseSchema,
  ProduceRequestSchema, ProduceResponseSchema,
} from "@polywire/proto/log";
import {
  DeliverySchema, PublishRequestSchema, PublishResponseSchema, SlowConsumerSchema, SubscribeRequestSchema,
  SubscribeResponseSchema, UnsubscribeRequestSchema, UnsubscribeResponseSchema,
} from "@polywire/proto/pubsub";
import {
  CallCancelSchema, CallChunkSchema, CallCreditSchema, CallRequestSchema, CallResponseSchema,
  RegisterResponderRequestSchema, RegisterResponderResponseSchema, UnregisterResponderRequestSchema,
  UnregisterResponderResponseSchema,
} from "@polywire/proto/rpc";
import {
  AuthChallengeSchema, AuthResponseSchema, CloseSchema, DrainSchema, ErrorSchema, Feature, FrameKind, HelloSchema,
  PingSchema, PongSchema, WelcomeSchema,
} from "@polywire/proto/session";

/** Which end of a connection sends a frame kind. */
export type FrameSender = "client" | "broker" | "both";

/** One row of the frame-kind table of spec §3.5 (PW-SESS-021). */
export interface FrameKindInfo<M extends DescMessage = DescMessage, A extends FrameKind | undefined = FrameKind | undefined> {
  readonly kind: FrameKind;
  /** The message the frame's protobuf section holds. */
  readonly message: M;
  readonly sentBy: FrameSender;
  /** The kind that answers it, for requests (an Error may answer instead, PW-SESS-012). */
  readonly answeredBy: A;
  /** Features that must all be granted for the kind to be used (PW-SESS-005, PW-SESS-006). */
  readonly features: readonly Feature[];
  /** A request that starts work: refused with SHUTTING_DOWN once the broker drains (PW-SESS-015). */
  readonly startsWork: boolean;
}

const { LOG, IDEMPOTENCE, GROUPS, PUBSUB, REQUEST_REPLY, DRAIN_NOTICE, SLOW_CONSUMER_NOTICE, GROUP_NOTICE } = Feature;
const WORK = true;

function row<M extends DescMessage, A extends FrameKind | undefined>(
  kind: FrameKind, message: M, sentBy: FrameSender, answeredBy: A, features: readonly Feature[] = [], startsWork = false,
): FrameKindInfo<M, A> {
  return Object.freeze({ kind, message, sentBy, answeredBy, features: Object.freeze([...features]), startsWork });
}

/**
 * The protocol table: spec §3.5 (every frame kind, its message, who sends
 * it, what answers it, its features) plus which requests start work
 * (PW-SESS-015), by FrameKind value. The client and the broker both read
 * it; a test checks it against `spec/vectors/frame-kinds.json`, which is
 * generated from the spec, and against PW-SESS-015.
 */
export const protocolTable = {
  [FrameKind.HELLO]: row(FrameKind.HELLO, HelloSchema, "client", FrameKind.WELCOME),
  [FrameKind.WELCOME]: row(FrameKind.WELCOME, WelcomeSchema, "broker", undefined),
  [FrameKind.AUTH_CHALLENGE]: row(FrameKind.AUTH_CHALLENGE, AuthChallengeSchema, "broker", FrameKind.AUTH_RESPONSE),
  [FrameKind.AUTH_RESPONSE]: row(FrameKind.AUTH_RESPONSE, AuthResponseSchema, "client", undefined),
  [FrameKind.PING]: row(FrameKind.PING, PingSchema, "both", FrameKind.PONG),
  [FrameKind.PONG]: row(FrameKind.PONG, PongSchema, "both", undefined),
  [FrameKind.ERROR]: row(FrameKind.ERROR, ErrorSchema, "both", undefined),
  [FrameKind.DRAIN]: row(FrameKind.DRAIN, DrainSchema, "broker", undefined, [DRAIN_NOTICE]),
  [FrameKind.CLOSE]: row(FrameKind.CLOSE, CloseSchema, "both", undefined),
  [FrameKind.PRODUCE_REQUEST]: row(FrameKind.PRODUCE_REQUEST, ProduceRequestSchema, "client", FrameKind.PRODUCE_RESPONSE, [LOG], WORK),
  [FrameKind.PRODUCE_RESPONSE]: row(FrameKind.PRODUCE_RESPONSE, ProduceResponseSchema, "broker", undefined, [LOG]),
  [FrameKind.FETCH_REQUEST]: row(FrameKind.FETCH_REQUEST, FetchRequestSchema, "client", FrameKind.FETCH_RESPONSE, [LOG]),
  [FrameKind.FETCH_RESPONSE]: row(FrameKind.FETCH_RESPONSE, FetchResponseSchema, "broker", undefined, [LOG]),
  [FrameKind.LIST_OFFSETS_REQUEST]: row(FrameKind.LIST_OFFSETS_REQUEST, ListOffsetsRequestSchema, "client", FrameKind.LIST_OFFSETS_RESPONSE, [LOG]),
  [FrameKind.LIST_OFFSETS_RESPONSE]: row(FrameKind.LIST_OFFSETS_RESPONSE, ListOffsetsResponseSchema, "broker", undefined, [LOG]),
  [FrameKind.METADATA_REQUEST]: row(FrameKind.METADATA_REQUEST, MetadataRequestSchema, "client", FrameKind.METADATA_RESPONSE, [LOG]),
  [FrameKind.METADATA_RESPONSE]: row(FrameKind.METADATA_RESPONSE, MetadataResponseSchema, "broker", undefined, [LOG]),
  [FrameKind.INIT_PRODUCER_REQUEST]: row(FrameKind.INIT_PRODUCER_REQUEST, InitProducerRequestSchema, "client", FrameKind.INIT_PRODUCER_RESPONSE, [LOG, IDEMPOTENCE]),
  [FrameKind.INIT_PRODUCER_RESPONSE]: row(FrameKind.INIT_PRODUCER_RESPONSE, InitProducerResponseSchema, "broker", undefined, [LOG, IDEMPOTENCE]),
  [FrameKind.GROUP_HEARTBEAT_REQUEST]: row(FrameKind.GROUP_HEARTBEAT_REQUEST, GroupHeartbeatRequestSchema, "client", FrameKind.GROUP_HEARTBEAT_RESPONSE, [GROUPS]),
  [FrameKind.GROUP_HEARTBEAT_RESPONSE]: row(FrameKind.GROUP_HEARTBEAT_RESPONSE, GroupHeartbeatResponseSchema, "broker", undefined, [GROUPS]),
  [FrameKind.OFFSET_COMMIT_REQUEST]: row(FrameKind.OFFSET_COMMIT_REQUEST, OffsetCommitRequestSchema, "client", FrameKind.OFFSET_COMMIT_RESPONSE, [GROUPS]),
  [FrameKind.OFFSET_COMMIT_RESPONSE]: row(FrameKind.OFFSET_COMMIT_RESPONSE, OffsetCommitResponseSchema, "broker", undefined, [GROUPS]),
  [FrameKind.OFFSET_FETCH_REQUEST]: row(FrameKind.OFFSET_FETCH_REQUEST, OffsetFetchRequestSchema, "client", FrameKind.OFFSET_FETCH_RESPONSE, [GROUPS]),
  [FrameKind.OFFSET_FETCH_RESPONSE]: row(FrameKind.OFFSET_FETCH_RESPONSE, OffsetFetchResponseSchema, "broker", undefined, [GROUPS]),
  [FrameKind.GROUP_NOTICE]: row(FrameKind.GROUP_NOTICE, GroupNoticeSchema, "broker", undefined, [GROUPS, GROUP_NOTICE]),
  [FrameKind.SUBSCRIBE_REQUEST]: row(FrameKind.SUBSCRIBE_REQUEST, SubscribeRequestSchema, "client", FrameKind.SUBSCRIBE_RESPONSE, [PUBSUB], WORK),
  [FrameKind.SUBSCRIBE_RESPONSE]: row(FrameKind.SUBSCRIBE_RESPONSE, SubscribeResponseSchema, "broker", undefined, [PUBSUB]),
  [FrameKind.UNSUBSCRIBE_REQUEST]: row(FrameKind.UNSUBSCRIBE_REQUEST, UnsubscribeRequestSchema, "client", FrameKind.UNSUBSCRIBE_RESPONSE, [PUBSUB]),
  [FrameKind.UNSUBSCRIBE_RESPONSE]: row(FrameKind.UNSUBSCRIBE_RESPONSE, UnsubscribeResponseSchema, "broker", undefined, [PUBSUB]),
  [FrameKind.PUBLISH_REQUEST]: row(FrameKind.PUBLISH_REQUEST, PublishRequestSchema, "client", FrameKind.PUBLISH_RESPONSE, [PUBSUB], WORK),
  [FrameKind.PUBLISH_RESPONSE]: row(FrameKind.PUBLISH_RESPONSE, PublishResponseSchema, "broker", undefined, [PUBSUB]),
  [FrameKind.DELIVERY]: row(FrameKind.DELIVERY, DeliverySchema, "broker", undefined, [PUBSUB]),
  [FrameKind.SLOW_CONSUMER]: row(FrameKind.SLOW_CONSUMER, SlowConsumerSchema, "broker", undefined, [PUBSUB, SLOW_CONSUMER_NOTICE]),
  [FrameKind.REGISTER_RESPONDER_REQUEST]: row(FrameKind.REGISTER_RESPONDER_REQUEST, RegisterResponderRequestSchema, "client", FrameKind.REGISTER_RESPONDER_RESPONSE, [REQUEST_REPLY], WORK),
  [FrameKind.REGISTER_RESPONDER_RESPONSE]: row(FrameKind.REGISTER_RESPONDER_RESPONSE, RegisterResponderResponseSchema, "broker", undefined, [REQUEST_REPLY]),
  [FrameKind.UNREGISTER_RESPONDER_REQUEST]: row(FrameKind.UNREGISTER_RESPONDER_REQUEST, UnregisterResponderRequestSchema, "client", FrameKind.UNREGISTER_RESPONDER_RESPONSE, [REQUEST_REPLY]),
  [FrameKind.UNREGISTER_RESPONDER_RESPONSE]: row(FrameKind.UNREGISTER_RESPONDER_RESPONSE, UnregisterResponderResponseSchema, "broker", undefined, [REQUEST_REPLY]),
  [FrameKind.CALL_REQUEST]: row(FrameKind.CALL_REQUEST, CallRequestSchema, "both", FrameKind.CALL_RESPONSE, [REQUEST_REPLY], WORK),
  [FrameKind.CALL_RESPONSE]: row(FrameKind.CALL_RESPONSE, CallResponseSchema, "both", undefined, [REQUEST_REPLY]),
  [FrameKind.CALL_CHUNK]: row(FrameKind.CALL_CHUNK, CallChunkSchema, "both", undefined, [REQUEST_REPLY]),
  [FrameKind.CALL_CREDIT]: row(FrameKind.CALL_CREDIT, CallCreditSchema, "both", undefined, [REQUEST_REPLY]),
  [FrameKind.CALL_CANCEL]: row(FrameKind.CALL_CANCEL, CallCancelSchema, "both", undefined, [REQUEST_REPLY]),
} as const;

type Table = typeof protocolTable;

/** The rows of {@link protocolTable} by FrameKind value, for lookups by a number read off the wire. */
export const frameKindTable: ReadonlyMap<number, FrameKindInfo> = new Map(
  Object.values(protocolTable).map((info): [number, FrameKindInfo] => [info.kind, info]),
);

/** Every frame kind v1 defines; anything else is answered with UNKNOWN_FRAME_KIND (PW-FRAME-009). */
export const frameKinds: ReadonlySet<number> = new Set(frameKindTable.keys());

/** Requests that start work on the broker, refused after Drain with SHUTTING_DOWN (PW-SESS-015). */
export const workStartingKinds: ReadonlySet<number> = new Set(
  [...frameKindTable.values()].filter((info) => info.startsWork).map((info) => info.kind),
);

/**
 * A frame kind a client sends as a request outside the handshake and gets a
 * response for: every row with an answering kind except Hello and
 * AuthChallenge, which the handshake runs.
 */
export type RequestKind = Exclude<
  { [K in keyof Table]: Table[K]["answeredBy"] extends FrameKind ? K : never }[keyof Table],
  FrameKind.HELLO | FrameKind.AUTH_CHALLENGE
>;
/** The request message schema of a {@link RequestKind}. */
export type RequestSchema<K extends RequestKind> = Table[K]["message"];
// The message schema of the row for kind value V. Looked up by assignability,
// since declaration files key the table by plain numbers, not by FrameKind.
type MessageOfKind<V> = { [P in keyof Table]: V extends P ? Table[P]["message"] : never }[keyof Table];
/** The response message schema of a {@link RequestKind}. */
export type ResponseSchema<K extends RequestKind> = MessageOfKind<Table[K]["answeredBy"]>;
/** The request message type of a {@link RequestKind}. */
export type RequestMessage<K extends RequestKind> = MessageShape<RequestSchema<K>>;
/** What `create` accepts for the request message of a {@link RequestKind}. */
export type RequestInit<K extends RequestKind> = MessageInitShape<RequestSchema<K>>;
/** The response message type of a {@link RequestKind}. */
export type ResponseMessage<K extends RequestKind> = MessageShape<ResponseSchema<K>>;

/** One request kind with its message schema, and its response kind with its schema. */
export interface RequestMethod<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  readonly requestKind: FrameKind;
  readonly request: I;
  readonly responseKind: FrameKind;
  readonly response: O;
}

/** Every {@link RequestKind} with the schemas of its request and response, read off {@link protocolTable}. */
export const requestMethods = Object.fromEntries(
  [...frameKindTable.values()]
    .filter((info) => info.answeredBy !== undefined && info.kind !== FrameKind.HELLO && info.kind !== FrameKind.AUTH_CHALLENGE)
    .map((info) => {
      const answer = frameKindTable.get(info.answeredBy as FrameKind) as FrameKindInfo;
      return [info.kind, Object.freeze({ requestKind: info.kind, request: info.message, responseKind: answer.kind, response: answer.message })];
    }),
) as { readonly [K in RequestKind]: RequestMethod<RequestSchema<K>, ResponseSchema<K>> };
