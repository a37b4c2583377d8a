import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
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
  PublishRequestSchema, PublishResponseSchema, SubscribeRequestSchema, SubscribeResponseSchema,
  UnsubscribeRequestSchema, UnsubscribeResponseSchema,
} from "@polywire/proto/pubsub";
import {
  CallRequestSchema, CallResponseSchema, RegisterResponderRequestSchema, RegisterResponderResponseSchema,
  UnregisterResponderRequestSchema, UnregisterResponderResponseSchema,
} from "@polywire/proto/rpc";
import { FrameKind, PingSchema, PongSchema } from "@polywire/proto/session";

/** One client-initiated request kind: its message schema and its response's. */
export interface RequestMethod<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  readonly requestKind: FrameKind;
  readonly request: I;
  readonly responseKind: FrameKind;
  readonly response: O;
}

function method<I extends DescMessage, O extends DescMessage>(
  requestKind: FrameKind, request: I, responseKind: FrameKind, response: O,
): RequestMethod<I, O> {
  return { requestKind, request, responseKind, response };
}

/**
 * Every request a client can send and the response it gets, by frame kind:
 * the request kinds of every plane (Ping, Produce, Fetch, ...), not only the
 * request/reply plane's (rpc.proto). `Connection.call` uses it to encode and
 * decode messages.
 */
export const requestMethods = {
  [FrameKind.PING]: method(FrameKind.PING, PingSchema, FrameKind.PONG, PongSchema),
  [FrameKind.PRODUCE_REQUEST]: method(FrameKind.PRODUCE_REQUEST, ProduceRequestSchema, FrameKind.PRODUCE_RESPONSE, ProduceResponseSchema),
  [FrameKind.FETCH_REQUEST]: method(FrameKind.FETCH_REQUEST, FetchRequestSchema, FrameKind.FETCH_RESPONSE, FetchResponseSchema),
  [FrameKind.LIST_OFFSETS_REQUEST]: method(FrameKind.LIST_OFFSETS_REQUEST, ListOffsetsRequestSchema, FrameKind.LIST_OFFSETS_RESPONSE, ListOffsetsResponseSchema),
  [FrameKind.METADATA_REQUEST]: method(FrameKind.METADATA_REQUEST, MetadataRequestSchema, FrameKind.METADATA_RESPONSE, MetadataResponseSchema),
  [FrameKind.INIT_PRODUCER_REQUEST]: method(FrameKind.INIT_PRODUCER_REQUEST, InitProducerRequestSchema, FrameKind.INIT_PRODUCER_RESPONSE, InitProducerResponseSchema),
  [FrameKind.GROUP_HEARTBEAT_REQUEST]: method(FrameKind.GROUP_HEARTBEAT_REQUEST, GroupHeartbeatRequestSchema, FrameKind.GROUP_HEARTBEAT_RESPONSE, GroupHeartbeatResponseSchema),
  [FrameKind.OFFSET_COMMIT_REQUEST]: method(FrameKind.OFFSET_COMMIT_REQUEST, OffsetCommitRequestSchema, FrameKind.OFFSET_COMMIT_RESPONSE, OffsetCommitResponseSchema),
  [FrameKind.OFFSET_FETCH_REQUEST]: method(FrameKind.OFFSET_FETCH_REQUEST, OffsetFetchRequestSchema, FrameKind.OFFSET_FETCH_RESPONSE, OffsetFetchResponseSchema),
  [FrameKind.SUBSCRIBE_REQUEST]: method(FrameKind.SUBSCRIBE_REQUEST, SubscribeRequestSchema, FrameKind.SUBSCRIBE_RESPONSE, SubscribeResponseSchema),
  [FrameKind.UNSUBSCRIBE_REQUEST]: method(FrameKind.UNSUBSCRIBE_REQUEST, UnsubscribeRequestSchema, FrameKind.UNSUBSCRIBE_RESPONSE, UnsubscribeResponseSchema),
  [FrameKind.PUBLISH_REQUEST]: method(FrameKind.PUBLISH_REQUEST, PublishRequestSchema, FrameKind.PUBLISH_RESPONSE, PublishResponseSchema),
  [FrameKind.REGISTER_RESPONDER_REQUEST]: method(FrameKind.REGISTER_RESPONDER_REQUEST, RegisterResponderRequestSchema, FrameKind.REGISTER_RESPONDER_RESPONSE, RegisterResponderResponseSchema),
  [FrameKind.UNREGISTER_RESPONDER_REQUEST]: method(FrameKind.UNREGISTER_RESPONDER_REQUEST, UnregisterResponderRequestSchema, FrameKind.UNREGISTER_RESPONDER_RESPONSE, UnregisterResponderResponseSchema),
  [FrameKind.CALL_REQUEST]: method(FrameKind.CALL_REQUEST, CallRequestSchema, FrameKind.CALL_RESPONSE, CallResponseSchema),
} as const;

/** A frame kind a client sends as a request and gets a response for. */
export type RequestKind = keyof typeof requestMethods;
/** The request message type of a {@link RequestKind}. */
export type RequestMessage<K extends RequestKind> = MessageShape<(typeof requestMethods)[K]["request"]>;
/** What `create` accepts for the request message of a {@link RequestKind}. */
export type RequestInit<K extends RequestKind> = MessageInitShape<(typeof requestMethods)[K]["request"]>;
/** The response message type of a {@link RequestKind}. */
export type ResponseMessage<K extends RequestKind> = MessageShape<(typeof requestMethods)[K]["response"]>;

/**
 * Requests that start work on the broker and are refused after Drain with
 * SHUTTING_DOWN (PW-SESS-015).
 */
export const workStartingKinds: ReadonlySet<number> = new Set<number>([
  FrameKind.PRODUCE_REQUEST,
  FrameKind.SUBSCRIBE_REQUEST,
  FrameKind.REGISTER_RESPONDER_REQUEST,
  FrameKind.CALL_REQUEST,
  FrameKind.PUBLISH_REQUEST,
]);
