import { Acks, MetadataRequestSchema, ProduceRequestSchema } from "@polywire/proto/log";
import { AuthResponseSchema, ErrorCode, Feature, FrameKind, PingSchema } from "@polywire/proto/session";
import { encodeBatch, textRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame } from "../../wire/frame.js";
import { codeName, decodeError, encode, kindName } from "../../wire/messages.js";
import { helloBytes, type HelloInit } from "../../wire/session.js";
import { expectErrorFrame } from "../expect.js";
import { highWatermark } from "../log/io.js";

const text = new TextEncoder();
/** What PW-LIM-011 makes every broker hold behind a Hello. */
const HELD = 65_536;

const helloFrame = (init: HelloInit): Uint8Array => encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, ...init }) });

/** A Ping frame of exactly `size` bytes: the payload pads it (a Ping's payload carries nothing). */
function pingOfSize(id: number, size: number): Uint8Array {
  const message = encode(PingSchema, { nonce: BigInt(id) });
  return encodeRawFrame({ kind: FrameKind.PING, correlationId: id, message, payload: new Uint8Array(size - 16 - message.length) });
}

const behindHello: ConformanceCase = {
  id: "session/pipelining-behind-hello",
  title: "Requests written together with the Hello are answered after Welcome, in order, under the features and limits of that Welcome",
  plane: "session",
  clauses: ["PW-SESS-023", "PW-SESS-007", "PW-SESS-006", "PW-SESS-010"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect({ handshake: false });
    session.expectAnswer(1, FrameKind.HELLO);
    for (const [id, kind] of [[3, FrameKind.PING], [5, FrameKind.PRODUCE_REQUEST], [7, FrameKind.METADATA_REQUEST], [9, FrameKind.GROUP_HEARTBEAT_REQUEST]] as const) session.expectAnswer(id, kind);
    session.writeFrames([
      helloFrame({ features: [Feature.LOG] }),
      encodeRawFrame({ kind: FrameKind.PING, correlationId: 3, message: encode(PingSchema, { nonce: 3n }) }),
      encodeRawFrame({ kind: FrameKind.PRODUCE_REQUEST, correlationId: 5, message: encode(ProduceRequestSchema, { topic, partition: 0, acks: Acks.LEADER }), payload: encodeBatch([textRecord("0-rtt")]) }),
      encodeRawFrame({ kind: FrameKind.METADATA_REQUEST, correlationId: 7, message: encode(MetadataRequestSchema, { topics: [topic] }) }),
      // FEATURE_GROUPS was not asked for: the Welcome's grant applies to what was pipelined too.
      encodeRawFrame({ kind: FrameKind.GROUP_HEARTBEAT_REQUEST, correlationId: 9, message: new Uint8Array(0) }),
    ]);
    const frames = [];
    for (let i = 0; i < 5; i++) frames.push(await session.nextFrame(10_000));
    checkEqual("PW-SESS-023", kindName((frames[0] as { kind: number }).kind), kindName(FrameKind.WELCOME), "the first frame the broker sent");
    const byId = new Map(frames.slice(1).map((f) => [f.correlationId, f]));
    checkEqual("PW-SESS-023", [3, 5, 7, 9].map((id) => kindName(byId.get(id)?.kind ?? 0)), [kindName(FrameKind.PONG), kindName(FrameKind.PRODUCE_RESPONSE), kindName(FrameKind.METADATA_RESPONSE), kindName(FrameKind.ERROR)], "answers to a Ping, a Produce, a Metadata and a heartbeat pipelined behind the Hello");
    const refusal = byId.get(9);
    if (refusal !== undefined) checkEqual("PW-SESS-006", codeName(decodeError(refusal).code), codeName(ErrorCode.FEATURE_NOT_NEGOTIATED), "a pipelined request of a feature the Welcome did not grant");
    const reader = await ctx.connect();
    checkEqual("PW-SESS-023", await highWatermark(reader, topic, 0), 1n, "high watermark after a Produce pipelined behind the Hello");
  },
};

const heldBytes: ConformanceCase = {
  id: "session/pipelined-bytes-limit",
  title: "During a SASL exchange a broker holds 65,536 bytes pipelined behind the Hello and serves them after Welcome; beyond its bound it answers HANDSHAKE_REQUIRED and closes without processing any of them",
  plane: "session",
  clauses: ["PW-LIM-011", "PW-SESS-023", "PW-SESS-007"],
  needs: ["variants"],
  async run(ctx) {
    const token = "held-s3cret";
    const variant = await ctx.variant({ memory: true, token });
    // TOKEN without an initial response gets a challenge: the exchange waits for us, so what follows the Hello is held.
    const hello = helloFrame({ features: [Feature.LOG], authMechanism: "TOKEN" });
    const answer = encodeRawFrame({ kind: FrameKind.AUTH_RESPONSE, correlationId: 1, message: encode(AuthResponseSchema, { response: text.encode(token) }) });

    const exact = await ctx.connectTo(variant.url, { handshake: false });
    exact.expectAnswer(1, FrameKind.HELLO);
    exact.expectAnswer(3, FrameKind.PING);
    exact.writeFrames([hello, pingOfSize(3, HELD)]);
    const challenge = await exact.nextFrame(5000);
    checkEqual("PW-LIM-011", kindName(challenge.kind), kindName(FrameKind.AUTH_CHALLENGE), `the answer to a TOKEN Hello without initial response followed by ${HELD} pipelined bytes`);
    exact.write(answer);
    const welcome = await exact.nextFrame(5000);
    checkEqual("PW-SESS-023", kindName(welcome.kind), kindName(FrameKind.WELCOME), "the answer to the AuthResponse");
    const pong = await exact.nextFrame(5000);
    check("PW-LIM-011", pong.kind === FrameKind.PONG && pong.correlationId === 3, () => `a ${HELD}-byte Ping held behind the Hello was answered with ${kindName(pong.kind)} (${pong.correlationId}), not a Pong after Welcome`);

    const over = await ctx.connectTo(variant.url, { handshake: false });
    over.expectAnswer(1, FrameKind.HELLO);
    over.expectAnswer(3, FrameKind.PING);
    over.expectAnswer(5, FrameKind.PING);
    over.writeFrames([hello, pingOfSize(3, HELD), pingOfSize(5, 32)]);
    let refusal = await over.nextFrame(5000);
    if (refusal.kind === FrameKind.AUTH_CHALLENGE) {
      over.write(answer);
      refusal = await over.nextFrame(5000);
    }
    if (refusal.kind === FrameKind.WELCOME) {
      // A broker with a larger bound (PW-LIM-011 allows one) serves both after Welcome.
      const answered = [await over.nextFrame(5000), await over.nextFrame(5000)].map((f) => f.correlationId).sort();
      checkEqual("PW-SESS-023", answered, [3, 5], "answers to two Pings held behind the Hello by a broker holding more than 65,536 bytes");
      ctx.note("the broker holds more than 65,536 bytes behind a Hello");
      return;
    }
    const code = refusal.kind === FrameKind.ERROR ? codeName(decodeError(refusal).code) : kindName(refusal.kind);
    checkEqual("PW-LIM-011", [code, refusal.correlationId], [codeName(ErrorCode.HANDSHAKE_REQUIRED), 5], `the answer to ${HELD + 32} bytes pipelined behind a Hello, beyond the broker's bound`);
    const end = await over.waitEnd(5000);
    check("PW-LIM-011", end !== undefined, "the broker did not close the connection after refusing pipelined bytes beyond its bound");
    check("PW-SESS-007", !over.received.some((f) => f.kind === FrameKind.PONG || f.kind === FrameKind.WELCOME), "a held frame was processed, or Welcome sent, on a connection refused for holding too much");
  },
};

const minimumFrameSize: ConformanceCase = {
  id: "session/hello-max-frame-size-minimum",
  title: "A Hello whose max_frame_size is 65,535 is INVALID_ARGUMENT on correlation id 1 with limit 65,536, then close; 65,536 is welcomed",
  plane: "session",
  clauses: ["PW-FRAME-020", "PW-ERR-003"],
  async run(ctx) {
    const small = await ctx.connect({ handshake: false, maxFrameSize: HELD });
    small.expectAnswer(1, FrameKind.HELLO);
    small.write(helloFrame({ features: [Feature.LOG], maxFrameSize: HELD - 1 }));
    const error = await expectErrorFrame(small, "PW-FRAME-020", { code: ErrorCode.INVALID_ARGUMENT, correlationId: 1, connection: "closes" }, "a Hello with max_frame_size 65535");
    checkEqual("PW-FRAME-020", error.limit, BigInt(HELD), "Error.limit of the refusal of a max_frame_size below the minimum");
    const exact = await ctx.connect({ hello: { maxFrameSize: HELD } });
    check("PW-FRAME-020", exact.welcome.version === 1, "a Hello with max_frame_size 65536 was not welcomed");
  },
};

/** Pipelining behind Hello (§3.6) and the frame size minimum (PW-FRAME-020). */
export const pipeliningCases: readonly ConformanceCase[] = [behindHello, heldBytes, minimumFrameSize];
