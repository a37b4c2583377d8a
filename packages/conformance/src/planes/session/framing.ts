import { readFileSync } from "node:fs";
import { FetchRequestSchema } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind, PingSchema } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame, fromHex } from "../../wire/frame.js";
import { encode } from "../../wire/messages.js";
import { expectErrorFrame, expectServing, sleep } from "../expect.js";

interface FrameVector {
  readonly name: string;
  readonly description: string;
  readonly clauses: readonly string[];
  readonly error: string;
  readonly connection: "closes" | "stays";
  readonly correlationId?: number;
  readonly maxFrameSize?: number;
  readonly hex: string;
}

const VECTORS = JSON.parse(readFileSync(new URL("../../../../../spec/vectors/frames.json", import.meta.url), "utf8")) as { invalid: FrameVector[] };

function errorCode(name: string): ErrorCode {
  return ErrorCode[name.replace(/^ERROR_CODE_/, "") as keyof typeof ErrorCode];
}

/** One case per invalid frame of spec/vectors/frames.json, sent to a broker after the handshake. */
const vectorCases: ConformanceCase[] = VECTORS.invalid
  .filter((v) => v.maxFrameSize === undefined)
  .map((v): ConformanceCase => ({
    id: `session/frame-vector/${v.name}`,
    title: `Invalid frame vector "${v.name}": ${v.description} The broker answers ${v.error} and the connection ${v.connection === "closes" ? "closes (other connections unaffected)" : "stays"}`,
    plane: "session",
    clauses: [...new Set([...v.clauses, "PW-FRAME-015", ...(v.connection === "closes" ? ["PW-FRAME-013"] : [])])],
    async run(ctx) {
      const bystander = await ctx.connect();
      const session = await ctx.connect();
      const bytes = fromHex(v.hex);
      if (v.correlationId !== undefined) session.expectAnswer(v.correlationId, new DataView(bytes.buffer).getUint16(6));
      session.write(bytes);
      const clause = v.clauses.find((c) => c !== "PW-FRAME-013") ?? "PW-FRAME-013";
      await expectErrorFrame(session, clause, { code: errorCode(v.error), correlationId: v.connection === "closes" ? 0 : (v.correlationId ?? 0), connection: v.connection }, `frame vector ${v.name}`);
      await expectServing(bystander, "PW-FRAME-013", `another connection, after ${v.name}`);
    },
  }));

const oversize: ConformanceCase = {
  id: "session/frame-too-large",
  title: "A frame one byte above the advertised max_frame_size is FRAME_TOO_LARGE (limit set) on correlation id 0 as soon as its length is read, then close; a frame of exactly the maximum is read",
  plane: "session",
  clauses: ["PW-FRAME-006", "PW-FRAME-013", "PW-FRAME-015", "PW-LIM-001", "PW-ERR-003"],
  async run(ctx) {
    const bystander = await ctx.connect();
    const session = await ctx.connect();
    const max = session.welcome.limits?.maxFrameSize ?? 16 * 1024 * 1024;
    // Only the 16 header bytes: the broker must refuse without waiting for the rest (PW-FRAME-006).
    const header = encodeRawFrame({ kind: FrameKind.PING, correlationId: 3, message: encode(PingSchema, { nonce: 1n }), length: max - 4 + 1, extraFlags: 0x80 });
    session.write(header.subarray(0, 16));
    const error = await expectErrorFrame(session, "PW-FRAME-006", { code: ErrorCode.FRAME_TOO_LARGE, correlationId: 0, connection: "closes", timeoutMs: 3000 }, `a ${max + 1}-byte frame (only its header sent; reserved flag set too, PW-FRAME-015: size is checked first)`);
    checkEqual("PW-LIM-001", error.limit, BigInt(max), "Error.limit of FRAME_TOO_LARGE against the advertised max_frame_size");
    await expectServing(bystander, "PW-FRAME-013", "another connection, after FRAME_TOO_LARGE");
    // Exactly the maximum: a Ping whose payload fills the frame must be read and answered (PW-LIM-001: exactly the limit advertised).
    const exact = await ctx.connect();
    const message = encode(PingSchema, { nonce: 77n });
    const id = exact.nextId();
    exact.expectAnswer(id, FrameKind.PING);
    exact.sendFrame({ kind: FrameKind.PING, correlationId: id, message, payload: new Uint8Array(max - 16 - message.length) });
    const pong = await exact.nextFrame(10_000).catch(() => undefined);
    check("PW-LIM-001", pong !== undefined && pong.kind === FrameKind.PONG && pong.correlationId === id, `a frame of exactly max_frame_size (${max} bytes) was not answered with a Pong`);
  },
};

const checksums: ConformanceCase = {
  id: "session/checksums",
  title: "Frames with a valid CHECKSUM and with header extension bytes are read; PW-FRAME-015 order: reserved flags before the checksum, message_length before the checksum, kind before the message",
  plane: "session",
  clauses: ["PW-FRAME-002", "PW-FRAME-004", "PW-FRAME-015", "PW-FRAME-009"],
  async run(ctx) {
    const session = await ctx.connect({ checksum: true });
    await expectServing(session, "PW-FRAME-004", "Pings with a valid CRC-32C");
    const extended = await ctx.connect();
    const id = extended.nextId();
    extended.expectAnswer(id, FrameKind.PING);
    extended.sendFrame({ kind: FrameKind.PING, correlationId: id, message: encode(PingSchema, { nonce: 5n }), headerSize: 40 });
    const pong = await extended.nextFrame(5000);
    check("PW-FRAME-002", pong.kind === FrameKind.PONG && pong.correlationId === id, "a Ping with header_size 40 was not answered with a Pong");
    const orders: Array<[string, Parameters<typeof encodeRawFrame>[0], ErrorCode, number]> = [
      ["reserved flag and a wrong checksum", { kind: FrameKind.PING, correlationId: 3, message: encode(PingSchema, { nonce: 1n }), checksum: true, corruptChecksum: true, extraFlags: 0x04 }, ErrorCode.MALFORMED_FRAME, 0],
      ["message_length past the end and a wrong checksum", { kind: FrameKind.PING, correlationId: 3, message: encode(PingSchema, { nonce: 1n }), checksum: true, corruptChecksum: true, messageLength: 200 }, ErrorCode.MALFORMED_FRAME, 0],
      ["a wrong checksum on an unknown kind", { kind: 4001, correlationId: 3, message: new Uint8Array([0xff]), checksum: true, corruptChecksum: true }, ErrorCode.CHECKSUM_MISMATCH, 0],
      ["an unknown kind with a message that does not decode", { kind: 4002, correlationId: 3, message: new Uint8Array([0x08, 0xff]) }, ErrorCode.UNKNOWN_FRAME_KIND, 3],
    ];
    for (const [what, init, code, correlationId] of orders) {
      const s = await ctx.connect();
      if (correlationId !== 0) s.expectAnswer(correlationId, init.kind);
      s.write(encodeRawFrame(init));
      await expectErrorFrame(s, "PW-FRAME-015", { code, correlationId, connection: correlationId === 0 ? "closes" : "stays" }, what);
    }
  },
};

const evenCorrelationId: ConformanceCase = {
  id: "session/even-correlation-id",
  title: "A request, or a Ping, with an even correlation id is INVALID_ARGUMENT with that id; the connection stays",
  plane: "session",
  clauses: ["PW-FRAME-010", "PW-FRAME-016", "PW-SESS-024"],
  async run(ctx) {
    const session = await ctx.connect();
    session.expectAnswer(4, FrameKind.METADATA_REQUEST);
    session.sendFrame({ kind: FrameKind.METADATA_REQUEST, correlationId: 4, message: new Uint8Array(0) });
    await expectErrorFrame(session, "PW-FRAME-016", { code: ErrorCode.INVALID_ARGUMENT, correlationId: 4, connection: "stays" }, "a MetadataRequest with correlation id 4");
    session.expectAnswer(6, FrameKind.PING);
    session.sendFrame({ kind: FrameKind.PING, correlationId: 6, message: encode(PingSchema, { nonce: 6n }) });
    await expectErrorFrame(session, "PW-SESS-024", { code: ErrorCode.INVALID_ARGUMENT, correlationId: 6, connection: "stays" }, "a client's Ping with correlation id 6");
  },
};

const duplicateCorrelationId: ConformanceCase = {
  id: "session/duplicate-correlation-id",
  title: "A request reusing the id of a request still awaiting its answer gets a connection-level INVALID_ARGUMENT naming that id, then close; neither request is answered on that id",
  plane: "session",
  clauses: ["PW-FRAME-011", "PW-FRAME-016", "PW-ERR-003"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const bystander = await ctx.connect();
    const session = await ctx.connect();
    // A long poll keeps id 7 awaiting its answer while a second request reuses it.
    session.expectAnswer(7, FrameKind.FETCH_REQUEST);
    session.sendFrame({ kind: FrameKind.FETCH_REQUEST, correlationId: 7, message: encode(FetchRequestSchema, { partitions: [{ topic, partition: 0, offset: 0n }], maxWaitMs: 1500, minBytes: 1 }) });
    await sleep(100);
    session.sendFrame({ kind: FrameKind.METADATA_REQUEST, correlationId: 7, message: new Uint8Array(0) });
    const error = await expectErrorFrame(session, "PW-FRAME-016", { code: ErrorCode.INVALID_ARGUMENT, correlationId: 0, connection: "closes", timeoutMs: 1200 }, "a second request with the id of a long poll in flight");
    checkEqual("PW-FRAME-016", error.requestCorrelationId, 7, "Error.request_correlation_id of the connection-level error for a reused id");
    check("PW-FRAME-016", !session.received.some((f) => f.correlationId === 7), "an answer on the reused correlation id 7 was sent");
    await expectServing(bystander, "PW-FRAME-016", "another connection, after a connection was closed for a reused id");
  },
};

const truncated: ConformanceCase = {
  id: "session/truncated-frame",
  title: "A connection that ends in the middle of a frame, or sends garbage, harms no other connection",
  plane: "session",
  clauses: ["PW-FRAME-013", "PW-FRAME-005"],
  async run(ctx) {
    const bystander = await ctx.connect();
    const half = await ctx.connect();
    const frame = encodeRawFrame({ kind: FrameKind.PING, correlationId: 3, message: encode(PingSchema, { nonce: 9n }), payload: new Uint8Array(1000) });
    half.write(frame.subarray(0, 500));
    await sleep(50);
    half.end();
    const garbage = await ctx.connect({ handshake: false });
    garbage.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: polywire\r\n\r\n"));
    const end = await garbage.waitEnd(5000);
    check("PW-FRAME-013", end !== undefined, "a connection that sent an HTTP request instead of frames is still open after 5 s");
    await expectServing(bystander, "PW-FRAME-013", "another connection, after a truncated frame and garbage");
  },
};

/** Framing cases (§2). */
export const framingCases: readonly ConformanceCase[] = [...vectorCases, oversize, checksums, evenCorrelationId, duplicateCorrelationId, truncated];
