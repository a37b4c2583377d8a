import type { TLSSocket } from "node:tls";
import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorCode, ErrorSchema, FrameKind } from "@polywire/proto/session";
import { encodeFrame } from "@polywire/wasm-codec";
import type { WebSocket } from "ws";

// A refused client that does not close its side is dropped after this long.
const LINGER_MS = 2_000;

/**
 * Why a TLS client's certificate is refused (PW-TRANS-004), or undefined
 * when it verified or the listener asks for none. Node's TLS server cannot
 * fail the handshake itself over a certificate (its verify callback accepts
 * every chain and reports the result once the handshake is done), so the
 * listener asks for certificates without rejecting and decides here.
 */
export function certificateRefusal(socket: TLSSocket, requested: boolean): string | undefined {
  if (!requested || socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (peer === null || Object.keys(peer).length === 0) {
    return "client certificate refused: the client presented none, and this listener requires one that its client CA verifies (PW-TRANS-004)";
  }
  return `client certificate refused: ${String(socket.authorizationError)}: it does not verify against this listener's client CA (PW-TRANS-004)`;
}

// One connection-level Error frame (PW-TRANS-009): the client learns why,
// instead of seeing a connection that closed for no reason and redialing.
function refusalFrame(reason: string): Uint8Array {
  const message = toBinary(ErrorSchema, create(ErrorSchema, { code: ErrorCode.AUTHENTICATION_FAILED, message: reason }));
  return encodeFrame({ kind: FrameKind.ERROR, correlationId: 0, message });
}

/** Refuses a `tls://` client (PW-TRANS-009): the Error frame, then close; nothing it sent is read. */
export function refuseSocket(socket: TLSSocket, reason: string): void {
  socket.on("error", () => {});
  socket.end(refusalFrame(reason));
  // Reading discards its bytes; it lets the client's close be seen.
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Refuses a `wss://` client (PW-TRANS-009): the Error frame as one message, then close 1008 (policy violation). */
export function refuseWebSocket(socket: WebSocket, reason: string): void {
  socket.on("error", () => {});
  socket.on("message", () => {});
  socket.send(refusalFrame(reason), { binary: true });
  socket.close(1008, "client certificate refused");
  setTimeout(() => socket.terminate(), LINGER_MS).unref();
}
