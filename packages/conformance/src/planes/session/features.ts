import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { FEATURES, FRAME_KINDS } from "../../wire/frame-kinds.js";
import { codeName, decodeError, kindName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { expectErrorFrame, expectServing } from "../expect.js";

/** Sends one frame of `kind` with an empty message and returns the frame that answers it. */
async function answerTo(session: WireSession, kind: number): Promise<{ id: number; frame: Awaited<ReturnType<WireSession["nextFrame"]>> }> {
  const id = session.nextId();
  session.expectAnswer(id, kind);
  session.sendFrame({ kind, correlationId: id, message: new Uint8Array(0) });
  return { id, frame: await session.nextFrame(5000, (f) => f.correlationId === id) };
}

/**
 * One case per Feature of v1, derived from the frame-kind table of spec §3.5
 * (spec/vectors/frame-kinds.json), so a feature added to the spec gets its
 * case without anyone writing it: a connection that does not ask for the
 * feature is not granted it, every kind of it a client may send is
 * FEATURE_NOT_NEGOTIATED there with the connection kept, and (through the
 * monitor, on every case) the broker never sends a frame of it or, for
 * FEATURE_FRAME_CHECKSUM, a checksummed frame. Where the broker grants the
 * feature, its kinds are not refused for it on a connection that has it.
 */
const featureCases: ConformanceCase[] = FEATURES.map((f): ConformanceCase => {
  const sendable = f.kinds.filter((k) => k.sentBy !== "broker");
  const broker = f.kinds.filter((k) => k.sentBy !== "client").map((k) => k.name);
  return {
    id: `session/feature/${f.name}`,
    title: `${f.name}: not granted unless asked for; ${sendable.length === 0 ? "it has no frame a client sends" : `each of its ${sendable.length} client kinds is FEATURE_NOT_NEGOTIATED without it, the connection kept`}${broker.length === 0 ? "" : `; the broker never sends ${broker.join(", ")} without it`}${f.feature === Feature.FRAME_CHECKSUM ? "; without it no broker frame carries CHECKSUM" : ""}`,
    plane: "session",
    clauses: ["PW-SESS-005", "PW-SESS-006", "PW-SESS-021", "PW-SESS-022", ...(f.feature === Feature.FRAME_CHECKSUM ? ["PW-SESS-026"] : [])],
    async run(ctx) {
      // Every other feature, so a kind that also needs another one fails on this one only.
      const others = FEATURES.map((g) => g.feature).filter((g) => g !== f.feature);
      const without = await ctx.connect({ hello: { features: others } });
      check("PW-SESS-005", !without.welcome.features.includes(f.feature), `a Hello without ${f.name} was granted it`);
      for (const info of sendable) {
        const id = without.nextId();
        without.expectAnswer(id, info.kind);
        // Any message bytes: the feature is checked before the message is decoded (PW-SESS-022).
        without.sendFrame({ kind: info.kind, correlationId: id, message: Uint8Array.of(0xff, 0xff) });
        await expectErrorFrame(without, "PW-SESS-006", { code: ErrorCode.FEATURE_NOT_NEGOTIATED, correlationId: id, connection: "stays" }, `${info.name} on a connection not granted ${f.name}`);
      }
      if (f.feature === Feature.FRAME_CHECKSUM) {
        // The monitor fails the case on any checksummed frame; a Ping makes sure there is one to look at.
        await expectServing(without, "PW-SESS-026", `a connection not granted ${f.name}`);
      }
      if (!ctx.welcome.features.includes(f.feature)) {
        ctx.note(`the broker does not grant ${f.name}`);
        return;
      }
      const withIt = await ctx.connect({ hello: { features: FEATURES.map((g) => g.feature) } });
      check("PW-SESS-005", withIt.welcome.features.includes(f.feature), `the broker granted ${f.name} to the runner's probe but not to a second connection asking the same`);
      for (const info of sendable.filter((k) => k.answer !== undefined)) {
        const { frame } = await answerTo(withIt, info.kind);
        const refused = frame.kind === FrameKind.ERROR && decodeError(frame).code === ErrorCode.FEATURE_NOT_NEGOTIATED;
        check("PW-SESS-006", !refused, `${info.name} was FEATURE_NOT_NEGOTIATED on a connection granted ${f.name}`);
      }
    },
  };
});

const senderRules: ConformanceCase = {
  id: "session/broker-only-kinds",
  title: "A frame of a kind only the broker sends, or an AuthResponse after the handshake, is INVALID_ARGUMENT with its correlation id; the connection stays",
  plane: "session",
  clauses: ["PW-SESS-021", "PW-SESS-022"],
  async run(ctx) {
    const session = await ctx.connect();
    const kinds = [...[...FRAME_KINDS.values()].filter((k) => k.sentBy === "broker").map((k) => k.kind), FrameKind.AUTH_RESPONSE];
    for (const kind of kinds) {
      const id = session.nextId();
      session.expectAnswer(id, kind);
      session.sendFrame({ kind, correlationId: id, message: new Uint8Array(0) });
      const frame = await session.nextFrame(5000, (f) => f.correlationId === id);
      check("PW-SESS-021", frame.kind === FrameKind.ERROR, `${kindName(kind)} from the client was answered with ${kindName(frame.kind)}`);
      checkEqual("PW-SESS-021", codeName(decodeError(frame).code), codeName(ErrorCode.INVALID_ARGUMENT), `the error for ${kindName(kind)} sent by a client`);
    }
    await expectServing(session, "PW-SESS-021", "after frames of kinds only the broker sends");
  },
};

const checksumGranted: ConformanceCase = {
  id: "session/checksum-granted",
  title: "A broker that grants FEATURE_FRAME_CHECKSUM sets CHECKSUM on every frame from Welcome on; a client's own checksummed frames are read whether or not it asked for the feature",
  plane: "session",
  clauses: ["PW-SESS-026", "PW-FRAME-022", "PW-FRAME-004"],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ memory: true, checksumFrames: true });
    // The session checks the Welcome's flag and the monitor every later frame's.
    const granted = await ctx.connectTo(variant.url, { hello: { features: [Feature.LOG, Feature.FRAME_CHECKSUM] } });
    check("PW-SESS-026", granted.welcome.features.includes(Feature.FRAME_CHECKSUM), "a broker configured to checksum its frames did not grant FEATURE_FRAME_CHECKSUM");
    await expectServing(granted, "PW-SESS-026", "a connection granted FEATURE_FRAME_CHECKSUM");
    await granted.call(FrameKind.METADATA_REQUEST, { topics: [] });
    const plain = await ctx.connectTo(variant.url, { hello: { features: [Feature.LOG] }, checksum: true });
    check("PW-SESS-026", !plain.welcome.features.includes(Feature.FRAME_CHECKSUM), "FEATURE_FRAME_CHECKSUM granted though not asked for");
    const { message } = await plain.call(FrameKind.PING, { nonce: 5n });
    checkEqual("PW-FRAME-022", message.nonce, 5n, "Pong nonce for a checksummed Ping on a connection without the feature");
    await plain.call(FrameKind.METADATA_REQUEST, { topics: [] });
  },
};

/** Features and frame kinds (§3.5). */
export const featureTableCases: readonly ConformanceCase[] = [...featureCases, senderRules, checksumGranted];
