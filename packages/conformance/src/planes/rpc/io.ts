// What the request/reply cases share: service names unique to a run,
// responders and calls over WireSessions, and reading the frames of a leg.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  CallCancelSchema, CallChunkSchema, CallCreditSchema, CallRequestSchema, CallResponseSchema, CallStatus, type CallRequest, type CallResponse,
} from "@polywire/proto/rpc";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { check, ClauseViolation } from "../../clause.js";
import type { CaseContext } from "../../runner/case.js";
import type { WireFrame } from "../../wire/frame.js";
import { codeName, decode, decodeError, encode, kindName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";

const text = new TextEncoder();

export function bytes(s: string): Uint8Array {
  return text.encode(s);
}

export function str(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** A service name no other run or case shares. */
export function serviceName(ctx: CaseContext, name: string): string {
  return `cf${ctx.seed}p${process.pid}t${Date.now().toString(36)}.${name}`;
}

export async function register(session: WireSession, responderId: number, service: string, maxConcurrency = 0): Promise<void> {
  await session.call(FrameKind.REGISTER_RESPONDER_REQUEST, { responderId, service, maxConcurrency });
}

export async function unregister(session: WireSession, responderId: number): Promise<void> {
  await session.call(FrameKind.UNREGISTER_RESPONDER_REQUEST, { responderId });
}

/**
 * Starts a call as its caller: a CallRequest on a fresh odd id (or
 * `correlationId`), whose leg the monitor follows to its terminal event
 * (PW-RPC-010, PW-RPC-044); its frames arrive through `nextFrame`.
 */
export function startCall(session: WireSession, init: MessageInitShape<typeof CallRequestSchema>, payload?: Uint8Array, correlationId = session.nextId()): number {
  session.calls.start(correlationId);
  return session.send(FrameKind.CALL_REQUEST, encode(CallRequestSchema, init), payload, correlationId);
}

export function respond(session: WireSession, id: number, init: MessageInitShape<typeof CallResponseSchema>, payload?: Uint8Array): void {
  session.send(FrameKind.CALL_RESPONSE, encode(CallResponseSchema, init), payload, id);
}

export function chunk(session: WireSession, id: number, payload: Uint8Array, endOfStream = false): void {
  session.send(FrameKind.CALL_CHUNK, encode(CallChunkSchema, { endOfStream }), payload, id);
}

export function credit(session: WireSession, id: number, n: number): void {
  session.send(FrameKind.CALL_CREDIT, encode(CallCreditSchema, { bytes: n }), undefined, id);
}

export function cancel(session: WireSession, id: number, reason = ""): void {
  session.send(FrameKind.CALL_CANCEL, encode(CallCancelSchema, { reason }), undefined, id);
}

/** The next frame carrying correlation id `id`, failing `clause` when none comes within `timeoutMs`. */
export async function nextOn(session: WireSession, id: number, clause: string, what: string, timeoutMs = 5_000): Promise<WireFrame> {
  try {
    return await session.nextFrame(timeoutMs, (f) => f.correlationId === id);
  } catch (error) {
    throw new ClauseViolation(clause, `${what}: no frame on correlation id ${id} within ${timeoutMs} ms (${(error as Error).message})`);
  }
}

/** The next frame of `kind` on `id`; a frame of another kind there fails `clause`. */
export async function nextKindOn(session: WireSession, id: number, kind: FrameKind, clause: string, what: string, timeoutMs = 5_000): Promise<WireFrame> {
  const frame = await nextOn(session, id, clause, what, timeoutMs);
  check(clause, frame.kind === kind, () => `${what}: expected ${kindName(kind)} on correlation id ${id}, got ${kindName(frame.kind)}${frame.kind === FrameKind.ERROR ? ` (${codeName(decodeError(frame).code)})` : ""}`);
  return frame;
}

export interface Routed {
  readonly id: number;
  readonly request: CallRequest;
  readonly payload: Uint8Array;
}

/** The next CallRequest routed to `session` as a responder (PW-RPC-011). */
export async function nextRouted(session: WireSession, clause: string, what: string, timeoutMs = 5_000): Promise<Routed> {
  let frame: WireFrame;
  try {
    frame = await session.nextFrame(timeoutMs, (f) => f.kind === FrameKind.CALL_REQUEST);
  } catch (error) {
    throw new ClauseViolation(clause, `${what}: no CallRequest reached the responder within ${timeoutMs} ms (${(error as Error).message})`);
  }
  return { id: frame.correlationId, request: decode(CallRequestSchema, frame.message), payload: frame.payload };
}

/** Whether a CallRequest reaches `session` within `ms` (for checking that none does). */
export async function anyRouted(session: WireSession, ms: number): Promise<Routed | undefined> {
  try {
    const frame = await session.nextFrame(ms, (f) => f.kind === FrameKind.CALL_REQUEST);
    return { id: frame.correlationId, request: decode(CallRequestSchema, frame.message), payload: frame.payload };
  } catch {
    return undefined;
  }
}

/** True when no frame on `id` arrives within `ms`. */
export async function quietOn(session: WireSession, id: number, ms: number): Promise<boolean> {
  try {
    await session.nextFrame(ms, (f) => f.correlationId === id);
    return false;
  } catch {
    return true;
  }
}

/** The caller's next frame on `id` must be a CallResponse; returns it decoded. */
export async function nextResponse(session: WireSession, id: number, clause: string, what: string, timeoutMs = 5_000): Promise<{ response: CallResponse; payload: Uint8Array; frame: WireFrame }> {
  const frame = await nextKindOn(session, id, FrameKind.CALL_RESPONSE, clause, what, timeoutMs);
  return { response: decode(CallResponseSchema, frame.message), payload: frame.payload, frame };
}

/**
 * The terminal event of call `id` on the caller's leg: a CallResponse of
 * `status` (with end_of_stream) or an Error of `code`. None within
 * `timeoutMs` fails PW-RPC-044 (every call has one); another event fails
 * `clause`.
 */
export async function expectEnd(session: WireSession, id: number, expected: { status: CallStatus } | { code: ErrorCode }, clause: string, what: string, timeoutMs = 5_000): Promise<void> {
  let frame: WireFrame;
  try {
    frame = await session.nextFrame(timeoutMs, (f) => f.correlationId === id && f.kind !== FrameKind.CALL_CREDIT);
  } catch (error) {
    throw new ClauseViolation("PW-RPC-044", `${what}: call ${id} got no terminal event within ${timeoutMs} ms (${(error as Error).message})`);
  }
  if ("status" in expected) {
    check(clause, frame.kind === FrameKind.CALL_RESPONSE, () => `${what}: expected a CallResponse of ${CallStatus[expected.status]}, got ${kindName(frame.kind)}${frame.kind === FrameKind.ERROR ? ` (${codeName(decodeError(frame).code)})` : ""}`);
    const response = decode(CallResponseSchema, frame.message);
    check(clause, response.status === expected.status, `${what}: expected status ${CallStatus[expected.status]}, got ${CallStatus[response.status] ?? response.status}`);
    check("PW-RPC-044", response.endOfStream, `${what}: a CallResponse of ${CallStatus[response.status]} without end_of_stream`);
  } else {
    check(clause, frame.kind === FrameKind.ERROR, () => `${what}: expected an Error ${codeName(expected.code)}, got ${kindName(frame.kind)}`);
    const error = decodeError(frame);
    check(clause, error.code === expected.code, `${what}: expected ${codeName(expected.code)}, got ${codeName(error.code)} (${error.message})`);
  }
}

/** A pair of sessions granted FEATURE_REQUEST_REPLY: a responder registered for a fresh service, and a caller. */
export async function responderAndCaller(ctx: CaseContext, name: string, maxConcurrency = 0): Promise<{ service: string; responder: WireSession; caller: WireSession }> {
  const service = serviceName(ctx, name);
  const responder = await ctx.connect();
  await register(responder, 1, service, maxConcurrency);
  return { service, responder, caller: await ctx.connect() };
}

export { CallStatus };
