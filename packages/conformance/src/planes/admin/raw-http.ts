import { request as http1Request, type IncomingHttpHeaders } from "node:http";
import { connect as http2Connect, type IncomingHttpHeaders as Http2Headers } from "node:http2";

/**
 * Raw HTTP requests to an admin listener, with no Connect or gRPC library in
 * between, so that cases see exactly what the broker answers: the status,
 * headers and trailers as sent, and how much of a body the broker let the
 * client send before it answered.
 */

/** A request body: bytes, or `total` bytes made of `chunk` repeated after `prefix` (never held in memory whole). */
export type RawBody = Uint8Array | { readonly prefix?: Uint8Array; readonly chunk: Uint8Array; readonly total: number };

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** HTTP/2 trailers (empty over HTTP/1.1). */
  readonly trailers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Body bytes the client had handed to its socket when the answer's headers arrived. */
  readonly sentBeforeAnswer: number;
  /** Body bytes the client handed to its socket in all. */
  readonly sent: number;
}

function flatten(headers: IncomingHttpHeaders | Http2Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !name.startsWith(":")) out[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function* pieces(body: RawBody): Generator<Uint8Array> {
  if (body instanceof Uint8Array) {
    yield body;
    return;
  }
  let left = body.total;
  if (body.prefix !== undefined) {
    yield body.prefix;
    left -= body.prefix.byteLength;
  }
  while (left > 0) {
    const n = Math.min(left, body.chunk.byteLength);
    yield n === body.chunk.byteLength ? body.chunk : body.chunk.subarray(0, n);
    left -= n;
  }
}

function length(body: RawBody): number {
  return body instanceof Uint8Array ? body.byteLength : body.total;
}

interface Writable {
  write(chunk: Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
  end(): unknown;
}

/**
 * Writes the body with backpressure until it is all written or `answered()`
 * says the server has answered (a client that gets an answer stops sending,
 * as real clients do); returns the bytes written.
 */
async function pump(out: Writable, body: RawBody, answered: () => boolean, gone: Promise<unknown>): Promise<number> {
  let sent = 0;
  for (const piece of pieces(body)) {
    if (answered()) return sent;
    sent += piece.byteLength;
    if (!out.write(piece)) {
      const drained = new Promise<void>((resolve) => out.once("drain", resolve));
      if ((await Promise.race([drained.then(() => "drain"), gone.then(() => "gone")])) === "gone") return sent;
    }
  }
  out.end();
  return sent;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no complete answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** POST over HTTP/1.1 with a Content-Length, unless `chunked`. */
export function http1Post(url: string, headers: Record<string, string>, body: RawBody, options: { chunked?: boolean; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const target = new URL(url);
  const all = { ...headers, ...(options.chunked === true ? {} : { "content-length": String(length(body)) }) };
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const req = http1Request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: "POST", headers: all, agent: false });
    let sentBeforeAnswer = -1;
    let sent = 0;
    let settled = false;
    const gone = new Promise<void>((done) => req.once("close", done));
    req.on("response", (response) => {
      sentBeforeAnswer = sent;
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        settled = true;
        req.destroy();
        resolve({ status: response.statusCode ?? 0, headers: flatten(response.headers), trailers: {}, body: Buffer.concat(chunks), sentBeforeAnswer, sent });
      });
      response.on("error", reject);
    });
    // A server that refuses a body may close the connection while it is still being sent: not a failure once answered.
    req.on("error", (error) => {
      if (!settled && sentBeforeAnswer < 0) reject(error);
    });
    void pump({ write: (c) => { sent += c.byteLength; return req.write(c); }, once: (e, l) => req.once(e, l), end: () => req.end() }, body, () => sentBeforeAnswer >= 0, gone)
      .catch(() => undefined);
  });
  return withTimeout(answer, options.timeoutMs ?? 60_000, `POST ${url}`);
}

/** POST over HTTP/2 without TLS (h2c, prior knowledge), as gRPC clients send it. */
export function http2Post(url: string, headers: Record<string, string>, body: RawBody, options: { timeoutMs?: number } = {}): Promise<RawAnswer> {
  const target = new URL(url);
  const session = http2Connect(target.origin);
  session.on("error", () => undefined);
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": target.pathname + target.search, ...headers }, { endStream: false });
    let sentBeforeAnswer = -1;
    let sent = 0;
    let status = 0;
    let responseHeaders: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    const gone = new Promise<void>((done) => stream.once("close", done));
    stream.on("response", (h) => {
      sentBeforeAnswer = sent;
      status = Number(h[":status"]);
      responseHeaders = flatten(h);
    });
    stream.on("trailers", (t) => {
      trailers = flatten(t);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    // The answer is complete when the server ends its side; it may then reset the stream (RST_STREAM NO_ERROR, RFC 9113 §8.1).
    stream.on("end", () => resolve({ status, headers: responseHeaders, trailers, body: Buffer.concat(chunks), sentBeforeAnswer, sent }));
    stream.on("error", (error) => {
      if (sentBeforeAnswer < 0) reject(error);
    });
    void gone.then(() => reject(new Error(`the stream closed without a complete answer (RST_STREAM code ${stream.rstCode})`)));
    void pump({ write: (c) => { sent += c.byteLength; return stream.write(c); }, once: (e, l) => stream.once(e, l), end: () => stream.end() }, body, () => sentBeforeAnswer >= 0, gone)
      .catch(() => undefined);
  });
  return withTimeout(answer, options.timeoutMs ?? 60_000, `POST ${url} over HTTP/2`).finally(() => session.destroy());
}

/** A gRPC / gRPC-Web / Connect streaming envelope header: flags, then the 32-bit big-endian length. */
export function envelopeHeader(flags: number, length: number): Uint8Array {
  const header = new Uint8Array(5);
  header[0] = flags;
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

/** One envelope holding `data`. */
export function envelope(flags: number, data: Uint8Array): Uint8Array {
  return Buffer.concat([envelopeHeader(flags, data.byteLength), data]);
}

/** The gRPC status of an answer: from its headers when it was trailers-only, else its HTTP/2 trailers, else (gRPC-Web) its trailer envelope. */
export function grpcStatus(answer: RawAnswer): { code: number | undefined; message: string; trailersOnly: boolean } {
  const decode = (m: string | undefined): string => decodeURIComponent(m ?? "");
  if (answer.headers["grpc-status"] !== undefined) {
    return { code: Number(answer.headers["grpc-status"]), message: decode(answer.headers["grpc-message"]), trailersOnly: answer.body.byteLength === 0 };
  }
  if (answer.trailers["grpc-status"] !== undefined) {
    return { code: Number(answer.trailers["grpc-status"]), message: decode(answer.trailers["grpc-message"]), trailersOnly: false };
  }
  let offset = 0;
  while (offset + 5 <= answer.body.byteLength) {
    const flags = answer.body[offset] as number;
    const size = answer.body.readUInt32BE(offset + 1);
    const data = answer.body.subarray(offset + 5, offset + 5 + size);
    offset += 5 + size;
    if ((flags & 0x80) === 0) continue;
    const fields = Object.fromEntries(data.toString("latin1").split("\r\n").filter((l) => l !== "").map((l) => {
      const colon = l.indexOf(":");
      return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
    }));
    return { code: fields["grpc-status"] === undefined ? undefined : Number(fields["grpc-status"]), message: decode(fields["grpc-message"]), trailersOnly: false };
  }
  return { code: undefined, message: "", trailersOnly: false };
}

/** The Connect error of a unary answer (`{"code": …, "message": …}`), or undefined for HTTP 200. */
export function connectError(answer: RawAnswer): { code: string; message: string } | undefined {
  if (answer.status === 200) return undefined;
  try {
    const json = JSON.parse(answer.body.toString("utf8")) as { code?: string; message?: string };
    return { code: json.code ?? `(HTTP ${answer.status}, no code)`, message: json.message ?? "" };
  } catch {
    return { code: `(HTTP ${answer.status}, not a Connect error body)`, message: answer.body.toString("utf8").slice(0, 200) };
  }
}
