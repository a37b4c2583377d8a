// The request/reply core alone (no sockets): random interleavings of every
// frame either leg may send, time and disconnects, checked against the
// invariants of §10 on what each connection is sent.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CallCancelSchema, CallChunkSchema, CallCreditSchema, CallRequestSchema, CallResponseSchema, CallStatus } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import type { PolywireError } from "@polywire/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RpcRouter, type RpcClock, type RpcPeer } from "../../src/rpc/index.js";

class FakeClock implements RpcClock {
  t = 0;
  timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now = (): number => this.t;
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  advance(ms: number): void {
    this.t += ms;
    for (const timer of this.timers.filter((x) => x.live && x.at <= this.t)) {
      timer.live = false;
      timer.fn();
    }
  }
}

interface Sent {
  kind: number;
  id: number;
  message?: Uint8Array;
  payload?: Uint8Array;
  error?: PolywireError;
}

function conn(router: RpcRouter): { peer: RpcPeer; sent: Sent[] } {
  const sent: Sent[] = [];
  const peer = router.peer({
    frame: (kind, id, message, payload) => sent.push({ kind, id, message, ...(payload === undefined ? {} : { payload }) }) > 0,
    error: (error, id) => void sent.push({ kind: FrameKind.ERROR, id, error }),
    drained: () => Promise.resolve(),
    pauseReadingUntil: () => {},
    writable: true,
    onWritable: () => {},
  });
  return { peer, sent };
}

/** True when a frame sent to the caller ends its call (PW-RPC-044). */
function terminal(f: Sent): boolean {
  if (f.kind === FrameKind.ERROR) return true;
  if (f.kind === FrameKind.CALL_RESPONSE) {
    const r = fromBinary(CallResponseSchema, f.message as Uint8Array);
    return r.status !== CallStatus.OK || r.endOfStream;
  }
  if (f.kind === FrameKind.CALL_CHUNK) return fromBinary(CallChunkSchema, f.message as Uint8Array).endOfStream;
  return false;
}

type Op =
  | { op: "call"; n: number; credit: number; eos: boolean }
  | { op: "callerChunk"; which: number; n: number; eos: boolean; violate: boolean }
  | { op: "callerCredit"; which: number; n: number }
  | { op: "callerCancel"; which: number }
  | { op: "respond"; which: number; status: number; eos: boolean; credit: number }
  | { op: "responderChunk"; which: number; n: number; eos: boolean; violate: boolean }
  | { op: "responderCredit"; which: number; n: number }
  | { op: "responderCancel"; which: number }
  | { op: "time"; ms: number }
  | { op: "responderClose" };

const small = fc.nat({ max: 40 });
// One chunk in ten ignores the credit the model knows of; the others stay within it.
const violate = fc.nat({ max: 9 }).map((x) => x === 0);
// Bodies end now and then, so that most calls stream for a while.
const rarely = fc.nat({ max: 5 }).map((x) => x === 0);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("call" as const), n: small, credit: fc.nat({ max: 64 }), eos: fc.boolean() }), weight: 10 },
  { arbitrary: fc.record({ op: fc.constant("callerChunk" as const), which: fc.nat(), n: small, eos: rarely, violate }), weight: 10 },
  { arbitrary: fc.record({ op: fc.constant("callerCredit" as const), which: fc.nat(), n: small }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("callerCancel" as const), which: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("respond" as const), which: fc.nat(), status: fc.constantFrom(1, 1, 1, 1, 2, 4), eos: rarely, credit: fc.nat({ max: 64 }) }), weight: 10 },
  { arbitrary: fc.record({ op: fc.constant("responderChunk" as const), which: fc.nat(), n: small, eos: rarely, violate }), weight: 14 },
  { arbitrary: fc.record({ op: fc.constant("responderCredit" as const), which: fc.nat(), n: small }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("responderCancel" as const), which: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("time" as const), ms: fc.nat({ max: 400 }) }), weight: 4 },
  { arbitrary: fc.constant({ op: "responderClose" as const }), weight: 1 },
);

describe("request/reply core model", () => {
  let chunksSeen = 0;
  it("PW-RPC-044, PW-RPC-042, PW-RPC-002, PW-RPC-003: under random interleavings every call gets exactly one terminal event, no leg is forwarded more chunk bytes than its receiver granted, and a responder never holds more than max_concurrency calls", () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 20, maxLength: 150 }), fc.nat({ max: 3 }), (ops, maxConcurrency) => {
      const clock = new FakeClock();
      const router = new RpcRouter({ clock, maxWaitingCalls: 1_000 });
      const caller = conn(router);
      const responders = [conn(router), conn(router)];
      responders.forEach((r, i) => router.register(r.peer, 1, "svc", i === 0 ? maxConcurrency : 0));
      const limited = responders[0] as (typeof responders)[number];
      const everyResponder = [...responders];
      // Which caller id each broker-chosen leg id stood for, per responder connection.
      const legOwner = new Map<RpcPeer, Map<number, number>>(responders.map((r) => [r.peer, new Map()]));
      const callIds: number[] = [];
      // What each side was granted and sent, as the model sees it, by caller id.
      const book = new Map<number, { reqGranted: number; reqSent: number; reqEnded: boolean; respGranted: number; respSent: number; responded: boolean; reqGrantSeen: boolean }>();
      let nextId = 1;
      const legs = (): Array<{ r: (typeof responders)[number]; id: number }> =>
        responders.flatMap((r) => [...r.peer.legs.keys()].map((id) => ({ r, id })));
      const pickCall = (which: number): number | undefined => (callIds.length === 0 ? undefined : callIds[which % callIds.length]);
      const pickLeg = (which: number): { r: (typeof responders)[number]; id: number } | undefined => {
        const all = legs();
        return all.length === 0 ? undefined : all[which % all.length];
      };
      for (const o of ops) {
        switch (o.op) {
          case "call": {
            const id = nextId;
            nextId += 2;
            const request = create(CallRequestSchema, { service: "svc", timeoutMs: 1_000, initialCredit: o.credit, endOfStream: o.eos });
            void router.call(caller.peer, id, request, toBinary(CallRequestSchema, request), new Uint8Array(o.n));
            callIds.push(id);
            book.set(id, { reqGranted: 0, reqSent: 0, reqEnded: o.eos, respGranted: o.credit === 0 ? Number.POSITIVE_INFINITY : o.credit, respSent: 0, responded: false, reqGrantSeen: false });
            break;
          }
          case "callerChunk": {
            const id = pickCall(o.which);
            if (id === undefined) break;
            const b = book.get(id)!;
            if (!o.violate && b.reqEnded) break;
            const n = o.violate ? o.n : Math.max(0, Math.min(o.n, b.reqGranted - b.reqSent));
            b.reqSent += n;
            b.reqEnded ||= o.eos;
            router.chunk(caller.peer, id, toBinary(CallChunkSchema, create(CallChunkSchema, { endOfStream: o.eos })), o.eos, new Uint8Array(n));
            break;
          }
          case "callerCredit": {
            const id = pickCall(o.which);
            if (id === undefined) break;
            book.get(id)!.respGranted += o.n;
            router.credit(caller.peer, id, toBinary(CallCreditSchema, create(CallCreditSchema, { bytes: o.n })), o.n);
            break;
          }
          case "callerCancel": {
            const id = pickCall(o.which);
            if (id !== undefined) router.cancel(caller.peer, id, toBinary(CallCancelSchema, create(CallCancelSchema, {})));
            break;
          }
          case "respond": {
            const leg = pickLeg(o.which);
            if (leg === undefined) break;
            const response = create(CallResponseSchema, { status: o.status, endOfStream: o.status !== 1 || o.eos, errorCode: o.status === 2 ? "E" : "", initialCredit: o.credit });
            const b = book.get(leg.r.peer.legs.get(leg.id)!.callerId)!;
            b.reqGranted = o.credit === 0 && !b.reqGrantSeen ? Number.POSITIVE_INFINITY : b.reqGranted + o.credit;
            b.reqGrantSeen = true;
            b.responded = true;
            router.response(leg.r.peer, leg.id, response, toBinary(CallResponseSchema, response), new Uint8Array(3));
            break;
          }
          case "responderChunk": {
            const leg = pickLeg(o.which);
            if (leg === undefined) break;
            const b = book.get(leg.r.peer.legs.get(leg.id)!.callerId)!;
            if (!o.violate && !b.responded) break;
            const n = o.violate ? o.n : Math.max(0, Math.min(o.n, b.respGranted - b.respSent));
            b.respSent += n;
            router.chunk(leg.r.peer, leg.id, toBinary(CallChunkSchema, create(CallChunkSchema, { endOfStream: o.eos })), o.eos, new Uint8Array(n));
            break;
          }
          case "responderCredit": {
            const leg = pickLeg(o.which);
            if (leg === undefined) break;
            const b = book.get(leg.r.peer.legs.get(leg.id)!.callerId)!;
            // A first CallCredit of the responder is a grant: a later initial_credit of 0 then adds nothing (PW-RPC-041).
            if (b.reqGranted !== Number.POSITIVE_INFINITY) b.reqGranted += o.n;
            b.reqGrantSeen = true;
            router.credit(leg.r.peer, leg.id, toBinary(CallCreditSchema, create(CallCreditSchema, { bytes: o.n })), o.n);
            break;
          }
          case "responderCancel": {
            const leg = pickLeg(o.which);
            if (leg !== undefined) router.cancel(leg.r.peer, leg.id, toBinary(CallCancelSchema, create(CallCancelSchema, {})));
            break;
          }
          case "time":
            clock.advance(o.ms);
            break;
          case "responderClose":
            // One responder's connection ends and a new one registers in its place.
            router.close((responders.shift() as (typeof responders)[number]).peer);
            const fresh = conn(router);
            responders.push(fresh);
            everyResponder.push(fresh);
            legOwner.set(fresh.peer, new Map());
            router.register((responders.at(-1) as (typeof responders)[number]).peer, 1, "svc", 0);
            break;
        }
        for (const r of responders) for (const [legId, c] of r.peer.legs) (legOwner.get(r.peer) as Map<number, number>).set(legId, c.callerId);
        if (maxConcurrency > 0) expect(limited.peer.legs.size).toBeLessThanOrEqual(maxConcurrency);
      }
      // Every call ends by its deadline at the latest.
      clock.advance(2_000);
      expect(router.counters.inFlight).toBe(0);
      for (const id of callIds) {
        const events = caller.sent.filter((f) => f.id === id && terminal(f));
        expect(events.length, `call ${id}`).toBe(1);
        const after = caller.sent.slice(caller.sent.indexOf(events[0] as Sent) + 1).filter((f) => f.id === id);
        expect(after, `frames after call ${id}'s terminal event`).toEqual([]);
      }
      let forwarded = 0;
      const requestForwarded = new Map<number, number>();
      // Credit: chunk bytes forwarded on either leg never exceed what the receiver granted (PW-RPC-042).
      for (const id of callIds) {
        const b = book.get(id)!;
        const toCaller = caller.sent.filter((f) => f.id === id && f.kind === FrameKind.CALL_CHUNK).reduce((sum, f) => sum + (f.payload?.byteLength ?? 0), 0);
        expect(toCaller).toBeLessThanOrEqual(b.respGranted);
        forwarded += toCaller;
      }
      for (const r of everyResponder) {
        const ids = legOwner.get(r.peer) as Map<number, number>;
        for (const f of r.sent) {
          if (f.kind !== FrameKind.CALL_CHUNK) continue;
          const callerId = ids.get(f.id) as number;
          requestForwarded.set(callerId, (requestForwarded.get(callerId) ?? 0) + (f.payload?.byteLength ?? 0));
        }
      }
      for (const [id, n] of requestForwarded) expect(n).toBeLessThanOrEqual((book.get(id) as { reqGranted: number }).reqGranted);
      chunksSeen += forwarded + [...requestForwarded.values()].reduce((a, b) => a + b, 0);
    }), { numRuns: 300 });
    // The runs did stream bodies, so the credit checks above had something to check.
    expect(chunksSeen).toBeGreaterThan(2_000);
  });
});

// What the caller granted call `id`: its initial_credit plus its CallCredits (Infinity for an initial 0).
function grantedByCaller(ops: readonly Op[], id: number, callIds: readonly number[]): number {
  let seen = 0;
  let total = 0;
  const known: number[] = [];
  for (const o of ops) {
    if (o.op === "call") {
      const thisId = callIds[seen++];
      known.push(thisId as number);
      if (thisId === id) {
        if (o.credit === 0) return Number.POSITIVE_INFINITY;
        total += o.credit;
      }
    } else if (o.op === "callerCredit" && known.length > 0 && known[o.which % known.length] === id) {
      total += o.n;
    }
  }
  return total;
}
