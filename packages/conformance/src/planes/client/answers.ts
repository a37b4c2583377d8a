import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Acks, Capability } from "@polywire/proto/conformance/adapter";
import { Acks as WireAcks, ProduceRequestSchema, ProduceResponseSchema } from "@polywire/proto/log";
import { ErrorCode, ErrorSchema, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame } from "../../wire/frame.js";
import { codeName } from "../../wire/messages.js";
import { numbered } from "../log/records.js";
import { connected, produceVia, requires } from "./io.js";
import type { CaseHooks } from "./observer.js";

/** Answers the client's first ProduceRequest itself with `answer` (its message bytes and kind) instead of forwarding it. */
function answerFirstProduce(answer: (correlationId: number) => Uint8Array): CaseHooks {
  let done = false;
  return {
    fromClient: (frame, _raw, connection) => {
      if (done || frame.kind !== FrameKind.PRODUCE_REQUEST) return undefined;
      done = true;
      connection.toClient(answer(frame.correlationId));
      return "drop";
    },
  };
}

const unknownErrorCode: ConformanceCase = {
  id: "client/unknown-error-code",
  title: "An Error with a code the client does not know fails the request as INTERNAL for handling, reported with its number",
  plane: "session",
  role: "client",
  clauses: ["PW-SESS-014", "PW-COMPAT-004"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { handle } = await connected(ctx, answerFirstProduce((id) => encodeRawFrame({ kind: FrameKind.ERROR, correlationId: id, message: toBinary(ErrorSchema, create(ErrorSchema, { code: 999 as ErrorCode, message: "from the future" })) })));
    const result = await produceVia(ctx, handle, topic, numbered("future", 1));
    const outcome = result.outcomes[0]?.outcome;
    check("PW-SESS-014", outcome?.case === "error", "a produce answered with error code 999 was reported delivered");
    checkEqual("PW-SESS-014", outcome?.case === "error" ? outcome.value.code : undefined, 999, "the error code the client reports for code 999");
  },
};

const produceResponseError: ConformanceCase = {
  id: "client/produce-response-error-code",
  title: "A ProduceResponse whose error_code is set fails the request with that code",
  plane: "log",
  role: "client",
  clauses: ["PW-LOG-009"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { handle } = await connected(ctx, answerFirstProduce((id) => encodeRawFrame({ kind: FrameKind.PRODUCE_RESPONSE, correlationId: id, message: toBinary(ProduceResponseSchema, create(ProduceResponseSchema, { errorCode: ErrorCode.CORRUPT_BATCH, errorMessage: "rewritten by the runner", baseOffset: 0n })) })));
    const result = await produceVia(ctx, handle, topic, numbered("rc", 1));
    const outcome = result.outcomes[0]?.outcome;
    check("PW-LOG-009", outcome?.case === "error", "a ProduceResponse with error_code CORRUPT_BATCH was reported delivered");
    checkEqual("PW-LOG-009", outcome?.case === "error" ? codeName(outcome.value.code) : undefined, codeName(ErrorCode.CORRUPT_BATCH), "the error the client reports");
  },
};

const acksNoneError: ConformanceCase = {
  id: "client/acks-none-error",
  title: "An Error frame answering an ACKS_NONE produce is tolerated: the client keeps working, and never gives an ACKS_NONE produce's correlation id to a later request",
  plane: "log",
  role: "client",
  clauses: ["PW-LOG-004", "PW-LOG-041"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE, Capability.ACKS_NONE);
    const topic = await ctx.topic(1);
    const hooks: CaseHooks = {
      fromClient: (frame, _raw, connection) => {
        if (frame.kind === FrameKind.PRODUCE_REQUEST && fromBinary(ProduceRequestSchema, frame.message).acks === WireAcks.NONE) {
          connection.toClient(encodeRawFrame({ kind: FrameKind.ERROR, correlationId: frame.correlationId, message: toBinary(ErrorSchema, create(ErrorSchema, { code: ErrorCode.UNKNOWN_PARTITION, message: "injected" })) }));
        }
        return undefined;
      },
    };
    const { handle } = await connected(ctx, hooks);
    // The observer fails PW-LOG-041 if a later request reuses one of these ids.
    for (const record of numbered("none", 3)) await produceVia(ctx, handle, topic, [record], { acks: Acks.NONE });
    const after = await produceVia(ctx, handle, topic, numbered("after", 1));
    check("PW-LOG-004", after.outcomes[0]?.outcome.case === "delivered", "after an Error answered an ACKS_NONE produce, the next produce failed");
  },
};

/** Broker answers the client must take as they are: an unknown error code, a response's error_code, an Error to a produce that wanted none. */
export const answerCases: readonly ConformanceCase[] = [unknownErrorCode, produceResponseError, acksNoneError];
