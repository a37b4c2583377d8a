import { Acks } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind, PingSchema } from "@polywire/proto/session";
import { encodeBatch, textRecord } from "../../batch/batch.js";
import type { ConformanceCase } from "../../runner/case.js";
import { check, checkEqual, ClauseViolation } from "../../clause.js";
import { DEFAULT_MAX_FRAME_SIZE, encodeRawFrame } from "../../wire/frame.js";
import { decodeError, encode, kindName } from "../../wire/messages.js";
import { ALL_FEATURES, helloBytes, type WireSession } from "../../wire/session.js";
import { expectErrorFrame, expectServing, sleep } from "../expect.js";

/** PW-FRAME-017: the largest frame a broker reads before it sent Welcome. */
const PRE_HANDSHAKE_MAX = 64 * 1024;
/** Connections of the PW-FRAME-018 case: together they announce far more than a 32-bit WASM heap, or most brokers' memory. */
const ANNOUNCERS = 300;
/** Time for bytes written on loopback to reach the broker and be read. */
const SETTLE_MS = 500;

// A Hello whose client_id pads the frame to exactly `size` bytes (client_id is for logs only, PW-SESS-018).
function helloFrameOf(size: number): Uint8Array {
  const hello = (pad: number): Uint8Array => helloBytes({
    versions: { min: 1, max: 1 }, features: [...ALL_FEATURES], clientId: "x".repeat(pad), maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  });
  let pad = size - 16 - hello(0).length;
  for (;;) {
    const message = hello(pad);
    if (16 + message.length === size) return encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message });
    pad += size - 16 - message.length;
  }
}

// A Ping of exactly `size` bytes, its payload padding it (a Ping's payload is not read).
function pingFrameOf(session: WireSession, size: number): { id: number; bytes: Uint8Array } {
  const id = session.nextId();
  const message = encode(PingSchema, { nonce: BigInt(id) });
  session.expectAnswer(id, FrameKind.PING);
  return { id, bytes: encodeRawFrame({ kind: FrameKind.PING, correlationId: id, message, payload: new Uint8Array(size - 16 - message.length) }) };
}

async function expectPong(session: WireSession, id: number, clause: string, what: string): Promise<void> {
  const frame = await session.nextFrame(10_000, (f) => f.correlationId === id).catch((error: unknown) => {
    throw new ClauseViolation(clause, `${what}: no answer (${(error as Error).message})`);
  });
  check(clause, frame.kind === FrameKind.PONG, `${what}: answered with ${kindName(frame.kind)}${frame.kind === FrameKind.ERROR ? ` ${decodeError(frame).message}` : ""}`);
}

const preHandshakeLimit: ConformanceCase = {
  id: "session/pre-handshake-frame-limit",
  title: "Before Welcome, a frame of exactly 64 KiB is read and one of 64 KiB + 1 is FRAME_TOO_LARGE (limit 65,536) on correlation id 0 as soon as its length is read, then close; after Welcome larger frames are read",
  plane: "session",
  clauses: ["PW-FRAME-017", "PW-FRAME-006", "PW-FRAME-013", "PW-ERR-003"],
  async run(ctx) {
    const max = ctx.welcome.limits?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    const limit = Math.min(PRE_HANDSHAKE_MAX, max);
    const exact = await ctx.connect({ handshake: false });
    exact.expectAnswer(1, FrameKind.HELLO);
    exact.write(helloFrameOf(limit));
    const welcome = await exact.nextFrame(5000, (f) => f.correlationId === 1 || f.correlationId === 0).catch(() => undefined);
    check("PW-FRAME-017", welcome?.kind === FrameKind.WELCOME, `a Hello frame of exactly ${limit} bytes got ${welcome === undefined ? "no answer" : kindName(welcome.kind)}${welcome?.kind === FrameKind.ERROR ? ` ${decodeError(welcome).message}` : ""}`);

    const over = await ctx.connect({ handshake: false });
    // Only the header: the broker must refuse from the length field (PW-FRAME-006).
    over.write(helloFrameOf(limit + 1).subarray(0, 16));
    const error = await expectErrorFrame(over, "PW-FRAME-017", { code: ErrorCode.FRAME_TOO_LARGE, correlationId: 0, connection: "closes", timeoutMs: 3000 }, `a Hello frame of ${limit + 1} bytes before Welcome (its header only)`);
    checkEqual("PW-ERR-003", error.limit, BigInt(limit), "Error.limit of FRAME_TOO_LARGE before Welcome");

    if (max > limit) {
      const session = await ctx.connect();
      const { id, bytes } = pingFrameOf(session, Math.min(max, 2 * limit));
      session.write(bytes);
      await expectPong(session, id, "PW-FRAME-017", `after Welcome, a Ping frame of ${bytes.length} bytes`);
    }
  },
};

const announcedLengths: ConformanceCase = {
  id: "session/incomplete-frames-cost-what-arrived",
  title: `${ANNOUNCERS} connections that each announce a frame of max_frame_size and send only its header cost the broker only those bytes: none of them is refused, and another connection produces a 1 MiB batch and fetches it`,
  plane: "session",
  clauses: ["PW-FRAME-018", "PW-FRAME-006"],
  features: [Feature.LOG],
  timeoutMs: 60_000,
  async run(ctx) {
    const topic = await ctx.topic(1, { "max.message.bytes": "2147483647" });
    const max = ctx.welcome.limits?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    const announcers: WireSession[] = [];
    for (let started = 0; started < ANNOUNCERS; started += 50) {
      const sessions = await Promise.all(Array.from({ length: Math.min(50, ANNOUNCERS - started) }, () => ctx.connect({ hello: { features: [] } })));
      for (const s of sessions) s.write(encodeRawFrame({ kind: FrameKind.PING, correlationId: 3, message: new Uint8Array(0), length: max - 4 }).subarray(0, 16));
      announcers.push(...sessions);
    }
    await sleep(SETTLE_MS);
    const refused = announcers.filter((s) => s.ended !== undefined || s.received.length > 1);
    check("PW-FRAME-018", refused.length === 0, `${refused.length} of ${ANNOUNCERS} connections that announced a frame of exactly max_frame_size (${max} bytes) were answered or closed before sending it`);
    const session = await ctx.connect();
    const batchSize = Math.min(1 << 20, (ctx.welcome.limits?.maxBatchSize ?? 8 << 20) - 1024);
    const batch = encodeBatch([{ ...textRecord(""), value: new Uint8Array(batchSize - 100).fill(0x61) }]);
    const produced = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, batch, { timeoutMs: 10_000 }).catch((e: unknown) => {
      throw new ClauseViolation("PW-FRAME-018", `a ${batch.length}-byte produce while ${ANNOUNCERS} connections announced ${max}-byte frames failed: ${(e as Error).message}`);
    });
    checkEqual("PW-FRAME-018", produced.message.baseOffset, 0n, "base offset of the produce");
    const { frame } = await session.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic, partition: 0, offset: 0n }], maxBytes: 4 << 20 }, undefined, { timeoutMs: 10_000 });
    checkEqual("PW-FRAME-018", frame.payload.length, batch.length, "bytes fetched back");
    await expectServing(session, "PW-FRAME-018", `a connection opened while ${ANNOUNCERS} frames of ${max} bytes were announced`);
  },
};

const inboundBudget: ConformanceCase = {
  id: "session/inbound-budget",
  title: "Unread frame bytes exactly at the broker's inbound budget are held and served; one byte more closes the connection holding the most with RESOURCE_EXHAUSTED (retriable, limit set) on correlation id 0, and the others are served",
  plane: "session",
  clauses: ["PW-LIM-006", "PW-SESS-013", "PW-ERR-001"],
  needs: ["variants"],
  async run(ctx) {
    const budget = 256 * 1024;
    const variant = await ctx.variant({ limits: { maxBufferedInboundBytes: budget }, memory: true });
    const bystander = await ctx.connectTo(variant.url);
    const holder = await ctx.connectTo(variant.url);
    // Exactly the budget held: all of a Ping frame but its last 100 bytes.
    const first = pingFrameOf(holder, budget + 100);
    holder.write(first.bytes.subarray(0, budget));
    await sleep(SETTLE_MS);
    await expectServing(bystander, "PW-LIM-006", `another connection while ${budget} bytes (exactly the budget) are held`);
    holder.write(first.bytes.subarray(budget));
    await expectPong(holder, first.id, "PW-LIM-006", `a frame of which exactly the budget (${budget} bytes) was held`);

    // The budget again, then one byte more from another connection.
    const second = pingFrameOf(holder, budget + 100);
    holder.write(second.bytes.subarray(0, budget));
    await sleep(SETTLE_MS);
    const other = await ctx.connectTo(variant.url);
    const small = pingFrameOf(other, 64);
    other.write(small.bytes.subarray(0, 1));
    const error = await expectErrorFrame(holder, "PW-LIM-006", { code: ErrorCode.RESOURCE_EXHAUSTED, correlationId: 0, connection: "closes", timeoutMs: 5000 }, `the connection holding ${budget} bytes when another one brought the total to ${budget + 1}`);
    check("PW-SESS-013", error.retriable, "RESOURCE_EXHAUSTED must be retriable");
    checkEqual("PW-LIM-006", error.limit, BigInt(budget), "Error.limit of RESOURCE_EXHAUSTED");
    other.write(small.bytes.subarray(1));
    await expectPong(other, small.id, "PW-LIM-006", "the connection whose byte went over the budget, holding less");
    await expectServing(bystander, "PW-LIM-006", "another connection after RESOURCE_EXHAUSTED");
  },
};

const inFlightBudget: ConformanceCase = {
  id: "session/inbound-budget-in-flight",
  title: "Frames of requests still being handled count in the inbound budget until they are answered: over it the connection with the most in flight gets RESOURCE_EXHAUSTED (limit set) on correlation id 0, and the others are answered",
  plane: "session",
  clauses: ["PW-LIM-012", "PW-LIM-006"],
  needs: ["variants"],
  async run(ctx) {
    const budget = 256 * 1024;
    // A disk that takes 3 s to make an ACKS_ALL append durable: the produces below stay in flight.
    const variant = await ctx.variant({ limits: { maxBufferedInboundBytes: budget }, memory: true, slowSyncMs: 3000 });
    await variant.createTopic("held", 1);
    const holder = await ctx.connectTo(variant.url);
    const other = await ctx.connectTo(variant.url);
    const produce = (session: WireSession, bytes: number): Promise<unknown> =>
      session.call(FrameKind.PRODUCE_REQUEST, { topic: "held", partition: 0, acks: Acks.ALL, timeoutMs: 20_000 }, encodeBatch([textRecord("x".repeat(bytes))]), { timeoutMs: 20_000 });
    // Three produces of about 80,000 bytes: about 240,000 bytes in flight, within the budget.
    const held = [1, 2, 3].map(() => produce(holder, 80_000).catch(() => undefined));
    await sleep(SETTLE_MS);
    await expectServing(other, "PW-LIM-012", `another connection while ${held.length} produces of 80,000 bytes wait for the disk`);
    // About 40,000 bytes more from the other connection: the total passes the budget, and the holder holds the most.
    // Settled at once into a value: when the check below fails first, the produce's later rejection is no unhandled one.
    const answered = produce(other, 40_000).then(() => undefined, (cause: unknown) => cause as Error);
    const error = await expectErrorFrame(holder, "PW-LIM-012", { code: ErrorCode.RESOURCE_EXHAUSTED, correlationId: 0, connection: "closes", timeoutMs: 2500 }, `the connection with ${held.length} produces of 80,000 bytes in flight when another one's produce brought the total above the budget of ${budget} bytes`);
    checkEqual("PW-LIM-006", error.limit, BigInt(budget), "Error.limit of RESOURCE_EXHAUSTED");
    const refused = await answered;
    if (refused !== undefined) throw new ClauseViolation("PW-LIM-012", `the produce of the connection holding less was not answered: ${refused.message}`);
    await Promise.all(held);
  },
};

/** Resource bounds against hostile clients: the pre-handshake frame limit, incomplete frames, the inbound budget. */
export const resourceCases: readonly ConformanceCase[] = [preHandshakeLimit, announcedLengths, inboundBudget, inFlightBudget];
