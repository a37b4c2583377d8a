import { InitProducerRequestSchema } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encode, kindName } from "../../wire/messages.js";
import { helloBytes } from "../../wire/session.js";
import { expectErrorFrame } from "../expect.js";

const misnumberedHello: ConformanceCase = {
  id: "session/hello-correlation-id",
  title: "A first Hello whose correlation id is not 1 is HANDSHAKE_REQUIRED carrying that id, then close",
  plane: "session",
  clauses: ["PW-SESS-036", "PW-SESS-001"],
  async run(ctx) {
    for (const id of [3, 5, 99]) {
      const session = await ctx.connect({ handshake: false });
      session.sendFrame({ kind: FrameKind.HELLO, correlationId: id, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG] }) });
      await expectErrorFrame(session, "PW-SESS-036", { code: ErrorCode.HANDSHAKE_REQUIRED, correlationId: id, connection: "closes" }, `a first Hello with correlation id ${id}`);
      check("PW-SESS-036", !session.received.some((f) => f.kind === FrameKind.WELCOME), `a first Hello with correlation id ${id} was welcomed`);
    }
  },
};

const secondHello: ConformanceCase = {
  id: "session/second-hello",
  title: "A Hello after Welcome is INVALID_ARGUMENT on its correlation id; the connection stays and the session keeps its version, features and limits",
  plane: "session",
  clauses: ["PW-SESS-037"],
  features: [Feature.LOG],
  async run(ctx) {
    const session = await ctx.connect({ hello: { features: [Feature.LOG] } });
    const before = session.welcome;
    for (const [id, features] of [[5, []], [1, [Feature.LOG, Feature.IDEMPOTENCE]]] as const) {
      session.expectAnswer(id, FrameKind.HELLO);
      session.sendFrame({ kind: FrameKind.HELLO, correlationId: id, message: helloBytes({ versions: { min: 1, max: 1 }, features, maxFrameSize: 1024 }) });
      await expectErrorFrame(session, "PW-SESS-037", { code: ErrorCode.INVALID_ARGUMENT, correlationId: id, connection: "stays" }, `a second Hello (correlation id ${id}, features [${features.join(",")}])`);
    }
    checkEqual("PW-SESS-037", session.received.filter((f) => f.kind === FrameKind.WELCOME).length, 1, "Welcome frames on a connection that sent three Hellos");
    // Still the first session: FEATURE_LOG stays granted (a second Hello without it changed nothing) ...
    const { message } = await session.call(FrameKind.METADATA_REQUEST, { topics: [] });
    check("PW-SESS-037", message.clusterId !== "", "a MetadataRequest after the second Hello was not answered as on the first session");
    // ... and FEATURE_IDEMPOTENCE stays not granted (a second Hello asking for it granted nothing).
    if (!before.features.includes(Feature.IDEMPOTENCE)) {
      const init = await session.requestFrame(FrameKind.INIT_PRODUCER_REQUEST, encode(InitProducerRequestSchema, { producerId: -1n, producerEpoch: -1 }));
      checkEqual("PW-SESS-037", kindName(init.kind), kindName(FrameKind.ERROR), "answer to InitProducer on a session not granted FEATURE_IDEMPOTENCE, after a second Hello asking for it");
    }
  },
};

/** Hello is sent once, with correlation id 1 (§3.5). */
export const helloOnceCases: readonly ConformanceCase[] = [misnumberedHello, secondHello];
