/**
 * Mutant: never tells a caller that its call ended abnormally: the
 * CallResponse of DEADLINE_EXCEEDED, CANCELLED or RESPONDER_GONE, and the
 * Error of TIMEOUT, CANCELLED or RESPONDER_GONE on a call, are dropped, so
 * the caller waits forever. Built as a proxy in front of the reference
 * broker. Breaks PW-RPC-044.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { CallResponseSchema, CallStatus } from "@polywire/proto/rpc";
import { ErrorCode, ErrorSchema, FrameKind } from "@polywire/proto/session";
import type { Mutant } from "../src/embedded/implementation.js";
import { proxiedBroker } from "./proxied.js";

const ABNORMAL_STATUSES: ReadonlySet<number> = new Set([CallStatus.DEADLINE_EXCEEDED, CallStatus.CANCELLED, CallStatus.RESPONDER_GONE]);
const ABNORMAL_CODES: ReadonlySet<number> = new Set([ErrorCode.TIMEOUT, ErrorCode.CANCELLED, ErrorCode.RESPONDER_GONE]);

export const implementation = proxiedBroker("drop-terminal-event", import.meta.url, () => ({
  fromBroker: (frame) => {
    if (frame.correlationId % 2 !== 1) return undefined;
    try {
      if (frame.kind === FrameKind.CALL_RESPONSE && ABNORMAL_STATUSES.has(fromBinary(CallResponseSchema, frame.message).status)) return "drop";
      if (frame.kind === FrameKind.ERROR && ABNORMAL_CODES.has(fromBinary(ErrorSchema, frame.message).code)) return "drop";
    } catch {
      // The broker's messages decode; anything else is passed on for the suite to judge.
    }
    return undefined;
  },
}));

export const mutant: Mutant = {
  name: "drop-terminal-event",
  description: "drops the terminal event of a call that ends by deadline, cancel or a lost responder",
  breaks: ["PW-RPC-044"],
  implementation,
};
