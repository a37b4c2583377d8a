import { CallStatus } from "@polywire/proto/rpc";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { expectErrorFrame, expectServing } from "../expect.js";
import { anyRouted, bytes, cancel, chunk, credit, expectEnd, nextKindOn, nextResponse, nextRouted, quietOn, register, respond, responderAndCaller, startCall } from "./io.js";

const FEATURES = [Feature.REQUEST_REPLY];

const deadlines: ConformanceCase = {
  id: "rpc/deadlines",
  title: "A call past its deadline ends: DEADLINE_EXCEEDED before a response (never NO_RESPONDERS, also for a call waiting for a busy responder), an Error TIMEOUT after it, and a CallCancel to the responder",
  plane: "rpc",
  clauses: ["PW-RPC-030", "PW-RPC-031", "PW-RPC-020", "PW-RPC-003"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "deadline", 1);
    const before = startCall(caller, { service, timeoutMs: 400, endOfStream: true });
    const r = await nextRouted(responder, "PW-RPC-031", "the call");
    check("PW-RPC-030", r.request.timeoutMs >= 1 && r.request.timeoutMs <= 400, `timeout_ms ${r.request.timeoutMs} forwarded for a 400 ms call`);
    await expectEnd(caller, before, { status: CallStatus.DEADLINE_EXCEEDED }, "PW-RPC-031", "a routed call past its deadline, no response yet", 10_000);
    await nextKindOn(responder, r.id, FrameKind.CALL_CANCEL, "PW-RPC-031", "the responder of a call past its deadline");
    // A busy responder: the second call waits, and times out waiting.
    const holder = startCall(caller, { service, timeoutMs: 30_000, endOfStream: true });
    const h = await nextRouted(responder, "PW-RPC-031", "the call holding the responder");
    const waiting = startCall(caller, { service, timeoutMs: 300, endOfStream: true });
    await expectEnd(caller, waiting, { status: CallStatus.DEADLINE_EXCEEDED }, "PW-RPC-031", "a call that waited for a busy responder past its deadline (not NO_RESPONDERS)", 10_000);
    check("PW-RPC-003", (await anyRouted(responder, 200)) === undefined, "the call that timed out waiting reached the responder");
    respond(responder, h.id, { status: CallStatus.OK, endOfStream: true });
    await nextResponse(caller, holder, "PW-RPC-031", "the holding call's answer");
    const after = startCall(caller, { service, timeoutMs: 400, endOfStream: true });
    const a = await nextRouted(responder, "PW-RPC-031", "the third call");
    respond(responder, a.id, { status: CallStatus.OK });
    await nextResponse(caller, after, "PW-RPC-031", "the response that started");
    await expectEnd(caller, after, { code: ErrorCode.TIMEOUT }, "PW-RPC-031", "a call past its deadline after its response started", 10_000);
    await nextKindOn(responder, a.id, FrameKind.CALL_CANCEL, "PW-RPC-031", "the responder of the call that timed out mid-response");
  },
};

const cancels: ConformanceCase = {
  id: "rpc/cancellation",
  title: "A caller's CallCancel reaches the responder and ends the call with CANCELLED (a status before the response, an Error after); a responder's CallCancel ends it towards the caller the same way",
  plane: "rpc",
  clauses: ["PW-RPC-032", "PW-RPC-033", "PW-RPC-044"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "cancel");
    const one = startCall(caller, { service, endOfStream: true });
    const r1 = await nextRouted(responder, "PW-RPC-032", "the call");
    cancel(caller, one, "changed my mind");
    await expectEnd(caller, one, { status: CallStatus.CANCELLED }, "PW-RPC-032", "a call the caller cancelled");
    await nextKindOn(responder, r1.id, FrameKind.CALL_CANCEL, "PW-RPC-032", "the responder of a cancelled call");
    const two = startCall(caller, { service, endOfStream: true });
    const r2 = await nextRouted(responder, "PW-RPC-032", "the second call");
    respond(responder, r2.id, { status: CallStatus.OK });
    await nextResponse(caller, two, "PW-RPC-032", "the response that started");
    cancel(caller, two);
    await expectEnd(caller, two, { code: ErrorCode.CANCELLED }, "PW-RPC-032", "a call cancelled after its response started");
    await nextKindOn(responder, r2.id, FrameKind.CALL_CANCEL, "PW-RPC-032", "the responder of the second cancelled call");
    const three = startCall(caller, { service, endOfStream: true });
    const r3 = await nextRouted(responder, "PW-RPC-033", "the third call");
    cancel(responder, r3.id, "overloaded");
    await expectEnd(caller, three, { status: CallStatus.CANCELLED }, "PW-RPC-033", "a call its responder abandoned");
    check("PW-RPC-033", await quietOn(responder, r3.id, 300), "the broker sent the responder a frame for a call it abandoned");
  },
};

const disconnects: ConformanceCase = {
  id: "rpc/disconnects",
  title: "When the caller's connection ends the responder gets CallCancel; when the responder's ends the caller gets RESPONDER_GONE (a status before the response, an Error after), and its responders are gone",
  plane: "rpc",
  clauses: ["PW-RPC-034", "PW-RPC-043", "PW-RPC-004", "PW-RPC-020"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "gone");
    const doomed = await ctx.connect();
    startCall(doomed, { service });
    const r = await nextRouted(responder, "PW-RPC-034", "the call of the caller that goes away");
    doomed.destroy();
    await nextKindOn(responder, r.id, FrameKind.CALL_CANCEL, "PW-RPC-034", "the responder of a call whose caller's connection ended", 10_000);
    const second = await ctx.connect();
    await register(second, 1, service);
    const ids = [startCall(caller, { service, endOfStream: true }, Uint8Array.of(0)), startCall(caller, { service, endOfStream: true }, Uint8Array.of(1))];
    const routed = [await anyRouted(responder, 1_000), await anyRouted(second, 1_000)];
    check("PW-RPC-002", routed[0] !== undefined && routed[1] !== undefined, "two calls to two responders with room did not reach one each");
    const [onFirst, onSecond] = routed as [NonNullable<(typeof routed)[0]>, NonNullable<(typeof routed)[1]>];
    // The call `second` got has its response started; the one `responder` got has not.
    const first = ids[onFirst.payload[0] as number] as number;
    const other = ids[onSecond.payload[0] as number] as number;
    respond(second, onSecond.id, { status: CallStatus.OK });
    await nextResponse(caller, other, "PW-RPC-043", "the response that started");
    responder.destroy();
    second.destroy();
    await expectEnd(caller, first, { status: CallStatus.RESPONDER_GONE }, "PW-RPC-043", "a call whose responder's connection ended before responding", 10_000);
    await expectEnd(caller, other, { code: ErrorCode.RESPONDER_GONE }, "PW-RPC-043", "a call whose responder's connection ended mid-response", 10_000);
    const after = startCall(caller, { service, endOfStream: true });
    await expectEnd(caller, after, { status: CallStatus.NO_RESPONDERS }, "PW-RPC-004", "a call after every responder's connection ended");
  },
};

const credits: ConformanceCase = {
  id: "rpc/credit",
  title: "Chunks flow within credit: the caller's after the responder's grants, the responder's within the caller's initial_credit and CallCredits, each forwarded to the other leg; initial_credit 0 is unlimited",
  plane: "rpc",
  clauses: ["PW-RPC-040", "PW-RPC-041", "PW-RPC-023"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "credit");
    const id = startCall(caller, { service, initialCredit: 5 }, bytes("head"));
    const r = await nextRouted(responder, "PW-RPC-041", "the call");
    credit(responder, r.id, 6);
    await nextKindOn(caller, id, FrameKind.CALL_CREDIT, "PW-RPC-041", "the responder's CallCredit, forwarded to the caller");
    chunk(caller, id, bytes("abc"));
    chunk(caller, id, bytes("def"), true);
    const c1 = await nextKindOn(responder, r.id, FrameKind.CALL_CHUNK, "PW-RPC-040", "the caller's first chunk");
    const c2 = await nextKindOn(responder, r.id, FrameKind.CALL_CHUNK, "PW-RPC-040", "the caller's last chunk");
    checkEqual("PW-RPC-040", new TextDecoder().decode(Buffer.concat([c1.payload, c2.payload])), "abcdef", "the request body's chunks");
    respond(responder, r.id, { status: CallStatus.OK }, bytes("a first payload is not counted"));
    await nextResponse(caller, id, "PW-RPC-041", "the response");
    chunk(responder, r.id, bytes("12345"));
    await nextKindOn(caller, id, FrameKind.CALL_CHUNK, "PW-RPC-041", "a chunk within the initial credit");
    credit(caller, id, 3);
    await nextKindOn(responder, r.id, FrameKind.CALL_CREDIT, "PW-RPC-041", "the caller's CallCredit, forwarded to the responder");
    chunk(responder, r.id, bytes("678"), true);
    await nextKindOn(caller, id, FrameKind.CALL_CHUNK, "PW-RPC-041", "the last chunk, within the granted credit");
    // initial_credit 0 in both directions: unlimited.
    const free = startCall(caller, { service, initialCredit: 0 });
    const f = await nextRouted(responder, "PW-RPC-041", "the unlimited call");
    respond(responder, f.id, { status: CallStatus.OK, initialCredit: 0 });
    await nextResponse(caller, free, "PW-RPC-041", "the unlimited call's response");
    const big = new Uint8Array(100_000);
    chunk(caller, free, big, true);
    checkEqual("PW-RPC-041", (await nextKindOn(responder, f.id, FrameKind.CALL_CHUNK, "PW-RPC-041", "100,000 request bytes with unlimited credit")).payload.length, big.length, "chunk size");
    chunk(responder, f.id, big, true);
    checkEqual("PW-RPC-041", (await nextKindOn(caller, free, FrameKind.CALL_CHUNK, "PW-RPC-041", "100,000 response bytes with unlimited credit")).payload.length, big.length, "chunk size");
  },
};

const violations: ConformanceCase = {
  id: "rpc/flow-control-violations",
  title: "Chunk bytes beyond credit, a chunk after end_of_stream and credit above 2^32-1 are FLOW_CONTROL_VIOLATION for the side that sent them, and end the call for the other; the connections stay, and nothing beyond the credit is forwarded",
  plane: "rpc",
  clauses: ["PW-RPC-042", "PW-RPC-040", "PW-RPC-043"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "violate");
    // The caller: a chunk with no grant yet.
    const one = startCall(caller, { service });
    const r1 = await nextRouted(responder, "PW-RPC-042", "the first call");
    chunk(caller, one, bytes("x"));
    await expectErrorFrame(caller, "PW-RPC-042", { code: ErrorCode.FLOW_CONTROL_VIOLATION, correlationId: one, connection: "stays" }, "a caller's chunk before any credit");
    await nextKindOn(responder, r1.id, FrameKind.CALL_CANCEL, "PW-RPC-042", "the responder of the call the caller broke");
    // The responder: the caller grants 4 + 4; a 9th byte is one too many and must not reach the caller.
    const two = startCall(caller, { service, initialCredit: 4, endOfStream: true });
    const r2 = await nextRouted(responder, "PW-RPC-042", "the second call");
    respond(responder, r2.id, { status: CallStatus.OK });
    await nextResponse(caller, two, "PW-RPC-042", "the second call's response");
    credit(caller, two, 4);
    await nextKindOn(responder, r2.id, FrameKind.CALL_CREDIT, "PW-RPC-041", "the caller's grant");
    chunk(responder, r2.id, bytes("12345678"));
    const within = await nextKindOn(caller, two, FrameKind.CALL_CHUNK, "PW-RPC-042", "8 bytes within 8 of credit");
    checkEqual("PW-RPC-042", within.payload.length, 8, "bytes forwarded within the credit");
    chunk(responder, r2.id, bytes("9"));
    await expectErrorFrame(responder, "PW-RPC-042", { code: ErrorCode.FLOW_CONTROL_VIOLATION, correlationId: r2.id, connection: "stays" }, "a responder's chunk beyond the caller's credit");
    await expectEnd(caller, two, { code: ErrorCode.RESPONDER_GONE }, "PW-RPC-042", "the caller of a call its responder broke (no byte beyond its credit forwarded)");
    // A chunk after end_of_stream.
    const three = startCall(caller, { service, endOfStream: true });
    const r3 = await nextRouted(responder, "PW-RPC-040", "the third call");
    chunk(caller, three, new Uint8Array(0), true);
    await expectErrorFrame(caller, "PW-RPC-040", { code: ErrorCode.FLOW_CONTROL_VIOLATION, correlationId: three, connection: "stays" }, "a caller's chunk after its end_of_stream");
    await nextKindOn(responder, r3.id, FrameKind.CALL_CANCEL, "PW-RPC-042", "the responder of the third call");
    // Credit above 2^32-1.
    const four = startCall(caller, { service, initialCredit: 0xffff_fff0 });
    const r4 = await nextRouted(responder, "PW-RPC-042", "the fourth call");
    credit(caller, four, 0x20);
    await expectErrorFrame(caller, "PW-RPC-042", { code: ErrorCode.FLOW_CONTROL_VIOLATION, correlationId: four, connection: "stays" }, "a CallCredit taking the responder's credit above 2^32-1");
    await nextKindOn(responder, r4.id, FrameKind.CALL_CANCEL, "PW-RPC-042", "the responder of the fourth call");
    await expectServing(responder, "PW-RPC-042", "the responder after its violation");
  },
};

export const flowCases: readonly ConformanceCase[] = [deadlines, cancels, disconnects, credits, violations];
