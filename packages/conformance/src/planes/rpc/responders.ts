import { CallStatus } from "@polywire/proto/rpc";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { BrokerError, decodeError } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { expectBrokerError, expectServing } from "../expect.js";
import { anyRouted, expectEnd, nextResponse, nextRouted, register, respond, responderAndCaller, serviceName, startCall, unregister } from "./io.js";

const FEATURES = [Feature.REQUEST_REPLY];

const registration: ConformanceCase = {
  id: "rpc/registration",
  title: "A responder's service follows the subject grammar and is not reserved, its id is non-zero and unique on the connection; a CallRequest for a bad service fails with the same codes; an unknown id cannot be unregistered",
  plane: "rpc",
  clauses: ["PW-RPC-001", "PW-RPC-004", "PW-RPC-015"],
  features: FEATURES,
  async run(ctx) {
    const session = await ctx.connect();
    for (const bad of ["", "a..b", "a b", "a.*", "a.>"]) {
      await expectBrokerError("PW-RPC-001", register(session, 1, bad), ErrorCode.INVALID_SUBJECT, `service ${JSON.stringify(bad)}`);
    }
    await expectBrokerError("PW-RPC-001", register(session, 1, "$sys.rpc"), ErrorCode.RESERVED_SUBJECT, "service $sys.rpc");
    await expectBrokerError("PW-RPC-001", register(session, 1, "$a..b"), ErrorCode.INVALID_SUBJECT, "service $a..b (the grammar first)");
    const service = serviceName(ctx, "reg");
    await expectBrokerError("PW-RPC-001", register(session, 0, service), ErrorCode.INVALID_ARGUMENT, "responder_id 0");
    await register(session, 7, service);
    await expectBrokerError("PW-RPC-001", register(session, 7, `${service}.other`), ErrorCode.RESPONDER_EXISTS, "responder_id 7 twice");
    // Another connection may use the same id.
    const other = await ctx.connect();
    await register(other, 7, service);
    await expectBrokerError("PW-RPC-004", unregister(session, 8), ErrorCode.UNKNOWN_RESPONDER, "unregistering responder 8, never registered");
    for (const [bad, code] of [["a..b", ErrorCode.INVALID_SUBJECT], ["$x", ErrorCode.RESERVED_SUBJECT]] as const) {
      const id = startCall(session, { service: bad, endOfStream: true });
      await expectEnd(session, id, { code }, "PW-RPC-015", `a call to ${bad}`);
    }
    await expectServing(session, "PW-RPC-001", "after refused registrations");
  },
};

const queueGroup: ConformanceCase = {
  id: "rpc/queue-group",
  title: "Responders of one service on several connections form one queue group: each call goes to exactly one of them, and calls spread among them",
  plane: "rpc",
  clauses: ["PW-RPC-002"],
  features: FEATURES,
  async run(ctx) {
    const service = serviceName(ctx, "spread");
    const responders: WireSession[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ctx.connect();
      await register(r, 1, service);
      responders.push(r);
    }
    const caller = await ctx.connect();
    const calls = 30;
    const ids = Array.from({ length: calls }, (_, i) => startCall(caller, { service, endOfStream: true }, Uint8Array.of(i)));
    const counts = [0, 0, 0];
    const seen = new Set<number>();
    for (const [i, r] of responders.entries()) {
      for (;;) {
        const routed = await anyRouted(r, 700);
        if (routed === undefined) break;
        const which = routed.payload[0] as number;
        check("PW-RPC-002", !seen.has(which), `call ${which} reached two responders`);
        seen.add(which);
        counts[i]! += 1;
        respond(r, routed.id, { status: CallStatus.OK, endOfStream: true });
      }
    }
    checkEqual("PW-RPC-002", seen.size, calls, "calls that reached a responder");
    for (const id of ids) await nextResponse(caller, id, "PW-RPC-002", `the answer to call ${id}`);
    check("PW-RPC-002", counts.every((n) => n >= calls / 3 - 3), `calls per responder ${counts.join(", ")}: they SHOULD be spread evenly`);
  },
};

const concurrency: ConformanceCase = {
  id: "rpc/max-concurrency",
  title: "A responder never has more than max_concurrency calls in progress; a call finding every responder busy waits for one, and is routed when a call ends",
  plane: "rpc",
  clauses: ["PW-RPC-003"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "busy", 2);
    const ids = [1, 2, 3, 4].map((i) => startCall(caller, { service, endOfStream: true, timeoutMs: 20_000 }, Uint8Array.of(i)));
    const first = [await nextRouted(responder, "PW-RPC-003", "first call"), await nextRouted(responder, "PW-RPC-003", "second call")];
    check("PW-RPC-003", (await anyRouted(responder, 400)) === undefined, "a third call reached a responder with max_concurrency 2 and two calls in progress");
    respond(responder, (first[0] as { id: number }).id, { status: CallStatus.OK, endOfStream: true });
    const third = await nextRouted(responder, "PW-RPC-003", "the call waiting for room, once a call ended");
    checkEqual("PW-RPC-003", third.payload[0], 3, "the oldest waiting call goes first");
    check("PW-RPC-003", (await anyRouted(responder, 300)) === undefined, "a fourth call while two are in progress");
    for (const r of [first[1], third]) respond(responder, (r as { id: number }).id, { status: CallStatus.OK, endOfStream: true });
    const fourth = await nextRouted(responder, "PW-RPC-003", "the last waiting call");
    respond(responder, fourth.id, { status: CallStatus.OK, endOfStream: true });
    for (const id of ids) await nextResponse(caller, id, "PW-RPC-003", `answer to call ${id}`);
  },
};

const unregistering: ConformanceCase = {
  id: "rpc/unregister",
  title: "After UnregisterResponderResponse no new call reaches the responder while a routed one runs to completion; calls waiting for the last responder of a service end with NO_RESPONDERS at once",
  plane: "rpc",
  clauses: ["PW-RPC-004", "PW-RPC-005", "PW-RPC-020"],
  features: FEATURES,
  async run(ctx) {
    const { service, responder, caller } = await responderAndCaller(ctx, "unreg", 1);
    const first = startCall(caller, { service, endOfStream: true, timeoutMs: 30_000 });
    const routed = await nextRouted(responder, "PW-RPC-004", "the call routed before unregistering");
    const waiting = startCall(caller, { service, endOfStream: true, timeoutMs: 30_000 });
    check("PW-RPC-003", (await anyRouted(responder, 200)) === undefined, "a second call reached a responder with max_concurrency 1");
    const started = performance.now();
    await unregister(responder, 1);
    await expectEnd(caller, waiting, { status: CallStatus.NO_RESPONDERS }, "PW-RPC-005", "the call waiting for the unregistered responder");
    check("PW-RPC-005", performance.now() - started < 10_000, "NO_RESPONDERS came only after the wait");
    const late = startCall(caller, { service, endOfStream: true, timeoutMs: 30_000 });
    await expectEnd(caller, late, { status: CallStatus.NO_RESPONDERS }, "PW-RPC-004", "a call after the last responder unregistered");
    check("PW-RPC-004", (await anyRouted(responder, 200)) === undefined, "a call reached an unregistered responder");
    respond(responder, routed.id, { status: CallStatus.OK, endOfStream: true }, Uint8Array.of(1));
    const { response } = await nextResponse(caller, first, "PW-RPC-004", "the call routed before unregistering, completed after");
    checkEqual("PW-RPC-004", response.status, CallStatus.OK, "status of the call that ran to completion");
  },
};

/** Sends requests of `make` until one fails; returns how many succeeded and the failure. */
async function untilRefused(count: number, make: (i: number) => Promise<unknown>): Promise<{ accepted: number; error: BrokerError | undefined }> {
  for (let i = 0; i < count; i += 256) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(256, count - i) }, (_, j) => make(i + j)));
    const failed = batch.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      const reason = (batch[failed] as PromiseRejectedResult).reason;
      if (!(reason instanceof BrokerError)) throw reason;
      return { accepted: i + batch.filter((r) => r.status === "fulfilled").length, error: reason };
    }
  }
  return { accepted: count, error: undefined };
}

const bounds: ConformanceCase = {
  id: "rpc/bounds",
  title: "The responders one connection registers are bounded (TOO_MANY_RESPONDERS with the limit), and so are the calls waiting for a service (TOO_MANY_CALLS with the limit); nothing changes and the connection stays",
  plane: "rpc",
  clauses: ["PW-RPC-006"],
  features: FEATURES,
  timeoutMs: 60_000,
  async run(ctx) {
    const session = await ctx.connect();
    const service = serviceName(ctx, "bounds");
    const reg = await untilRefused(70_000, (i) => session.call(FrameKind.REGISTER_RESPONDER_REQUEST, { responderId: i + 1, service, maxConcurrency: 1 }));
    check("PW-RPC-006", reg.error !== undefined, "70,000 responders registered on one connection: no bound");
    checkEqual("PW-RPC-006", reg.error?.code, ErrorCode.TOO_MANY_RESPONDERS, "the error past the bound of responders");
    checkEqual("PW-RPC-006", reg.error?.error.limit, BigInt(reg.accepted), "Error.limit of TOO_MANY_RESPONDERS (the responders held)");
    await expectServing(session, "PW-RPC-006", "after TOO_MANY_RESPONDERS");
    // One responder with room for one call: the others wait, until the service's bound.
    const one = await ctx.connect();
    const waitService = serviceName(ctx, "waiting");
    await register(one, 1, waitService, 1);
    const callers = [await ctx.connect(), await ctx.connect(), await ctx.connect()];
    let refused: { code: number; limit: bigint } | undefined;
    let started = 0;
    for (let round = 0; round < 12 && refused === undefined; round++) {
      for (const c of callers) {
        for (let i = 0; i < 200; i++) startCall(c, { service: waitService, endOfStream: true, timeoutMs: 60_000 });
        started += 200;
      }
      const error = await Promise.race(callers.map((c) => c.nextFrame(1_000, (f) => f.kind === FrameKind.ERROR).then((f) => f, () => undefined)));
      if (error !== undefined) {
        const e = decodeError(error);
        refused = { code: e.code, limit: e.limit };
      }
    }
    check("PW-RPC-006", refused !== undefined, `${started} calls waited for one busy responder: no bound on waiting calls`);
    checkEqual("PW-RPC-006", refused?.code, ErrorCode.TOO_MANY_CALLS, "the error past the bound of waiting calls");
    check("PW-RPC-006", (refused?.limit ?? 0n) > 0n, "TOO_MANY_CALLS without Error.limit");
    for (const c of callers) await expectServing(c, "PW-RPC-006", "after TOO_MANY_CALLS");
  },
};

export const responderCases: readonly ConformanceCase[] = [registration, queueGroup, concurrency, unregistering, bounds];
