// Raw frames of the request/reply plane over a real socket (helpers.ts's
// RawClient), so the broker tests check what goes over the wire.
import { fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  CallCancelSchema, CallChunkSchema, CallCreditSchema, CallRequestSchema, CallResponseSchema, CallStatus, RegisterResponderRequestSchema, UnregisterResponderRequestSchema,
  type CallRequest, type CallResponse,
} from "@polywire/proto/rpc";
import { ErrorCode, ErrorSchema, Feature, FrameKind, PingSchema } from "@polywire/proto/session";
import type { Frame } from "@polywire/wasm-codec";
import { expect } from "vitest";
import { frameOf, RawClient } from "../helpers.js";

export const RPC = [Feature.REQUEST_REPLY];
const text = new TextEncoder();

export function bytes(s: string): Uint8Array {
  return text.encode(s);
}

export async function rpcClient(url: string): Promise<RawClient> {
  const { client, welcome } = await RawClient.ready(url, { features: RPC });
  expect(welcome.features).toContain(Feature.REQUEST_REPLY);
  return client;
}

export async function expectKind(c: RawClient, kind: FrameKind, timeoutMs?: number): Promise<Frame> {
  const frame = await c.next(timeoutMs);
  const detail = frame.kind === FrameKind.ERROR ? ` (${ErrorCode[fromBinary(ErrorSchema, frame.message).code]})` : "";
  expect(FrameKind[frame.kind] + detail).toBe(FrameKind[kind]);
  return frame;
}

export async function register(c: RawClient, cid: number, responderId: number, service: string, maxConcurrency = 0): Promise<void> {
  c.send(frameOf(FrameKind.REGISTER_RESPONDER_REQUEST, cid, RegisterResponderRequestSchema, { responderId, service, maxConcurrency }));
  const f = await expectKind(c, FrameKind.REGISTER_RESPONDER_RESPONSE);
  expect(f.correlationId).toBe(cid);
}

export function unregister(c: RawClient, cid: number, responderId: number): void {
  c.send(frameOf(FrameKind.UNREGISTER_RESPONDER_REQUEST, cid, UnregisterResponderRequestSchema, { responderId }));
}

export function call(c: RawClient, cid: number, init: MessageInitShape<typeof CallRequestSchema>, payload = new Uint8Array(0)): void {
  c.send(frameOf(FrameKind.CALL_REQUEST, cid, CallRequestSchema, init, payload));
}

export function respond(c: RawClient, id: number, init: MessageInitShape<typeof CallResponseSchema>, payload = new Uint8Array(0)): void {
  c.send(frameOf(FrameKind.CALL_RESPONSE, id, CallResponseSchema, init, payload));
}

export function chunk(c: RawClient, id: number, payload: Uint8Array, endOfStream = false): void {
  c.send(frameOf(FrameKind.CALL_CHUNK, id, CallChunkSchema, { endOfStream }, payload));
}

export function credit(c: RawClient, id: number, n: number): void {
  c.send(frameOf(FrameKind.CALL_CREDIT, id, CallCreditSchema, { bytes: n }));
}

export function cancel(c: RawClient, id: number, reason = ""): void {
  c.send(frameOf(FrameKind.CALL_CANCEL, id, CallCancelSchema, { reason }));
}

/** The next frame must be a CallRequest routed to this responder; returns it decoded with its broker-chosen id. */
export async function nextCall(c: RawClient, timeoutMs?: number): Promise<{ id: number; request: CallRequest; payload: Uint8Array }> {
  const f = await expectKind(c, FrameKind.CALL_REQUEST, timeoutMs);
  return { id: f.correlationId, request: fromBinary(CallRequestSchema, f.message), payload: f.payload.slice() };
}

/** The next frame must be a CallResponse; returns it decoded. */
export async function nextResponse(c: RawClient, cid: number, timeoutMs?: number): Promise<{ response: CallResponse; payload: Uint8Array }> {
  const f = await expectKind(c, FrameKind.CALL_RESPONSE, timeoutMs);
  expect(f.correlationId).toBe(cid);
  return { response: fromBinary(CallResponseSchema, f.message), payload: f.payload.slice() };
}

export async function expectStatus(c: RawClient, cid: number, status: CallStatus, timeoutMs?: number): Promise<void> {
  const { response } = await nextResponse(c, cid, timeoutMs);
  expect(CallStatus[response.status]).toBe(CallStatus[status]);
  expect(response.endOfStream).toBe(true);
}

export async function expectError(c: RawClient, cid: number, code: ErrorCode, timeoutMs?: number): Promise<bigint> {
  const { correlationId, error } = await c.nextError(timeoutMs);
  expect(ErrorCode[error.code]).toBe(ErrorCode[code]);
  expect(correlationId).toBe(cid);
  return error.limit;
}

export async function nextChunk(c: RawClient, id: number): Promise<{ endOfStream: boolean; payload: Uint8Array }> {
  const f = await expectKind(c, FrameKind.CALL_CHUNK);
  expect(f.correlationId).toBe(id);
  return { endOfStream: fromBinary(CallChunkSchema, f.message).endOfStream, payload: f.payload.slice() };
}

/** Nothing arrives for `ms`. */
export async function expectQuiet(c: RawClient, ms = 150): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  expect(c.frames.map((f) => FrameKind[f.kind])).toEqual([]);
}

/** A Ping answered by its Pong: the connection still serves. */
export async function expectServing(c: RawClient, cid: number): Promise<void> {
  c.send(frameOf(FrameKind.PING, cid, PingSchema, {}));
  const f = await expectKind(c, FrameKind.PONG);
  expect(f.correlationId).toBe(cid);
}
