import { CallStatus } from "@polywire/proto/rpc";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { expectErrorFrame, expectServing } from "../expect.js";
import {
  bytes, cancel, chunk, credit, expectEnd, nextKindOn, nextResponse, nextRouted, quietOn, respond, responderAndCaller, serviceName, startCall, str,
} from "./io.js";

const FEATURES = [Feature.REQUEST_REPLY];

const legs: ConformanceCase = {
  id: "rpc/legs",
  title: "A call crosses the broker on two legs: the responder gets a CallRequest on an even id unique among its calls, with its responder_id and the caller's service, method, headers (in order), end_of_stream, initial_credit and first payload; the answer comes back on the caller's odd id, payload unchanged; an id is free again once its call ended",
  plane: "rpc",
  clauses: ["PW-RPC-010", "PW-RPC-011", "PW-RPC-012", "PW-RPC-014", "PW-RPC-023", "PW-RPC-030"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "legs");
    const headers = [{ key: "b", value: bytes("2") }, { key: "a", value: bytes("1") }, { key: "b", value: bytes("3") }];
    const body = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    const ids = [startCall(caller, { service, method: "Echo", headers, timeoutMs: 20_000, endOfStream: true, initialCredit: 77 }, body), startCall(caller, { service, endOfStream: true })];
    const a = await nextRouted(responder, "PW-RPC-011", "the first call");
    const b = await nextRouted(responder, "PW-RPC-011", "the second call");
    for (const r of [a, b]) check("PW-RPC-011", r.id !== 0 && r.id % 2 === 0, `the responder's leg carries correlation id ${r.id}, not a non-zero even id`);
    check("PW-RPC-011", a.id !== b.id, `two calls in progress on the responder's connection share id ${a.id}`);
    checkEqual("PW-RPC-011", a.request.responderId, 1, "responder_id of the routed CallRequest");
    checkEqual("PW-RPC-011", [a.request.service, a.request.method, a.request.endOfStream, a.request.initialCredit], [service, "Echo", true, 77], "service, method, end_of_stream, initial_credit of the routed CallRequest");
    checkEqual("PW-RPC-014", a.request.headers.map((h) => `${h.key}=${str(h.value)}`).join(","), "b=2,a=1,b=3", "headers of the routed CallRequest, in order");
    check("PW-RPC-011", a.payload.length === body.length && a.payload.every((x, i) => x === body[i]), "the first payload reached the responder changed");
    check("PW-RPC-030", a.request.timeoutMs >= 1 && a.request.timeoutMs <= 20_000, `timeout_ms of the routed CallRequest is ${a.request.timeoutMs}; the time left of 20,000 ms`);
    checkEqual("PW-RPC-030", b.request.timeoutMs > 20_000 && b.request.timeoutMs <= 30_000, true, `timeout_ms ${b.request.timeoutMs} for a call with timeout 0 (the default, 30,000 ms)`);
    respond(responder, a.id, { status: CallStatus.OK, headers: [{ key: "r", value: bytes("1") }] }, bytes("head"));
    const first = await nextResponse(caller, ids[0] as number, "PW-RPC-023", "the answer to the first call");
    checkEqual("PW-RPC-023", [str(first.payload), first.response.headers.map((h) => h.key).join(",")], ["head", "r"], "payload and headers of the forwarded CallResponse");
    chunk(responder, a.id, bytes("-tail"), true);
    const tail = await nextKindOn(caller, ids[0] as number, FrameKind.CALL_CHUNK, "PW-RPC-023", "the responder's chunk");
    checkEqual("PW-RPC-023", str(tail.payload), "-tail", "payload of the forwarded CallChunk");
    respond(responder, b.id, { status: CallStatus.OK, endOfStream: true });
    await nextResponse(caller, ids[1] as number, "PW-RPC-023", "the answer to the second call");
    // PW-RPC-012: both calls ended; the caller may use an id again.
    startCall(caller, { service, endOfStream: true }, undefined, ids[0]);
    const c = await nextRouted(responder, "PW-RPC-012", "a call reusing a correlation id whose call ended");
    respond(responder, c.id, { status: CallStatus.OK, endOfStream: true });
    await nextResponse(caller, ids[0] as number, "PW-RPC-012", "the answer to the call on a reused id");
  },
};

const unknownCall: ConformanceCase = {
  id: "rpc/unknown-call",
  title: "CallChunk, CallCredit and CallCancel naming no call in progress are discarded without reply; a CallResponse naming none is UNKNOWN_CALL; the connection stays",
  plane: "rpc",
  clauses: ["PW-RPC-013"],
  features: FEATURES,
  async run(ctx) {
    const session = await ctx.connect();
    chunk(session, 41, bytes("x"));
    chunk(session, 42, bytes("y"), true);
    credit(session, 43, 10);
    credit(session, 44, 10);
    cancel(session, 45);
    cancel(session, 46);
    for (const id of [41, 42, 43, 44, 45, 46]) check("PW-RPC-013", await quietOn(session, id, id === 41 ? 300 : 0), `the broker answered a frame for no call, on correlation id ${id}`);
    respond(session, 48, { status: CallStatus.OK, endOfStream: true });
    await expectErrorFrame(session, "PW-RPC-013", { code: ErrorCode.UNKNOWN_CALL, correlationId: 48, connection: "stays" }, "a CallResponse for no call");
  },
};

const noResponders: ConformanceCase = {
  id: "rpc/no-responders",
  title: "A call to a service nobody serves is answered at once with NO_RESPONDERS, long before its deadline",
  plane: "rpc",
  clauses: ["PW-RPC-020", "PW-RPC-044"],
  features: FEATURES,
  async run(ctx) {
    const caller = await ctx.connect();
    for (const timeoutMs of [30_000, 0]) {
      const started = performance.now();
      const id = startCall(caller, { service: serviceName(ctx, "nobody"), timeoutMs, endOfStream: true });
      await expectEnd(caller, id, { status: CallStatus.NO_RESPONDERS }, "PW-RPC-020", `a call with timeout ${timeoutMs} to a service with no responder`, 10_000);
      const took = performance.now() - started;
      check("PW-RPC-020", took < 5_000, `NO_RESPONDERS took ${Math.round(took)} ms: it must come at once, not after a timer`);
    }
  },
};

const appError: ConformanceCase = {
  id: "rpc/application-error",
  title: "An application error (CALL_STATUS_ERROR with code, message, details and end_of_stream) is forwarded unchanged, as the call's end",
  plane: "rpc",
  clauses: ["PW-RPC-021", "PW-RPC-022", "PW-RPC-044"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "apperr");
    const id = startCall(caller, { service, endOfStream: true });
    const r = await nextRouted(responder, "PW-RPC-022", "the call");
    respond(responder, r.id, { status: CallStatus.ERROR, errorCode: "NOT_FOUND", errorMessage: "no order 7", endOfStream: true, headers: [{ key: "h", value: bytes("v") }] }, bytes("{\"order\":7}"));
    const { response, payload } = await nextResponse(caller, id, "PW-RPC-022", "the application error");
    checkEqual("PW-RPC-022", [response.status, response.errorCode, response.errorMessage, response.endOfStream, str(payload)], [CallStatus.ERROR, "NOT_FOUND", "no order 7", true, "{\"order\":7}"], "the forwarded application error");
    check("PW-RPC-044", await quietOn(caller, id, 300), "a frame followed the application error");
  },
};

const responderFails: ConformanceCase = {
  id: "rpc/responder-fails",
  title: "A responder answering with a status other than OK or ERROR, an ERROR without code, a chunk before its CallResponse or a second CallResponse fails the call: an Error to it, RESPONDER_GONE to the caller",
  plane: "rpc",
  clauses: ["PW-RPC-021", "PW-RPC-043", "PW-RPC-045", "PW-RPC-040"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "fails");
    const attempts: Array<[string, (id: number) => void, ErrorCode, boolean, string]> = [
      ["a CallResponse of NO_RESPONDERS", (id) => respond(responder, id, { status: CallStatus.NO_RESPONDERS, endOfStream: true }), ErrorCode.INVALID_ARGUMENT, false, "PW-RPC-021"],
      ["CALL_STATUS_ERROR without error_code", (id) => respond(responder, id, { status: CallStatus.ERROR, endOfStream: true }), ErrorCode.INVALID_ARGUMENT, false, "PW-RPC-045"],
      ["a CallChunk before the CallResponse", (id) => chunk(responder, id, bytes("x")), ErrorCode.FLOW_CONTROL_VIOLATION, false, "PW-RPC-045"],
      ["a second CallResponse", (id) => {
        respond(responder, id, { status: CallStatus.OK, initialCredit: 0 });
        respond(responder, id, { status: CallStatus.OK });
      }, ErrorCode.FLOW_CONTROL_VIOLATION, true, "PW-RPC-045"],
    ];
    for (const [what, misbehave, code, started, clause] of attempts) {
      const id = startCall(caller, { service, endOfStream: true });
      const r = await nextRouted(responder, clause, what);
      misbehave(r.id);
      await expectErrorFrame(responder, clause, { code, correlationId: r.id, connection: "stays" }, what);
      if (started) {
        await nextResponse(caller, id, clause, `${what}: the first CallResponse`);
        await expectEnd(caller, id, { code: ErrorCode.RESPONDER_GONE }, "PW-RPC-043", `${what}, after the response started`);
      } else {
        await expectEnd(caller, id, { status: CallStatus.RESPONDER_GONE }, "PW-RPC-043", what);
      }
    }
    await expectServing(caller, "PW-RPC-043", "the caller after RESPONDER_GONE");
  },
};

const afterEnd: ConformanceCase = {
  id: "rpc/after-response-end",
  title: "Once the response body ended, the caller's further request chunks are discarded: nothing reaches the responder and nothing comes back",
  plane: "rpc",
  clauses: ["PW-RPC-024", "PW-RPC-012"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "after");
    const id = startCall(caller, { service });
    const r = await nextRouted(responder, "PW-RPC-024", "the call");
    respond(responder, r.id, { status: CallStatus.OK, endOfStream: true, initialCredit: 0 });
    await nextResponse(caller, id, "PW-RPC-024", "the whole response");
    chunk(caller, id, bytes("too late"), true);
    check("PW-RPC-024", await quietOn(responder, r.id, 400), "a request chunk sent after the response ended reached the responder");
    check("PW-RPC-024", await quietOn(caller, id, 0), "the broker answered a request chunk sent after the response ended");
  },
};

export const callCases: readonly ConformanceCase[] = [legs, unknownCall, noResponders, appError, responderFails, afterEnd];
