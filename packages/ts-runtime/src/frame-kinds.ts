import type { DescMessage } from "@bufbuild/protobuf";
import {
  GroupHeartbeatRequestSchema, GroupHeartbeatResponseSchema, OffsetCommitRequestSchema, OffsetCommitResponseSchema,
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
export interface FrameKindInfo {
  readonly kind: FrameKind;
  /** The message the frame's protobuf section holds. */
  readonly message: DescMessage;
  readonly sentBy: FrameSender;
  /** The kind that answers it, for requests (an Error may answer instead, PW-SESS-012). */
  readonly answeredBy: FrameKind | undefined;
  /** Features that must all be granted for the kind to be used (PW-SESS-005, PW-SESS-006). */
  readonly features: readonly Feature[];
}

const { LOG, IDEMPOTENCE, GROUPS, PUBSUB, REQUEST_REPLY, DRAIN_NOTICE, SLOW_CONSUMER_NOTICE } = Feature;

function row(kind: FrameKind, message: DescMessage, sentBy: FrameSender, answeredBy: FrameKind | undefined, ...features: Feature[]): [number, FrameKindInfo] {
  return [kind, { kind, message, sentBy, answeredBy, features }];
}

/**
 * The table of spec §3.5, by FrameKind value. A test checks it against
 * `spec/vectors/frame-kinds.json`, which is generated from the spec.
 */
export const frameKindTable: ReadonlyMap<number, FrameKindInfo> = new Map([
  row(FrameKind.HELLO, HelloSchema, "client", FrameKind.WELCOME),
  row(FrameKind.WELCOME, WelcomeSchema, "broker", undefined),
  row(FrameKind.AUTH_CHALLENGE, AuthChallengeSchema, "broker", FrameKind.AUTH_RESPONSE),
  row(FrameKind.AUTH_RESPONSE, AuthResponseSchema, "client", undefined),
  row(FrameKind.PING, PingSchema, "both", FrameKind.PONG),
  row(FrameKind.PONG, PongSchema, "both", undefined),
  row(FrameKind.ERROR, ErrorSchema, "both", undefined),
  row(FrameKind.DRAIN, DrainSchema, "broker", undefined, DRAIN_NOTICE),
  row(FrameKind.CLOSE, CloseSchema, "both", undefined),
  row(FrameKind.PRODUCE_REQUEST, ProduceRequestSchema, "client", FrameKind.PRODUCE_RESPONSE, LOG),
  row(FrameKind.PRODUCE_RESPONSE, ProduceResponseSchema, "broker", undefined, LOG),
  row(FrameKind.FETCH_REQUEST, FetchRequestSchema, "client", FrameKind.FETCH_RESPONSE, LOG),
  row(FrameKind.FETCH_RESPONSE, FetchResponseSchema, "broker", undefined, LOG),
  row(FrameKind.LIST_OFFSETS_REQUEST, ListOffsetsRequestSchema, "client", FrameKind.LIST_OFFSETS_RESPONSE, LOG),
  row(FrameKind.LIST_OFFSETS_RESPONSE, ListOffsetsResponseSchema, "broker", undefined, LOG),
  row(FrameKind.METADATA_REQUEST, MetadataRequestSchema, "client", FrameKind.METADATA_RESPONSE, LOG),
  row(FrameKind.METADATA_RESPONSE, MetadataResponseSchema, "broker", undefined, LOG),
  row(FrameKind.INIT_PRODUCER_REQUEST, InitProducerRequestSchema, "client", FrameKind.INIT_PRODUCER_RESPONSE, LOG, IDEMPOTENCE),
  row(FrameKind.INIT_PRODUCER_RESPONSE, InitProducerResponseSchema, "broker", undefined, LOG, IDEMPOTENCE),
  row(FrameKind.GROUP_HEARTBEAT_REQUEST, GroupHeartbeatRequestSchema, "client", FrameKind.GROUP_HEARTBEAT_RESPONSE, GROUPS),
  row(FrameKind.GROUP_HEARTBEAT_RESPONSE, GroupHeartbeatResponseSchema, "broker", undefined, GROUPS),
  row(FrameKind.OFFSET_COMMIT_REQUEST, OffsetCommitRequestSchema, "client", FrameKind.OFFSET_COMMIT_RESPONSE, GROUPS),
  row(FrameKind.OFFSET_COMMIT_RESPONSE, OffsetCommitResponseSchema, "broker", undefined, GROUPS),
  row(FrameKind.OFFSET_FETCH_REQUEST, OffsetFetchRequestSchema, "client", FrameKind.OFFSET_FETCH_RESPONSE, GROUPS),
  row(FrameKind.OFFSET_FETCH_RESPONSE, OffsetFetchResponseSchema, "broker", undefined, GROUPS),
  row(FrameKind.SUBSCRIBE_REQUEST, SubscribeRequestSchema, "client", FrameKind.SUBSCRIBE_RESPONSE, PUBSUB),
  row(FrameKind.SUBSCRIBE_RESPONSE, SubscribeResponseSchema, "broker", undefined, PUBSUB),
  row(FrameKind.UNSUBSCRIBE_REQUEST, UnsubscribeRequestSchema, "client", FrameKind.UNSUBSCRIBE_RESPONSE, PUBSUB),
  row(FrameKind.UNSUBSCRIBE_RESPONSE, UnsubscribeResponseSchema, "broker", undefined, PUBSUB),
  row(FrameKind.PUBLISH_REQUEST, PublishRequestSchema, "client", FrameKind.PUBLISH_RESPONSE, PUBSUB),
  row(FrameKind.PUBLISH_RESPONSE, PublishResponseSchema, "broker", undefined, PUBSUB),
  row(FrameKind.DELIVERY, DeliverySchema, "broker", undefined, PUBSUB),
  row(FrameKind.SLOW_CONSUMER, SlowConsumerSchema, "broker", undefined, PUBSUB, SLOW_CONSUMER_NOTICE),
  row(FrameKind.REGISTER_RESPONDER_REQUEST, RegisterResponderRequestSchema, "client", FrameKind.REGISTER_RESPONDER_RESPONSE, REQUEST_REPLY),
  row(FrameKind.REGISTER_RESPONDER_RESPONSE, RegisterResponderResponseSchema, "broker", undefined, REQUEST_REPLY),
  row(FrameKind.UNREGISTER_RESPONDER_REQUEST, UnregisterResponderRequestSchema, "client", FrameKind.UNREGISTER_RESPONDER_RESPONSE, REQUEST_REPLY),
  row(FrameKind.UNREGISTER_RESPONDER_RESPONSE, UnregisterResponderResponseSchema, "broker", undefined, REQUEST_REPLY),
  row(FrameKind.CALL_REQUEST, CallRequestSchema, "both", FrameKind.CALL_RESPONSE, REQUEST_REPLY),
  row(FrameKind.CALL_RESPONSE, CallResponseSchema, "both", undefined, REQUEST_REPLY),
  row(FrameKind.CALL_CHUNK, CallChunkSchema, "both", undefined, REQUEST_REPLY),
  row(FrameKind.CALL_CREDIT, CallCreditSchema, "both", undefined, REQUEST_REPLY),
  row(FrameKind.CALL_CANCEL, CallCancelSchema, "both", undefined, REQUEST_REPLY),
]);
