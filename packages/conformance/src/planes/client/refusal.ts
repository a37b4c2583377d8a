import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorCode, ErrorSchema, FrameKind } from "@polywire/proto/session";
import { check } from "../../clause.js";
import { AdapterError, type AdapterClient } from "../../client/adapter-client.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame } from "../../wire/frame.js";
import { ClientObserver } from "./observer.js";

/**
 * The broker's answer to a Hello from a client whose certificate it
 * refused after the TLS handshake (PW-TRANS-009). The proxy puts it in
 * place of the Welcome, so any transport shows the client what a refusing
 * TLS listener sends.
 */
const refusal = encodeRawFrame({
  kind: FrameKind.ERROR,
  correlationId: 0,
  message: toBinary(ErrorSchema, create(ErrorSchema, { code: ErrorCode.AUTHENTICATION_FAILED, message: "client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE (conformance)" })),
});

export const refusedCertificate: ConformanceCase = {
  id: "client/refused-certificate",
  title: "A client whose certificate the broker refuses (the AUTHENTICATION_FAILED Error of PW-TRANS-009) fails to connect with AUTHENTICATION_FAILED, not retriable, and does not dial again",
  plane: "session",
  role: "client",
  clauses: ["PW-TRANS-010"],
  async run(ctx) {
    let hellos = 0;
    const observer = await ClientObserver.start(ctx, {
      fromClient: (frame) => {
        if (frame.kind === FrameKind.HELLO) hellos++;
        return undefined;
      },
      fromBroker: (frame) => (frame.kind === FrameKind.WELCOME ? { forward: refusal } : undefined),
    });
    const client = ctx.client as AdapterClient;
    const handle = `${ctx.seed}-refused`;
    const error = await client.connect(handle, [observer.url], { requestTimeoutMs: 5000 }).then(() => undefined, (e: unknown) => e);
    ctx.defer(() => client.disconnect(handle).catch(() => undefined));
    check("PW-TRANS-010", error !== undefined, "the client reported a connection whose Hello was answered with AUTHENTICATION_FAILED");
    check("PW-TRANS-010", error instanceof AdapterError && error.error.code === ErrorCode.AUTHENTICATION_FAILED, () => `the refusal surfaced as ${String(error)}, not AUTHENTICATION_FAILED`);
    check("PW-TRANS-010", !error.error.retriable, "the client reports the refused certificate as retriable");
    // A redial would come within the backoff of a reconnecting client.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    check("PW-TRANS-010", hellos === 1, () => `the client dialed ${hellos - 1} more time(s) after its certificate was refused`);
  },
};
