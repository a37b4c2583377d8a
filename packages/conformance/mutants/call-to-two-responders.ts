/**
 * Mutant: routes a call to two responders of its service. Built as a proxy
 * in front of the reference broker that remembers which connections
 * registered responders for which service and, for every CallRequest the
 * broker routes, sends a copy to another connection serving the service
 * (with an even id of its own); what that responder answers on the copy is
 * dropped. Breaks PW-RPC-002.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CallRequestSchema, RegisterResponderRequestSchema } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import type { Mutant } from "../src/embedded/implementation.js";
import type { ProxiedConnection } from "../src/wire/frame-proxy.js";
import { encodeRawFrame } from "../src/wire/frame.js";
import { proxiedBroker } from "./proxied.js";

// Ids of copies: even, far above what the broker hands out in a test run.
const COPY_IDS_FROM = 0x7000_0000;

export const implementation = proxiedBroker("call-to-two-responders", import.meta.url, () => {
  const serving = new Map<string, Map<ProxiedConnection, number>>();
  let nextCopy = COPY_IDS_FROM;
  return {
    fromClient: (frame, _raw, connection) => {
      if (frame.correlationId >= COPY_IDS_FROM && frame.correlationId % 2 === 0) return "drop";
      if (frame.kind !== FrameKind.REGISTER_RESPONDER_REQUEST) return undefined;
      try {
        const { service, responderId } = fromBinary(RegisterResponderRequestSchema, frame.message);
        const members = serving.get(service) ?? new Map<ProxiedConnection, number>();
        members.set(connection, responderId);
        serving.set(service, members);
      } catch {
        // Undecodable: the broker answers it.
      }
      return undefined;
    },
    fromBroker: (frame, _raw, connection) => {
      if (frame.kind !== FrameKind.CALL_REQUEST) return undefined;
      let request;
      try {
        request = fromBinary(CallRequestSchema, frame.message);
      } catch {
        return undefined;
      }
      for (const [other, responderId] of serving.get(request.service) ?? []) {
        if (other === connection) continue;
        request.responderId = responderId;
        nextCopy += 2;
        other.toClient(encodeRawFrame({ kind: frame.kind, correlationId: nextCopy, message: toBinary(CallRequestSchema, request), payload: frame.payload, checksum: frame.checksum }));
        break;
      }
      return undefined;
    },
    closed: (connection) => {
      for (const members of serving.values()) members.delete(connection);
    },
  };
});

export const mutant: Mutant = {
  name: "call-to-two-responders",
  description: "routes each call to two responders of its service",
  breaks: ["PW-RPC-002"],
  implementation,
};
