import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Capability } from "@polywire/proto/conformance/adapter";
import { ErrorCode, ErrorSchema, FrameKind, WelcomeSchema } from "@polywire/proto/session";
import { check } from "../../clause.js";
import { AdapterError } from "../../client/adapter-client.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame } from "../../wire/frame.js";
import { numbered } from "../log/records.js";
import { adapter, connected, produceVia, requires } from "./io.js";
import { ClientObserver } from "./observer.js";

const frameLimit: ConformanceCase = {
  id: "client/respects-max-frame-size",
  title: "A client never sends a frame larger than the broker's advertised max_frame_size: a record that cannot fit fails locally",
  plane: "session",
  role: "client",
  clauses: ["PW-FRAME-007", "PW-FRAME-020"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    // The smallest limit a broker may advertise (PW-FRAME-020).
    const limit = 65_536;
    const { observer, handle } = await connected(ctx, {
      fromBroker: (frame) => {
        if (frame.kind !== FrameKind.WELCOME) return undefined;
        const welcome = fromBinary(WelcomeSchema, frame.message);
        if (welcome.limits !== undefined) {
          welcome.limits.maxFrameSize = limit;
          welcome.limits.maxBatchSize = Math.min(welcome.limits.maxBatchSize, limit);
        }
        return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(WelcomeSchema, welcome) }) };
      },
    });
    const big = { key: null, value: new Uint8Array(80_000).fill(7), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) };
    const result = await produceVia(ctx, handle, topic, [big], { timeoutMs: 30_000 });
    check("PW-FRAME-007", result.outcomes[0]?.outcome.case === "error", `an 80000-byte record was delivered through a broker advertising ${limit}-byte frames`);
    const largest = Math.max(0, ...observer.clientFrames.map((f) => f.frame.size));
    check("PW-FRAME-007", largest <= limit, `the client sent a ${largest}-byte frame to a broker advertising max_frame_size ${limit}`);
  },
};

const bootstrap: ConformanceCase = {
  id: "client/bootstrap-urls",
  title: "Given several bootstrap URLs, one refusing connections, the client connects through one that completes the handshake",
  plane: "session",
  role: "client",
  clauses: ["PW-TRANS-001", "PW-TRANS-005"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const observer = await ClientObserver.start(ctx);
    const handle = `${ctx.seed}-bootstrap`;
    // Port 1 on loopback refuses connections.
    await adapter(ctx).connect(handle, ["tcp://127.0.0.1:1", observer.url], { requestTimeoutMs: 5000 });
    ctx.defer(() => adapter(ctx).disconnect(handle).catch(() => undefined));
    const result = await produceVia(ctx, handle, topic, numbered("boot", 1));
    check("PW-TRANS-005", result.outcomes[0]?.outcome.case === "delivered", "the client given a dead URL and a live one could not produce");
    check("PW-TRANS-005", observer.produces.length === 1, "the produce did not go through the live bootstrap URL");
  },
};

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

const refusedCertificate: ConformanceCase = {
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
    const client = adapter(ctx);
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

/** How the client connects: bootstrap URLs, the advertised frame limit, a refused certificate. */
export const connectionCases: readonly ConformanceCase[] = [frameLimit, bootstrap, refusedCertificate];
