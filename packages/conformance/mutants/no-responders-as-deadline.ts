/**
 * Mutant: reports a call to a service without responders as a deadline
 * (CALL_STATUS_DEADLINE_EXCEEDED), the confusion NATS users fear. Built as
 * a proxy in front of the reference broker that rewrites the status of
 * every NO_RESPONDERS CallResponse. Breaks PW-RPC-020 (and PW-RPC-005,
 * which says the same of calls left waiting).
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CallResponseSchema, CallStatus, type CallResponse } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import type { Mutant } from "../src/embedded/implementation.js";
import { encodeRawFrame } from "../src/wire/frame.js";
import { proxiedBroker } from "./proxied.js";

function decodeOrUndefined(message: Uint8Array): CallResponse | undefined {
  try {
    return fromBinary(CallResponseSchema, message);
  } catch {
    return undefined;
  }
}

export const implementation = proxiedBroker("no-responders-as-deadline", import.meta.url, () => ({
  fromBroker: (frame) => {
    if (frame.kind !== FrameKind.CALL_RESPONSE) return undefined;
    const response = decodeOrUndefined(frame.message);
    if (response === undefined || response.status !== CallStatus.NO_RESPONDERS) return undefined;
    response.status = CallStatus.DEADLINE_EXCEEDED;
    return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(CallResponseSchema, response), payload: frame.payload, checksum: frame.checksum }) };
  },
}));

export const mutant: Mutant = {
  name: "no-responders-as-deadline",
  description: "reports a call to a service without responders as DEADLINE_EXCEEDED",
  breaks: ["PW-RPC-020", "PW-RPC-005"],
  implementation,
};
