import type { DescMessage } from "@bufbuild/protobuf";
import { requestMethods, workStartingKinds, type RequestInit, type RequestKind, type RequestMessage, type RequestMethod, type ResponseMessage } from "@polywire/core";

// The names this package has exported for the request kinds, read off the
// protocol table of @polywire/core (its `requestMethods`).

/** One client-initiated request kind: its message schema and its response's. */
export type RpcMethod<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> = RequestMethod<I, O>;
/** Every request a client can send and the response it gets, by frame kind. */
export const rpcs = requestMethods;
/** A frame kind a client sends as a request and gets a response for. */
export type RpcKind = RequestKind;
/** The request message type of an {@link RpcKind}. */
export type RpcRequest<K extends RpcKind> = RequestMessage<K>;
/** What `create` accepts for the request message of an {@link RpcKind}. */
export type RpcRequestInit<K extends RpcKind> = RequestInit<K>;
/** The response message type of an {@link RpcKind}. */
export type RpcResponse<K extends RpcKind> = ResponseMessage<K>;
/** Requests that start work on the broker and are refused after Drain with SHUTTING_DOWN (PW-SESS-015). */
export { workStartingKinds };
