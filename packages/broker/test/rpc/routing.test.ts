// The request/reply routes over real sockets: responders, routing, outcomes
// and bounds (spec §10.1-10.3, PW-RPC-006), raw frames on both legs.
import { CallStatus } from "@polywire/proto/rpc";
import { ErrorCode } from "@polywire/proto/session";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../../src/index.js";
import type { RawClient } from "../helpers.js";
import { RegisterResponderRequestSchema } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { frameOf } from "../helpers.js";
import { bytes, call, cancel, chunk, credit, expectError, expectKind, expectQuiet, expectServing, expectStatus, nextCall, nextResponse, register, respond, rpcClient, unregister } from "./wire.js";

let broker: Broker;
let url: string;
const open: RawClient[] = [];

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, rpc: { maxCallsPerConnection: 8, maxRespondersPerConnection: 3, maxWaitingCalls: 2 } });
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
const service = (): string => `svc.t${++serial}`;

describe("responders (§10.1)", () => {
  it("PW-RPC-001: a bad service, a reserved one, responder_id 0 and a duplicate id are refused; the connection stays", async () => {
    const c = await client();
    const cases: Array<[number, string, ErrorCode]> = [[1, "a..b", ErrorCode.INVALID_SUBJECT], [2, "$sys.x", ErrorCode.RESERVED_SUBJECT], [0, "ok.name", ErrorCode.INVALID_ARGUMENT]];
    let cid = 1;
    for (const [responderId, name, code] of cases) {
      c.send(frameOf(FrameKind.REGISTER_RESPONDER_REQUEST, cid, RegisterResponderRequestSchema, { responderId, service: name }));
      await expectError(c, cid, code);
      cid += 2;
    }
    await register(c, cid, 5, service());
    cid += 2;
    c.send(frameOf(FrameKind.REGISTER_RESPONDER_REQUEST, cid, RegisterResponderRequestSchema, { responderId: 5, service: service() }));
    await expectError(c, cid, ErrorCode.RESPONDER_EXISTS);
    await expectServing(c, cid + 2);
  });

  it("PW-RPC-006: responders beyond the connection's bound fail with TOO_MANY_RESPONDERS and its limit", async () => {
    const c = await client();
    for (let i = 1; i <= 3; i++) await register(c, i * 2 - 1, i, service());
    c.send(frameOf(FrameKind.REGISTER_RESPONDER_REQUEST, 7, RegisterResponderRequestSchema, { responderId: 4, service: service() }));
    expect(await expectError(c, 7, ErrorCode.TOO_MANY_RESPONDERS)).toBe(3n);
    unregister(c, 9, 1);
    await expectKind(c, FrameKind.UNREGISTER_RESPONDER_RESPONSE);
    await register(c, 11, 4, service());
  });

  it("PW-RPC-004: unregistering stops new calls, a routed call runs to completion, an unknown id is UNKNOWN_RESPONDER", async () => {
    const name = service();
    const r = await client();
    const caller = await client();
    await register(r, 1, 1, name);
    call(caller, 1, { service: name, endOfStream: true }, bytes("first"));
    const routed = await nextCall(r);
    unregister(r, 3, 1);
    await expectKind(r, FrameKind.UNREGISTER_RESPONDER_RESPONSE);
    call(caller, 3, { service: name, endOfStream: true });
    await expectStatus(caller, 3, CallStatus.NO_RESPONDERS);
    respond(r, routed.id, { status: CallStatus.OK, endOfStream: true }, bytes("done"));
    const { response, payload } = await nextResponse(caller, 1);
    expect(response.status).toBe(CallStatus.OK);
    expect(new TextDecoder().decode(payload)).toBe("done");
    unregister(r, 5, 1);
    await expectError(r, 5, ErrorCode.UNKNOWN_RESPONDER);
  });

  it("PW-RPC-002: calls spread evenly over the responders of a service on several connections, each call to exactly one", async () => {
    const name = service();
    const rs = [await client(), await client(), await client()];
    for (const [i, r] of rs.entries()) await register(r, 1, i + 1, name);
    const caller = await client();
    // Rounds of six: the caller may have eight calls in progress on this broker.
    const counts = [0, 0, 0];
    let cid = 1;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 6; i++, cid += 2) call(caller, cid, { service: name, endOfStream: true });
      await new Promise((res) => setTimeout(res, 300));
      for (const [i, r] of rs.entries()) {
        for (const f of r.frames.splice(0)) {
          expect(f.kind).toBe(FrameKind.CALL_REQUEST);
          respond(r, f.correlationId, { status: CallStatus.OK, endOfStream: true });
          counts[i]! += 1;
        }
      }
      for (let i = 0; i < 6; i++) await expectKind(caller, FrameKind.CALL_RESPONSE);
    }
    expect(counts).toEqual([8, 8, 8]);
  });

  it("PW-RPC-003: a responder gets at most max_concurrency calls; the next waits and is routed when one ends", async () => {
    const name = service();
    const r = await client();
    await register(r, 1, 1, name, 1);
    const caller = await client();
    call(caller, 1, { service: name, endOfStream: true });
    call(caller, 3, { service: name, endOfStream: true }, bytes("second"));
    const first = await nextCall(r);
    await expectQuiet(r);
    respond(r, first.id, { status: CallStatus.OK, endOfStream: true });
    const second = await nextCall(r);
    expect(new TextDecoder().decode(second.payload)).toBe("second");
    respond(r, second.id, { status: CallStatus.OK, endOfStream: true });
    await nextResponse(caller, 1);
    await nextResponse(caller, 3);
  });

  it("PW-RPC-005: a call waiting for a responder ends with NO_RESPONDERS at once when the service loses its last responder", async () => {
    const name = service();
    const r = await client();
    await register(r, 1, 1, name, 1);
    const caller = await client();
    call(caller, 1, { service: name, endOfStream: true, timeoutMs: 60_000 });
    call(caller, 3, { service: name, endOfStream: true, timeoutMs: 60_000 });
    await nextCall(r);
    const started = performance.now();
    unregister(r, 3, 1);
    await expectStatus(caller, 3, CallStatus.NO_RESPONDERS);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe("calls and outcomes (§10.2, §10.3)", () => {
  it("PW-RPC-010, PW-RPC-011, PW-RPC-014, PW-RPC-023: the responder gets an even id, its responder_id, the caller's fields and headers in order; the answer comes back on the caller's id unchanged", async () => {
    const name = service();
    const r = await client();
    await register(r, 1, 42, name);
    const caller = await client();
    const headers = [{ key: "b", value: bytes("2") }, { key: "a", value: bytes("1") }, { key: "b", value: bytes("3") }];
    call(caller, 7, { service: name, method: "Get", headers, timeoutMs: 20_000, endOfStream: true, initialCredit: 100 }, bytes("ping"));
    const routed = await nextCall(r);
    expect(routed.id % 2).toBe(0);
    expect(routed.id).toBeGreaterThan(0);
    expect(routed.request).toMatchObject({ service: name, method: "Get", endOfStream: true, initialCredit: 100, responderId: 42 });
    expect(routed.request.headers.map((h) => [h.key, new TextDecoder().decode(h.value)])).toEqual([["b", "2"], ["a", "1"], ["b", "3"]]);
    expect(routed.request.timeoutMs).toBeLessThanOrEqual(20_000);
    expect(routed.request.timeoutMs).toBeGreaterThan(15_000);
    expect(new TextDecoder().decode(routed.payload)).toBe("ping");
    respond(r, routed.id, { status: CallStatus.OK, headers: [{ key: "x", value: bytes("y") }], endOfStream: false, initialCredit: 0 }, bytes("pong"));
    const { response, payload } = await nextResponse(caller, 7);
    expect(response.headers.map((h) => h.key)).toEqual(["x"]);
    expect(new TextDecoder().decode(payload)).toBe("pong");
    chunk(r, routed.id, bytes("-more"), true);
    const f = await expectKind(caller, FrameKind.CALL_CHUNK);
    expect(f.correlationId).toBe(7);
    expect(new TextDecoder().decode(f.payload)).toBe("-more");
  });

  it("PW-RPC-020: no responder is answered at once with NO_RESPONDERS, never after the deadline", async () => {
    const caller = await client();
    const started = performance.now();
    call(caller, 1, { service: service(), timeoutMs: 60_000, endOfStream: true });
    await expectStatus(caller, 1, CallStatus.NO_RESPONDERS, 5_000);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("PW-RPC-022: an application error is forwarded unchanged, details in its payload", async () => {
    const name = service();
    const r = await client();
    await register(r, 1, 1, name);
    const caller = await client();
    call(caller, 1, { service: name, endOfStream: true });
    const routed = await nextCall(r);
    respond(r, routed.id, { status: CallStatus.ERROR, errorCode: "NOT_FOUND", errorMessage: "no such thing", endOfStream: true }, bytes("{\"id\":7}"));
    const { response, payload } = await nextResponse(caller, 1);
    expect(response).toMatchObject({ status: CallStatus.ERROR, errorCode: "NOT_FOUND", errorMessage: "no such thing", endOfStream: true });
    expect(new TextDecoder().decode(payload)).toBe("{\"id\":7}");
  });

  it("PW-RPC-021, PW-RPC-045: a responder's bad status, an ERROR without error_code, a chunk before the response and a second response fail the call: an Error to the responder, RESPONDER_GONE to the caller", async () => {
    const name = service();
    const r = await client();
    await register(r, 1, 1, name);
    const caller = await client();
    const attempts: Array<[(id: number) => void, ErrorCode, boolean]> = [
      [(id) => respond(r, id, { status: CallStatus.NO_RESPONDERS, endOfStream: true }), ErrorCode.INVALID_ARGUMENT, false],
      [(id) => respond(r, id, { status: CallStatus.ERROR, errorCode: "", endOfStream: true }), ErrorCode.INVALID_ARGUMENT, false],
      [(id) => chunk(r, id, bytes("x")), ErrorCode.FLOW_CONTROL_VIOLATION, false],
      [(id) => {
        respond(r, id, { status: CallStatus.OK });
        respond(r, id, { status: CallStatus.OK });
      }, ErrorCode.FLOW_CONTROL_VIOLATION, true],
    ];
    let cid = 1;
    for (const [misbehave, code, started] of attempts) {
      call(caller, cid, { service: name, endOfStream: true });
      const routed = await nextCall(r);
      misbehave(routed.id);
      await expectError(r, routed.id, code);
      if (started) {
        await nextResponse(caller, cid);
        await expectError(caller, cid, ErrorCode.RESPONDER_GONE);
      } else {
        await expectStatus(caller, cid, CallStatus.RESPONDER_GONE);
      }
      cid += 2;
    }
    await expectServing(r, 101);
  });

  it("PW-RPC-013: a CallResponse for no call is UNKNOWN_CALL; chunks, credits and cancels for no call are discarded silently", async () => {
    const c = await client();
    respond(c, 8, { status: CallStatus.OK, endOfStream: true });
    await expectError(c, 8, ErrorCode.UNKNOWN_CALL);
    chunk(c, 9, new Uint8Array(0));
    chunk(c, 10, bytes("x"));
    credit(c, 11, 5);
    cancel(c, 12);
    await expectQuiet(c);
    await expectServing(c, 13);
  });

  it("PW-RPC-015: a CallRequest for a service breaking the grammar or reserved fails with an Error", async () => {
    const c = await client();
    call(c, 1, { service: "a b", endOfStream: true });
    await expectError(c, 1, ErrorCode.INVALID_SUBJECT);
    call(c, 3, { service: "$x", endOfStream: true });
    await expectError(c, 3, ErrorCode.RESERVED_SUBJECT);
  });

  it("PW-RPC-006: calls in progress per connection and calls waiting per service are bounded with TOO_MANY_CALLS and the limit; the connection stays", async () => {
    const name = service();
    const r = await client();
    await register(r, 1, 1, name, 1);
    const caller = await client();
    call(caller, 1, { service: name, endOfStream: true });
    await nextCall(r);
    call(caller, 3, { service: name, endOfStream: true });
    call(caller, 5, { service: name, endOfStream: true });
    call(caller, 7, { service: name, endOfStream: true });
    expect(await expectError(caller, 7, ErrorCode.TOO_MANY_CALLS)).toBe(2n);
    // Eight in progress on one connection at most: three here, five more to other services waiting.
    const other = service();
    const r2 = await client();
    await register(r2, 1, 1, other, 1);
    const ids = [9, 11, 13, 15, 17];
    for (const id of ids) call(caller, id, { service: other, endOfStream: true });
    await nextCall(r2);
    // `other` routes 9 and holds 11 and 13 (its bound of waiting calls is 2): 15 and 17 are refused.
    expect(await expectError(caller, 15, ErrorCode.TOO_MANY_CALLS)).toBe(2n);
    expect(await expectError(caller, 17, ErrorCode.TOO_MANY_CALLS)).toBe(2n);
    // Six calls in progress (1, 3, 5, 9, 11, 13): two more to a third service, then the connection's bound of eight.
    const third = service();
    const r3 = await client();
    await register(r3, 1, 1, third);
    for (const id of [19, 21, 23]) call(caller, id, { service: third, endOfStream: true });
    await nextCall(r3);
    await nextCall(r3);
    expect(await expectError(caller, 23, ErrorCode.TOO_MANY_CALLS)).toBe(8n);
    await expectServing(caller, 25);
  });
});
