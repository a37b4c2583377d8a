import { create, toBinary } from "@bufbuild/protobuf";
import { CallCancelSchema, CallChunkSchema, CallCreditSchema, CallRequestSchema, CallResponseSchema, type CallRequest, type CallStatus } from "@polywire/proto/rpc";

// The messages the broker writes on its own. Frames it forwards (CallResponse,
// CallChunk, CallCredit, CallCancel of a peer) keep the peer's message bytes,
// unknown fields included (PW-RPC-023, PW-COMPAT-003).

/** The CallRequest a responder gets (PW-RPC-011): the caller's fields, its `responder_id` and the time left (PW-RPC-030). */
export function encodeRoutedRequest(request: CallRequest, responderId: number, timeoutMs: number): Uint8Array {
  return toBinary(CallRequestSchema, { ...request, responderId, timeoutMs });
}

/** A CallResponse the broker ends a call with: a status other than OK, `end_of_stream` set (PW-RPC-044). */
export function encodeStatus(status: CallStatus): Uint8Array {
  return toBinary(CallResponseSchema, create(CallResponseSchema, { status, endOfStream: true }));
}

/** An empty CallChunk ending a body. */
export const END_CHUNK = toBinary(CallChunkSchema, create(CallChunkSchema, { endOfStream: true }));

export function encodeCredit(bytes: number): Uint8Array {
  return toBinary(CallCreditSchema, create(CallCreditSchema, { bytes }));
}

export function encodeCancel(reason: string): Uint8Array {
  return toBinary(CallCancelSchema, create(CallCancelSchema, { reason }));
}
