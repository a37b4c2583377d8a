import { Acks, FetchRequestSchema } from "@polywire/proto/log";
import { CloseSchema, DrainSchema, ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch, textRecord } from "../../batch/batch.js";
import { check, checkEqual, ClauseViolation } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import type { WireFrame } from "../../wire/frame.js";
import { BrokerError, codeName, decode, decodeError, encode, kindName } from "../../wire/messages.js";
import { expectBrokerError, sleep } from "../expect.js";

const pipelining: ConformanceCase = {
  id: "session/pipelining",
  title: "Two hundred pipelined requests behind a long poll are each answered once, with their own correlation id and response kind; answers may overtake the long poll",
  plane: "session",
  clauses: ["PW-FRAME-011", "PW-FRAME-012", "PW-SESS-010", "PW-SESS-012", "PW-LOG-003"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const order: number[] = [];
    const poll = session.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic, partition: 0, offset: 0n }], maxWaitMs: 800, minBytes: 1 }).then((r) => {
      order.push(-1);
      return r;
    });
    const batch = encodeBatch([textRecord("x")]);
    const requests: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) {
      if (i % 3 === 0) {
        const nonce = BigInt(i + 1000);
        requests.push(session.call(FrameKind.PING, { nonce }).then(({ message }) => {
          checkEqual("PW-SESS-010", message.nonce, nonce, `Pong nonce for Ping ${i}`);
          order.push(i);
        }));
      } else if (i % 3 === 1) {
        requests.push(session.call(FrameKind.METADATA_REQUEST, { topics: [topic] }).then(({ message }) => {
          checkEqual("PW-FRAME-011", message.topics.map((t) => t.name), [topic], `MetadataResponse ${i}`);
          order.push(i);
        }));
      } else {
        const id = session.nextId();
        requests.push(expectBrokerError("PW-LOG-003", session.call(FrameKind.PRODUCE_REQUEST, { topic: `${topic}-missing`, partition: 0, acks: Acks.LEADER }, batch, { correlationId: id }), ErrorCode.UNKNOWN_TOPIC, `produce ${i} to a missing topic`).then(() => order.push(i)));
      }
    }
    await Promise.all(requests);
    await poll;
    const overtaken = order.indexOf(-1) > 0;
    ctx.note(overtaken ? "answers overtook the long poll (responses in any order, PW-FRAME-012)" : "the broker answered in request order");
  },
};

const closeHandshake: ConformanceCase = {
  id: "session/client-close",
  title: "After the client's Close the broker sends nothing but answers to requests in flight, then closes the connection",
  plane: "session",
  clauses: ["PW-SESS-016"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    session.expectAnswer(3, FrameKind.FETCH_REQUEST);
    session.sendFrame({ kind: FrameKind.FETCH_REQUEST, correlationId: 3, message: encode(FetchRequestSchema, { partitions: [{ topic, partition: 0, offset: 0n }], maxWaitMs: 500, minBytes: 1 }) });
    session.sendFrame({ kind: FrameKind.CLOSE, correlationId: 0, message: encode(CloseSchema, { code: ErrorCode.UNSPECIFIED, reason: "conformance" }) });
    const frames: WireFrame[] = [];
    for (;;) {
      const frame = await session.nextFrame(5000).catch(() => undefined);
      if (frame === undefined) break;
      frames.push(frame);
    }
    check("PW-SESS-016", session.ended !== undefined, "the broker did not close the connection within 5 s of the client's Close");
    for (const f of frames) {
      check("PW-SESS-016", f.correlationId === 3 && (f.kind === FrameKind.FETCH_RESPONSE || f.kind === FrameKind.ERROR), `after the client's Close the broker sent ${kindName(f.kind)} (correlation id ${f.correlationId})`);
    }
  },
};

const drain: ConformanceCase = {
  id: "session/drain",
  title: "At shutdown the broker sends Drain to connections granted DRAIN_NOTICE, refuses new work with SHUTTING_DOWN, finishes requests in flight, and closes no earlier than the deadline",
  plane: "session",
  clauses: ["PW-SESS-015", "PW-SESS-016", "PW-SESS-005"],
  features: [Feature.LOG, Feature.DRAIN_NOTICE],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ drainDeadlineMs: 600 });
    await variant.createTopic("drained", 1);
    const notified = await ctx.connectTo(variant.url);
    const plain = await ctx.connectTo(variant.url, { hello: { features: [Feature.LOG] } });
    // A fresh id: the produce below must not reuse the long poll's while it is in flight (PW-FRAME-016).
    const pollId = notified.nextId();
    notified.expectAnswer(pollId, FrameKind.FETCH_REQUEST);
    notified.sendFrame({ kind: FrameKind.FETCH_REQUEST, correlationId: pollId, message: encode(FetchRequestSchema, { partitions: [{ topic: "drained", partition: 0, offset: 0n }], maxWaitMs: 3000, minBytes: 1 }) });
    await sleep(50);
    const closing = variant.close();
    const drainFrame = await notified.nextFrame(3000, (f) => f.kind === FrameKind.DRAIN).catch(() => undefined);
    check("PW-SESS-015", drainFrame !== undefined && drainFrame.correlationId === 0, "no Drain with correlation id 0 arrived on a connection granted FEATURE_DRAIN_NOTICE");
    const drainedAt = performance.now();
    const notice = decode(DrainSchema, (drainFrame as WireFrame).message);
    const refused = notified.call(FrameKind.PRODUCE_REQUEST, { topic: "drained", partition: 0, acks: Acks.LEADER }, encodeBatch([textRecord("after-drain")]));
    try {
      await refused;
      throw new ClauseViolation("PW-SESS-015", "a produce sent after Drain was accepted");
    } catch (error) {
      if (error instanceof ClauseViolation) throw error;
      if (!(error instanceof BrokerError)) throw new ClauseViolation("PW-SESS-015", `a produce sent after Drain got no answer: ${(error as Error).message}`);
      checkEqual("PW-SESS-015", codeName(error.code), codeName(ErrorCode.SHUTTING_DOWN), "error for new work after Drain");
      check("PW-SESS-015", error.error.retriable, "SHUTTING_DOWN must be retriable");
    }
    const answered = await notified.nextFrame(5000, (f) => f.correlationId === pollId).catch(() => undefined);
    check("PW-SESS-015", answered !== undefined && (answered.kind === FrameKind.FETCH_RESPONSE || (answered.kind === FrameKind.ERROR && decodeError(answered).code === ErrorCode.SHUTTING_DOWN)), "the long poll in flight at Drain was not answered");
    const end = await notified.waitEnd(5000);
    check("PW-SESS-015", end !== undefined, "the broker did not close the connection after the drain deadline");
    const held = (end?.at ?? 0) - drainedAt;
    check("PW-SESS-015", held >= notice.deadlineMs - 50, `the broker closed the connection ${Math.round(held)} ms after Drain, before its deadline_ms ${notice.deadlineMs}`);
    await closing;
    const plainDrains = await plain.nextFrame(0, (f) => f.kind === FrameKind.DRAIN).catch(() => undefined);
    check("PW-SESS-005", plainDrains === undefined, "a connection not granted FEATURE_DRAIN_NOTICE received Drain");
    // After the broker's Close, nothing may follow (PW-SESS-016).
    for (const s of [notified, plain]) {
      const log = s.received;
      const close = log.findIndex((f) => f.kind === FrameKind.CLOSE);
      if (close >= 0) check("PW-SESS-016", close === log.length - 1, `the broker sent ${kindName(log[close + 1]?.kind ?? 0)} after its Close`);
    }
  },
};

const idleMessages: ConformanceCase = {
  id: "session/undecodable-request",
  title: "A request whose header is valid but whose message does not decode is MALFORMED_FRAME with its correlation id, and the connection keeps serving",
  plane: "session",
  clauses: ["PW-FRAME-008", "PW-FRAME-014"],
  features: [Feature.LOG],
  async run(ctx) {
    const session = await ctx.connect();
    for (const [kind, bytes] of [
      [FrameKind.METADATA_REQUEST, new Uint8Array([0x0a, 0x05, 0x61])],
      [FrameKind.PRODUCE_REQUEST, new Uint8Array([0x18, 0xff, 0xff])],
      [FrameKind.PING, new Uint8Array([0x08])],
    ] as const) {
      const id = session.nextId();
      const frame = await session.requestFrame(kind, bytes, undefined, { correlationId: id });
      check("PW-FRAME-008", frame.kind === FrameKind.ERROR && decodeError(frame).code === ErrorCode.MALFORMED_FRAME, `a ${kindName(kind)} whose message does not decode was answered with ${kindName(frame.kind)}`);
      checkEqual("PW-FRAME-014", frame.correlationId, id, "correlation id of the MALFORMED_FRAME Error");
    }
    const { message } = await session.call(FrameKind.PING, { nonce: 4n });
    checkEqual("PW-FRAME-014", message.nonce, 4n, "Pong after three undecodable requests");
  },
};

/** Pipelining, close and drain (§2, §3.3). */
export const lifecycleCases: readonly ConformanceCase[] = [pipelining, closeHandshake, drain, idleMessages];
