// Deadlines, cancellation, disconnects and flow control of calls over real
// sockets (spec §10.4, §10.5), raw frames on both legs.
import { fromBinary } from "@bufbuild/protobuf";
import { CallResponseSchema, CallStatus } from "@polywire/proto/rpc";
import { ErrorCode, ErrorSchema, FrameKind } from "@polywire/proto/session";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../../src/index.js";
import type { RawClient } from "../helpers.js";
import { bytes, call, cancel, chunk, credit, expectError, expectKind, expectQuiet, expectServing, expectStatus, nextCall, nextChunk, nextResponse, register, respond, rpcClient } from "./wire.js";

let broker: Broker;
let url: string;
const open: RawClient[] = [];

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
  url = broker.urls[0] as string;
});
afterAll(async () => {
  for (const c of open) c.close();
  await broker.close();
});

async function client(): Promise<RawClient> {
  const c = await rpcClient(url);
  open.push(c);
  return c;
}

let serial = 0;
async function pair(maxConcurrency = 0): Promise<{ name: string; r: RawClient; caller: RawClient }> {
  const name = `life.s${++serial}`;
  const r = await client();
  await register(r, 1, 1, name, maxConcurrency);
  return { name, r, caller: await client() };
}

describe("deadlines and cancellation (§10.4)", () => {
  it("PW-RPC-030, PW-RPC-031: a routed call past its deadline: CallCancel to the responder, DEADLINE_EXCEEDED to the caller", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, timeoutMs: 300, endOfStream: true });
    const routed = await nextCall(r);
    expect(routed.request.timeoutMs).toBeGreaterThanOrEqual(1);
    expect(routed.request.timeoutMs).toBeLessThanOrEqual(300);
    await expectStatus(caller, 1, CallStatus.DEADLINE_EXCEEDED, 5_000);
    const f = await expectKind(r, FrameKind.CALL_CANCEL);
    expect(f.correlationId).toBe(routed.id);
    // Too late: the call is over, the CallResponse names no call (PW-RPC-013).
    respond(r, routed.id, { status: CallStatus.OK, endOfStream: true });
    await expectError(r, routed.id, ErrorCode.UNKNOWN_CALL);
    await expectQuiet(caller);
  });

  it("PW-RPC-031: after the response started, the deadline is an Error TIMEOUT on the caller's id", async () => {
    const { name, r, caller } = await pair();
    call(caller, 3, { service: name, timeoutMs: 300, endOfStream: true });
    const routed = await nextCall(r);
    respond(r, routed.id, { status: CallStatus.OK });
    await nextResponse(caller, 3);
    await expectError(caller, 3, ErrorCode.TIMEOUT, 5_000);
    await expectKind(r, FrameKind.CALL_CANCEL);
  });

  it("PW-RPC-003, PW-RPC-031: a call waiting for a busy responder times out with DEADLINE_EXCEEDED, never NO_RESPONDERS", async () => {
    const { name, r, caller } = await pair(1);
    call(caller, 1, { service: name, timeoutMs: 30_000, endOfStream: true });
    await nextCall(r);
    call(caller, 3, { service: name, timeoutMs: 250, endOfStream: true });
    await expectStatus(caller, 3, CallStatus.DEADLINE_EXCEEDED, 5_000);
    await expectQuiet(r);
  });

  it("PW-RPC-032: a caller's cancel reaches the responder and ends the call with CANCELLED (status before the response, Error after)", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, endOfStream: true });
    const a = await nextCall(r);
    cancel(caller, 1, "user gave up");
    await expectStatus(caller, 1, CallStatus.CANCELLED);
    expect((await expectKind(r, FrameKind.CALL_CANCEL)).correlationId).toBe(a.id);
    call(caller, 3, { service: name, endOfStream: true });
    const b = await nextCall(r);
    respond(r, b.id, { status: CallStatus.OK });
    await nextResponse(caller, 3);
    cancel(caller, 3);
    await expectError(caller, 3, ErrorCode.CANCELLED);
    expect((await expectKind(r, FrameKind.CALL_CANCEL)).correlationId).toBe(b.id);
  });

  it("PW-RPC-033: a responder's cancel ends the call towards the caller with CANCELLED; nothing goes back to the responder", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, endOfStream: true });
    const a = await nextCall(r);
    cancel(r, a.id, "overloaded");
    await expectStatus(caller, 1, CallStatus.CANCELLED);
    await expectQuiet(r);
  });

  it("PW-RPC-034: when the caller's connection ends, the responder gets CallCancel", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name });
    const a = await nextCall(r);
    caller.close();
    expect((await expectKind(r, FrameKind.CALL_CANCEL)).correlationId).toBe(a.id);
  });

  it("PW-RPC-043: the responder's connection ending is RESPONDER_GONE: a status before the response, an Error after it", async () => {
    const { name, r, caller } = await pair();
    const r2 = await client();
    await register(r2, 1, 2, name);
    call(caller, 1, { service: name, endOfStream: true });
    call(caller, 3, { service: name, endOfStream: true });
    // Round-robin: the first responder registered gets call 1, the second call 3.
    await nextCall(r);
    const b = await nextCall(r2);
    respond(r2, b.id, { status: CallStatus.OK });
    await nextResponse(caller, 3);
    r.close();
    r2.close();
    const events = [await caller.next(), await caller.next()];
    const status = events.find((f) => f.kind === FrameKind.CALL_RESPONSE);
    expect(status?.correlationId).toBe(1);
    expect(fromBinary(CallResponseSchema, status!.message).status).toBe(CallStatus.RESPONDER_GONE);
    const error = events.find((f) => f.kind === FrameKind.ERROR);
    expect(error?.correlationId).toBe(3);
    expect(fromBinary(ErrorSchema, error!.message).code).toBe(ErrorCode.RESPONDER_GONE);
  });
});

describe("bodies and flow control (§10.5)", () => {
  it("PW-RPC-040, PW-RPC-041: request chunks flow once the responder grants credit; response chunks within the caller's credit; CallCredit is forwarded both ways", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, initialCredit: 4 }, bytes("head"));
    const a = await nextCall(r);
    expect(new TextDecoder().decode(a.payload)).toBe("head");
    credit(r, a.id, 6);
    expect((await expectKind(caller, FrameKind.CALL_CREDIT)).correlationId).toBe(1);
    chunk(caller, 1, bytes("abc"));
    chunk(caller, 1, bytes("def"), true);
    expect(new TextDecoder().decode((await nextChunk(r, a.id)).payload)).toBe("abc");
    const last = await nextChunk(r, a.id);
    expect(last.endOfStream).toBe(true);
    respond(r, a.id, { status: CallStatus.OK }, bytes("first payload is not counted"));
    await nextResponse(caller, 1);
    chunk(r, a.id, bytes("1234"));
    expect((await nextChunk(caller, 1)).payload.byteLength).toBe(4);
    credit(caller, 1, 2);
    expect((await expectKind(r, FrameKind.CALL_CREDIT)).correlationId).toBe(a.id);
    chunk(r, a.id, bytes("56"), true);
    expect((await nextChunk(caller, 1)).endOfStream).toBe(true);
  });

  it("PW-RPC-041: an initial_credit of 0 is unlimited for the rest of the call", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, initialCredit: 0 });
    const a = await nextCall(r);
    respond(r, a.id, { status: CallStatus.OK, initialCredit: 0 });
    await nextResponse(caller, 1);
    const big = new Uint8Array(200_000);
    chunk(caller, 1, big, true);
    expect((await nextChunk(r, a.id)).payload.byteLength).toBe(200_000);
    chunk(r, a.id, big, true);
    expect((await nextChunk(caller, 1)).payload.byteLength).toBe(200_000);
  });

  it("PW-RPC-042: a caller's chunk beyond its credit is FLOW_CONTROL_VIOLATION on its id, CallCancel to the responder; the connection stays", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name });
    const a = await nextCall(r);
    credit(r, a.id, 3);
    await expectKind(caller, FrameKind.CALL_CREDIT);
    chunk(caller, 1, bytes("four"));
    await expectError(caller, 1, ErrorCode.FLOW_CONTROL_VIOLATION);
    expect((await expectKind(r, FrameKind.CALL_CANCEL)).correlationId).toBe(a.id);
    await expectServing(caller, 3);
    await expectServing(r, 5);
  });

  it("PW-RPC-042: a chunk before any grant is a violation (no credit yet), even while the call waits", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name });
    await nextCall(r);
    chunk(caller, 1, bytes("x"));
    await expectError(caller, 1, ErrorCode.FLOW_CONTROL_VIOLATION);
  });

  it("PW-RPC-042, PW-RPC-043: a responder's chunk beyond the caller's credit: an Error to it, RESPONDER_GONE to the caller", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, initialCredit: 2, endOfStream: true });
    const a = await nextCall(r);
    respond(r, a.id, { status: CallStatus.OK });
    await nextResponse(caller, 1);
    chunk(r, a.id, bytes("abc"));
    await expectError(r, a.id, ErrorCode.FLOW_CONTROL_VIOLATION);
    await expectError(caller, 1, ErrorCode.RESPONDER_GONE);
    await expectServing(r, 3);
  });

  it("PW-RPC-042: credit above 2^32-1 is a violation of the granting side", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, initialCredit: 0xffff_fff0 });
    const a = await nextCall(r);
    credit(caller, 1, 0x20);
    await expectError(caller, 1, ErrorCode.FLOW_CONTROL_VIOLATION);
    expect((await expectKind(r, FrameKind.CALL_CANCEL)).correlationId).toBe(a.id);
  });

  it("PW-RPC-040, PW-RPC-024: a chunk after the request's end is a violation; after the response ended, request chunks are discarded", async () => {
    const { name, r, caller } = await pair();
    call(caller, 1, { service: name, endOfStream: true });
    await nextCall(r);
    chunk(caller, 1, new Uint8Array(0), true);
    await expectError(caller, 1, ErrorCode.FLOW_CONTROL_VIOLATION);
    await expectKind(r, FrameKind.CALL_CANCEL);
    call(caller, 3, { service: name });
    const b = await nextCall(r);
    respond(r, b.id, { status: CallStatus.OK, endOfStream: true, initialCredit: 0 });
    await nextResponse(caller, 3);
    chunk(caller, 3, bytes("late"), true);
    await expectQuiet(r);
    await expectQuiet(caller);
  });

  it("PW-RPC-044: each call has exactly one terminal event, and the metrics count calls by outcome", async () => {
    const { name, r, caller } = await pair();
    for (let i = 0; i < 5; i++) call(caller, 2 * i + 1, { service: name, endOfStream: true });
    for (let i = 0; i < 5; i++) {
      const a = await nextCall(r);
      respond(r, a.id, { status: CallStatus.OK, endOfStream: true });
    }
    for (let i = 0; i < 5; i++) await expectKind(caller, FrameKind.CALL_RESPONSE);
    await expectQuiet(caller, 200);
    const text = await broker.metrics.registry.metrics();
    expect(text).toMatch(/polywire_rpc_calls_total\{outcome="ok"\} \d+/);
    expect(text).toMatch(new RegExp(`polywire_rpc_call_duration_seconds_count\\{service="${name.replace(".", "\\.")}"\\} 5`));
    expect(text).toMatch(/polywire_rpc_calls_in_flight \d+/);
    expect(text).toMatch(/polywire_rpc_body_bytes_total\{direction="response"\} \d+/);
  });
});
