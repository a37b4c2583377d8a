import { ErrorCode, FrameKind, type Error as ErrorMessage } from "@polywire/proto/session";
import { ClauseViolation, check } from "../clause.js";
import type { WireFrame } from "../wire/frame.js";
import { BrokerError, codeName, decodeError, kindName } from "../wire/messages.js";
import { ConnectionEnded, RequestTimeout, type WireSession } from "../wire/session.js";

/** Awaits a request that must fail with `code`; returns the Error message. */
export async function expectBrokerError(clause: string, request: Promise<unknown>, code: ErrorCode, what: string): Promise<ErrorMessage> {
  try {
    await request;
  } catch (error) {
    if (error instanceof BrokerError) {
      check(clause, error.code === code, `${what}: expected ${codeName(code)}, got ${codeName(error.code)} (${error.error.message})`);
      return error.error;
    }
    if (error instanceof RequestTimeout) throw new ClauseViolation(clause, `${what}: expected ${codeName(code)}, got no answer`);
    if (error instanceof ConnectionEnded) throw new ClauseViolation(clause, `${what}: expected ${codeName(code)}, but the connection ended`);
    throw error;
  }
  throw new ClauseViolation(clause, `${what}: expected ${codeName(code)}, but the request succeeded`);
}

/**
 * Waits for an Error frame with `correlationId` and `code` among the frames
 * no request claimed; `closes` then requires the broker to close the
 * connection (PW-FRAME-013, PW-SESS-004) and `stays` to keep serving it.
 */
export async function expectErrorFrame(
  session: WireSession,
  clause: string,
  expected: { code: ErrorCode; correlationId: number | "any"; connection: "closes" | "stays"; timeoutMs?: number },
  what: string,
): Promise<ErrorMessage> {
  let frame: WireFrame;
  try {
    frame = await session.nextFrame(expected.timeoutMs ?? 5000, (f) => f.kind === FrameKind.ERROR || f.correlationId === expected.correlationId);
  } catch (error) {
    if (error instanceof ConnectionEnded) throw new ClauseViolation(clause, `${what}: the broker closed the connection without an Error frame (expected ${codeName(expected.code)})`);
    throw new ClauseViolation(clause, `${what}: no Error frame within ${expected.timeoutMs ?? 5000} ms (expected ${codeName(expected.code)})`);
  }
  check(clause, frame.kind === FrameKind.ERROR, `${what}: expected an Error frame, got ${kindName(frame.kind)}`);
  const error = decodeError(frame);
  check(clause, error.code === expected.code, `${what}: expected ${codeName(expected.code)}, got ${codeName(error.code)} (${error.message})`);
  check(clause, expected.correlationId === "any" || frame.correlationId === expected.correlationId, `${what}: the Error carries correlation id ${frame.correlationId}, expected ${expected.correlationId}`);
  if (expected.connection === "closes") {
    const end = await session.waitEnd(5000);
    check(clause, end !== undefined, `${what}: the broker did not close the connection after ${codeName(error.code)}`);
  } else {
    await expectServing(session, clause, `${what}: after ${codeName(error.code)}`);
  }
  return error;
}

/** Checks that the session still answers a Ping (the connection stayed open and in sync). */
export async function expectServing(session: WireSession, clause: string, what: string): Promise<void> {
  const nonce = BigInt(Math.floor(Math.random() * 2 ** 48));
  try {
    const { message } = await session.call(FrameKind.PING, { nonce }, undefined, { timeoutMs: 5000 });
    check("PW-SESS-010", message.nonce === nonce, `Pong nonce ${message.nonce}, Ping nonce ${nonce}`);
  } catch (error) {
    if (error instanceof ClauseViolation) throw error;
    throw new ClauseViolation(clause, `${what}: the connection no longer serves requests (${(error as Error).message})`);
  }
}

/** Waits until the broker closes `session`; fails `clause` if it stays open `timeoutMs`. */
export async function expectClosed(session: WireSession, clause: string, what: string, timeoutMs = 5000): Promise<void> {
  const end = await session.waitEnd(timeoutMs);
  check(clause, end !== undefined, `${what}: the connection is still open after ${timeoutMs} ms`);
}

/** Resolves `ms` later. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
