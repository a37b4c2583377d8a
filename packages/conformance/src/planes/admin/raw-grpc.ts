import { connect as http2Connect, type ClientHttp2Stream } from "node:http2";
import { envelope, grpcStatus, http2Post } from "./raw-http.js";

/**
 * gRPC calls over raw HTTP/2 (h2c), for the standard gRPC services of the
 * admin listener (health checking, reflection): each message is enveloped
 * by hand and the status read from the headers or trailers as sent.
 */

/** Splits a gRPC body into its messages (envelopes without the compressed flag). */
export function messagesOf(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  while (offset + 5 <= view.byteLength) {
    const size = view.readUInt32BE(offset + 1);
    out.push(view.subarray(offset + 5, offset + 5 + size));
    offset += 5 + size;
  }
  return out;
}

export interface GrpcResult {
  /** The gRPC status code (0 OK), undefined if the answer carried none. */
  readonly code: number | undefined;
  readonly message: string;
  readonly messages: Uint8Array[];
}

/** A call with the given request messages (one for unary, several for a client or bidi stream sent at once). */
export async function grpcCall(baseUrl: string, path: string, requests: readonly Uint8Array[], headers: Record<string, string> = {}): Promise<GrpcResult> {
  const answer = await http2Post(`${baseUrl}${path}`, { "content-type": "application/grpc", te: "trailers", ...headers }, Buffer.concat(requests.map((r) => envelope(0, r))));
  const status = grpcStatus(answer);
  return { code: status.code, message: status.message, messages: messagesOf(answer.body) };
}

/** A server stream being read: its messages as they arrive, and its status once it ends. */
export interface GrpcStream {
  /** The next message, or undefined if none arrives within `timeoutMs` or the stream ended. */
  next(timeoutMs: number): Promise<Uint8Array | undefined>;
  /** The status, once the server ends the stream (or undefined if it is reset without one). */
  readonly ended: Promise<{ code: number | undefined; message: string }>;
  close(): void;
}

export function grpcServerStream(baseUrl: string, path: string, request: Uint8Array, headers: Record<string, string> = {}): GrpcStream {
  const session = http2Connect(new URL(baseUrl).origin);
  session.on("error", () => undefined);
  const stream: ClientHttp2Stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
  stream.on("error", () => undefined);
  stream.end(envelope(0, request));
  const queue: Uint8Array[] = [];
  let waiter: (() => void) | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let status: { code: number | undefined; message: string } = { code: undefined, message: "" };
  stream.on("response", (h) => {
    if (h["grpc-status"] !== undefined) status = { code: Number(h["grpc-status"]), message: decodeURIComponent(String(h["grpc-message"] ?? "")) };
  });
  stream.on("trailers", (t) => {
    status = { code: Number(t["grpc-status"]), message: decodeURIComponent(String(t["grpc-message"] ?? "")) };
  });
  stream.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.byteLength >= 5 && pending.byteLength >= 5 + pending.readUInt32BE(1)) {
      const size = pending.readUInt32BE(1);
      queue.push(pending.subarray(5, 5 + size));
      pending = pending.subarray(5 + size);
    }
    waiter?.();
  });
  const ended = new Promise<{ code: number | undefined; message: string }>((resolve) => stream.once("close", () => {
    waiter?.();
    resolve(status);
  }));
  return {
    async next(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0 && !stream.closed && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, Math.max(1, deadline - Date.now()));
        });
      }
      return queue.shift();
    },
    ended,
    close() {
      session.destroy();
    },
  };
}
