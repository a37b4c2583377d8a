import { create, toBinary } from "@bufbuild/protobuf";
import { CallCancelSchema, CallChunkSchema, CallCreditSchema, CallRequestSchema, CallResponseSchema, type CallStatus } from "@polywire/proto/rpc";

// The messages the broker writes on its own. Frames it forwards (CallResponse,
// CallChunk, CallCredit, CallCancel of a peer) keep the peer's message bytes,
// unknown fields included (PW-RPC-023, PW-COMPAT-003).

/**
 * The CallRequest a responder gets (PW-RPC-011): the caller's message bytes
 * as they came, unknown fields included (PW-COMPAT-003), followed by
 * `timeout_ms` and `responder_id` once more. A protobuf parser keeps the
 * last value of a scalar field, so they replace the caller's without the
 * message being decoded and encoded again (PW-RPC-030).
 */
export function encodeRoutedRequest(callerMessage: Uint8Array, responderId: number, timeoutMs: number): Uint8Array {
  const tail = toBinary(CallRequestSchema, create(CallRequestSchema, { responderId, timeoutMs }));
  const out = new Uint8Array(callerMessage.byteLength + tail.byteLength);
  out.set(callerMessage);
  out.set(tail, callerMessage.byteLength);
  return out;
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
