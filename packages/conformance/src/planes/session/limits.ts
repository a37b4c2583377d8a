import { Acks, FetchRequestSchema, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind, PingSchema } from "@polywire/proto/session";
import { encodeBatch, textRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import { encodeRawFrame } from "../../wire/frame.js";
import { decodeError, encode, kindName } from "../../wire/messages.js";
import { helloBytes } from "../../wire/session.js";
import { expectBrokerError, expectErrorFrame, expectServing } from "../expect.js";
import { highWatermark } from "../log/io.js";

/** Most requests the runner pipelines to exhaust max_in_flight; a broker advertising more is not checked. */
const MAX_EXHAUSTIBLE_IN_FLIGHT = 8192;

const defaults: ConformanceCase = {
  id: "session/limit-defaults",
  title: "A broker with no configuration advertises the default limits",
  plane: "session",
  clauses: ["PW-LIM-005", "PW-FRAME-007"],
  needs: ["defaultConfig"],
  async run(ctx) {
    const l = ctx.welcome.limits;
    checkEqual("PW-FRAME-007", l?.maxFrameSize, 16 * 1024 * 1024, "default max_frame_size");
    checkEqual("PW-LIM-005", l?.maxBatchSize, 8 * 1024 * 1024, "default max_batch_size");
    checkEqual("PW-LIM-005", l?.maxUncompressedBatchSize, 64 * 1024 * 1024, "default max_uncompressed_batch_size");
    checkEqual("PW-LIM-005", l?.idempotenceWindow, 5, "default idempotence_window");
    checkEqual("PW-LIM-005", l?.maxInFlight, 1024, "default max_in_flight");
  },
};

const inFlight: ConformanceCase = {
  id: "session/max-in-flight",
  title: "max_in_flight requests awaiting answers are all served; the one more is TOO_MANY_IN_FLIGHT (retriable, limit set), the connection stays, and neither ACKS_NONE produces nor Pings count",
  plane: "session",
  clauses: ["PW-LIM-002", "PW-LIM-001", "PW-ERR-003", "PW-SESS-025"],
  features: [Feature.LOG],
  needs: ["admin"],
  timeoutMs: 60_000,
  async run(ctx) {
    const max = ctx.welcome.limits?.maxInFlight ?? 1024;
    if (max > MAX_EXHAUSTIBLE_IN_FLIGHT) throw new Unsupported(`max_in_flight ${max} is more than the runner pipelines (${MAX_EXHAUSTIBLE_IN_FLIGHT})`);
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const poll = encode(FetchRequestSchema, { partitions: [{ topic, partition: 0, offset: 0n }], maxWaitMs: 2500, minBytes: 1 });
    const frames: Uint8Array[] = [];
    const ids: number[] = [];
    for (let i = 0; i < max; i++) {
      const id = session.nextId();
      ids.push(id);
      session.expectAnswer(id, FrameKind.FETCH_REQUEST);
      frames.push(encodeRawFrame({ kind: FrameKind.FETCH_REQUEST, correlationId: id, message: poll }));
    }
    const extra = session.nextId();
    session.expectAnswer(extra, FrameKind.FETCH_REQUEST);
    frames.push(encodeRawFrame({ kind: FrameKind.FETCH_REQUEST, correlationId: extra, message: poll }));
    // An ACKS_NONE produce expects no answer and does not take a slot: it must still be appended.
    frames.push(encodeRawFrame({ kind: FrameKind.PRODUCE_REQUEST, correlationId: session.nextId(), message: encode(ProduceRequestSchema, { topic, partition: 0, acks: Acks.NONE }), payload: encodeBatch([textRecord("acks-none")]) }));
    // Nor does a Ping: it is answered at once, while every slot is taken (PW-SESS-025).
    const ping = session.nextId();
    session.expectAnswer(ping, FrameKind.PING);
    frames.push(encodeRawFrame({ kind: FrameKind.PING, correlationId: ping, message: encode(PingSchema, { nonce: 25n }) }));
    session.writeFrames(frames);
    const error = await expectErrorFrame(session, "PW-LIM-002", { code: ErrorCode.TOO_MANY_IN_FLIGHT, correlationId: extra, connection: "stays", timeoutMs: 5000 }, `request ${max + 1} with ${max} long polls awaiting answers`).catch(async (e: unknown) => {
      const answers = session.received.filter((f) => ids.includes(f.correlationId)).length;
      throw Object.assign(e as Error, { message: `${(e as Error).message} (${answers} of the long polls answered meanwhile)` });
    });
    check("PW-LIM-002", error.retriable, "TOO_MANY_IN_FLIGHT must be retriable");
    const pong = await session.nextFrame(2000, (f) => f.correlationId === ping).catch(() => undefined);
    check("PW-SESS-025", pong !== undefined && pong.kind === FrameKind.PONG, `a Ping sent while ${max} requests held every slot was ${pong === undefined ? "not answered within 2 s" : `answered with ${kindName(pong.kind)}`}`);
    checkEqual("PW-LIM-001", error.limit, BigInt(max), "Error.limit of TOO_MANY_IN_FLIGHT against the advertised max_in_flight");
    const reader = await ctx.connect();
    const deadline = performance.now() + 3000;
    let hw = 0n;
    while (hw === 0n && performance.now() < deadline) hw = await highWatermark(reader, topic, 0);
    checkEqual("PW-LIM-002", hw, 1n, "high watermark after an ACKS_NONE produce sent while max_in_flight requests were awaiting answers");
    for (const id of ids) {
      const frame = await session.nextFrame(10_000, (f) => f.correlationId === id);
      check("PW-LIM-002", frame.kind === FrameKind.FETCH_RESPONSE, `long poll ${id} was answered with ${kindName(frame.kind)}${frame.kind === FrameKind.ERROR ? ` ${decodeError(frame).code}` : ""}`);
    }
  },
};

const maxConnections: ConformanceCase = {
  id: "session/max-connections",
  title: "A broker at its connection limit answers the next Hello with TOO_MANY_CONNECTIONS (retriable) and closes; a freed slot is usable again",
  plane: "session",
  clauses: ["PW-LIM-004", "PW-SESS-013"],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ limits: { maxConnections: 3 } });
    const open = await Promise.all([0, 1, 2].map(() => ctx.connectTo(variant.url)));
    const refused = await ctx.connectTo(variant.url, { handshake: false });
    refused.expectAnswer(1, FrameKind.HELLO);
    refused.write(encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG] }) }));
    const error = await expectErrorFrame(refused, "PW-LIM-004", { code: ErrorCode.TOO_MANY_CONNECTIONS, correlationId: 1, connection: "closes" }, "a fourth connection to a broker limited to three");
    check("PW-LIM-004", error.retriable, "TOO_MANY_CONNECTIONS must be retriable");
    for (const s of open) await expectServing(s, "PW-LIM-004", "a connection inside the limit");
    (open[0] as { destroy(): void }).destroy();
    const deadline = performance.now() + 3000;
    for (;;) {
      try {
        await ctx.connectTo(variant.url);
        break;
      } catch (e) {
        check("PW-LIM-004", performance.now() < deadline, `no connection was accepted within 3 s after one of three closed: ${(e as Error).message}`);
      }
    }
  },
};

const batchSize: ConformanceCase = {
  id: "session/max-batch-size",
  title: "A batch of exactly max_batch_size is stored; one byte more is BATCH_TOO_LARGE (limit set), nothing of it is stored, the connection stays; a frame of exactly max_frame_size is read",
  plane: "session",
  clauses: ["PW-LIM-003", "PW-LIM-001", "PW-LOG-001", "PW-ERR-003", "PW-FRAME-006"],
  features: [Feature.LOG],
  needs: ["admin"],
  timeoutMs: 60_000,
  async run(ctx) {
    const max = ctx.welcome.limits?.maxBatchSize ?? 8 * 1024 * 1024;
    const maxFrame = ctx.welcome.limits?.maxFrameSize ?? 16 * 1024 * 1024;
    const topic = await ctx.topic(1, { "max.message.bytes": "2147483647" });
    const session = await ctx.connect();
    const sized = (size: number): Uint8Array => {
      const record = textRecord("");
      const overhead = encodeBatch([{ ...record, value: new Uint8Array(0) }]).length;
      // The value's varint length grows by a few bytes with the value; adjust until the batch is `size` bytes.
      let valueLength = size - overhead;
      for (;;) {
        const batch = encodeBatch([{ ...record, value: new Uint8Array(valueLength) }]);
        if (batch.length === size) return batch;
        valueLength += size - batch.length;
      }
    };
    const { message } = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, sized(max), { timeoutMs: 30_000 });
    checkEqual("PW-LIM-003", message.baseOffset, 0n, `base offset of a batch of exactly max_batch_size (${max} bytes)`);
    const error = await expectBrokerError("PW-LIM-003", session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, sized(max + 1), { timeoutMs: 30_000 }), ErrorCode.BATCH_TOO_LARGE, `a ${max + 1}-byte batch`);
    checkEqual("PW-LIM-001", error.limit, BigInt(max), "Error.limit of BATCH_TOO_LARGE against the advertised max_batch_size");
    checkEqual("PW-LOG-001", await highWatermark(session, topic, 0), 1n, "high watermark after a refused oversize batch");
    if (max + 1 < maxFrame) {
      // A produce frame of exactly max_frame_size is read (it fails on the batch size, not the frame size).
      const message2 = encode(ProduceRequestSchema, { topic, partition: 0, acks: Acks.LEADER });
      const payload = sized(maxFrame - 16 - message2.length);
      await expectBrokerError("PW-FRAME-006", session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, payload, { timeoutMs: 30_000 }), ErrorCode.BATCH_TOO_LARGE, `a produce frame of exactly max_frame_size (${maxFrame} bytes)`);
    }
    await expectServing(session, "PW-LIM-003", "after BATCH_TOO_LARGE");
  },
};

/** Limits (§4). */
export const limitCases: readonly ConformanceCase[] = [defaults, inFlight, maxConnections, batchSize];
