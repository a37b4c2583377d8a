import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  FetchRequestSchema, FetchResponseSchema, InitProducerRequestSchema, InitProducerResponseSchema, ListOffsetsRequestSchema,
  ListOffsetsResponseSchema, MetadataRequestSchema, MetadataResponseSchema, ProduceRequestSchema, ProduceResponseSchema,
} from "@polywire/proto/log";
import {
  PublishRequestSchema, PublishResponseSchema, SubscribeRequestSchema, SubscribeResponseSchema, UnsubscribeRequestSchema, UnsubscribeResponseSchema,
} from "@polywire/proto/pubsub";
import {
  GroupHeartbeatRequestSchema, GroupHeartbeatResponseSchema, OffsetCommitRequestSchema, OffsetCommitResponseSchema, OffsetFetchRequestSchema, OffsetFetchResponseSchema,
} from "@polywire/proto/groups";
import { RegisterResponderRequestSchema, RegisterResponderResponseSchema, UnregisterResponderRequestSchema, UnregisterResponderResponseSchema } from "@polywire/proto/rpc";
import { ErrorCode, ErrorSchema, FrameKind, PingSchema, PongSchema, type Error as ErrorMessage } from "@polywire/proto/session";
import type { WireFrame } from "./frame.js";

/** The request kinds the runner sends, with their message and response types. */
export const RPCS = {
  [FrameKind.PING]: { request: PingSchema, responseKind: FrameKind.PONG, response: PongSchema },
  [FrameKind.PRODUCE_REQUEST]: { request: ProduceRequestSchema, responseKind: FrameKind.PRODUCE_RESPONSE, response: ProduceResponseSchema },
  [FrameKind.FETCH_REQUEST]: { request: FetchRequestSchema, responseKind: FrameKind.FETCH_RESPONSE, response: FetchResponseSchema },
  [FrameKind.LIST_OFFSETS_REQUEST]: { request: ListOffsetsRequestSchema, responseKind: FrameKind.LIST_OFFSETS_RESPONSE, response: ListOffsetsResponseSchema },
  [FrameKind.METADATA_REQUEST]: { request: MetadataRequestSchema, responseKind: FrameKind.METADATA_RESPONSE, response: MetadataResponseSchema },
  [FrameKind.INIT_PRODUCER_REQUEST]: { request: InitProducerRequestSchema, responseKind: FrameKind.INIT_PRODUCER_RESPONSE, response: InitProducerResponseSchema },
  [FrameKind.GROUP_HEARTBEAT_REQUEST]: { request: GroupHeartbeatRequestSchema, responseKind: FrameKind.GROUP_HEARTBEAT_RESPONSE, response: GroupHeartbeatResponseSchema },
  [FrameKind.OFFSET_COMMIT_REQUEST]: { request: OffsetCommitRequestSchema, responseKind: FrameKind.OFFSET_COMMIT_RESPONSE, response: OffsetCommitResponseSchema },
  [FrameKind.OFFSET_FETCH_REQUEST]: { request: OffsetFetchRequestSchema, responseKind: FrameKind.OFFSET_FETCH_RESPONSE, response: OffsetFetchResponseSchema },
  [FrameKind.SUBSCRIBE_REQUEST]: { request: SubscribeRequestSchema, responseKind: FrameKind.SUBSCRIBE_RESPONSE, response: SubscribeResponseSchema },
  [FrameKind.UNSUBSCRIBE_REQUEST]: { request: UnsubscribeRequestSchema, responseKind: FrameKind.UNSUBSCRIBE_RESPONSE, response: UnsubscribeResponseSchema },
  // With `ack` set; a publish without it is sent raw (`send`), since it gets no answer (PW-PUBSUB-021).
  [FrameKind.PUBLISH_REQUEST]: { request: PublishRequestSchema, responseKind: FrameKind.PUBLISH_RESPONSE, response: PublishResponseSchema },
  [FrameKind.REGISTER_RESPONDER_REQUEST]: { request: RegisterResponderRequestSchema, responseKind: FrameKind.REGISTER_RESPONDER_RESPONSE, response: RegisterResponderResponseSchema },
  [FrameKind.UNREGISTER_RESPONDER_REQUEST]: { request: UnregisterResponderRequestSchema, responseKind: FrameKind.UNREGISTER_RESPONDER_RESPONSE, response: UnregisterResponderResponseSchema },
} as const;

/** A request kind of {@link RPCS}. */
export type RpcKind = keyof typeof RPCS;
/** The init shape of the request message of `K`. */
export type RpcInit<K extends RpcKind> = MessageInitShape<(typeof RPCS)[K]["request"]>;
/** The decoded response message of `K`. */
export type RpcReply<K extends RpcKind> = MessageShape<(typeof RPCS)[K]["response"]>;

/** Encodes a message of `schema` from `init`. */
export function encode<S extends DescMessage>(schema: S, init: MessageInitShape<S>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** Decodes a message of `schema`; a failure names what was being decoded. */
export function decode<S extends DescMessage>(schema: S, bytes: Uint8Array): MessageShape<S> {
  return fromBinary(schema, bytes);
}

/** The codes PW-SESS-013 and the table of §12 mark retriable. */
export const RETRIABLE_CODES: ReadonlySet<number> = new Set([
  ErrorCode.TIMEOUT, ErrorCode.TOO_MANY_CONNECTIONS, ErrorCode.TOO_MANY_IN_FLIGHT, ErrorCode.SHUTTING_DOWN, ErrorCode.STORAGE, ErrorCode.RESOURCE_EXHAUSTED, ErrorCode.CONNECTION_LOST,
]);

/** The codes that must carry `Error.limit` (PW-ERR-003). */
export const LIMIT_CODES: ReadonlySet<number> = new Set([
  ErrorCode.FRAME_TOO_LARGE, ErrorCode.TOO_MANY_IN_FLIGHT, ErrorCode.BATCH_TOO_LARGE, ErrorCode.DECOMPRESSION_LIMIT,
]);

/** The name of an ErrorCode number, `ERROR_CODE_<NAME>`, or the number for codes v1 does not define. */
export function codeName(code: number): string {
  const name = (ErrorCode as unknown as Record<number, string | undefined>)[code];
  return name === undefined ? `error code ${code}` : `ERROR_CODE_${name}`;
}

/** The name of a FrameKind number. */
export function kindName(kind: number): string {
  const name = (FrameKind as unknown as Record<number, string | undefined>)[kind];
  return name === undefined ? `frame kind ${kind}` : `FRAME_KIND_${name}`;
}

/** An Error frame the broker sent, as a thrown value. */
export class BrokerError extends Error {
  override readonly name = "BrokerError";
  constructor(
    readonly error: ErrorMessage,
    readonly frame: WireFrame,
  ) {
    super(`${codeName(error.code)}: ${error.message}`);
  }

  get code(): number {
    return this.error.code;
  }
}

/** Decodes an Error frame's message. */
export function decodeError(frame: WireFrame): ErrorMessage {
  return fromBinary(ErrorSchema, frame.message);
}
