/**
 * Mutant: counts every CallCredit of a caller twice, so the responder's
 * chunks are forwarded beyond the credit the caller granted. Built as a
 * proxy in front of the reference broker that doubles the `bytes` of a
 * caller's CallCredit (odd correlation id) on its way in and halves the
 * forwarded CallCredit on its way out to the responder (even id), so both
 * peers see what they would see from a broker with the bug. Breaks
 * PW-RPC-042.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CallCreditSchema } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import type { Mutant } from "../src/embedded/implementation.js";
import { encodeRawFrame, type WireFrame } from "../src/wire/frame.js";
import { proxiedBroker } from "./proxied.js";

function scaled(frame: WireFrame, by: (bytes: number) => number): { forward: Uint8Array } | undefined {
  let credit;
  try {
    credit = fromBinary(CallCreditSchema, frame.message);
  } catch {
    // Undecodable: the broker answers it.
    return undefined;
  }
  credit.bytes = by(credit.bytes);
  return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(CallCreditSchema, credit), checksum: frame.checksum }) };
}

export const implementation = proxiedBroker("credit-counted-twice", import.meta.url, () => ({
  fromClient: (frame) => (frame.kind === FrameKind.CALL_CREDIT && frame.correlationId % 2 === 1 ? scaled(frame, (n) => Math.min(0x7fff_ffff, n) * 2) : undefined),
  fromBroker: (frame) => (frame.kind === FrameKind.CALL_CREDIT && frame.correlationId % 2 === 0 ? scaled(frame, (n) => Math.floor(n / 2)) : undefined),
}));

export const mutant: Mutant = {
  name: "credit-counted-twice",
  description: "counts a caller's CallCredit twice, forwarding response chunks beyond the granted credit",
  breaks: ["PW-RPC-042"],
  implementation,
};
