import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { integerSetting } from "../config/errors.js";
import { adminError } from "./errors.js";

/** The largest admin request message the broker reads by default (PW-ADMIN-051): 4 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Checks the `http.maxRequestBytes` setting, or gives the default. */
export function resolveMaxRequestBytes(value: number | undefined): number {
  return integerSetting("http.maxRequestBytes", value ?? DEFAULT_MAX_REQUEST_BYTES, 1024, 0xffff_ffff, "a whole number of bytes");
}

/** The compressions the admin listener accepts, as Connect and gRPC name them. */
export const ACCEPTED_COMPRESSIONS: readonly Compression[] = [compressionGzip, compressionBrotli];

/** How the request messages of a content type travel, in which format, and which header names their compression. */
type Framing = { readonly enveloped: boolean; readonly binary: boolean; readonly encodingHeader: string };

const FRAMINGS: Readonly<Record<string, Framing>> = {
  "application/proto": { enveloped: false, binary: true, encodingHeader: "content-encoding" },
  "application/json": { enveloped: false, binary: false, encodingHeader: "content-encoding" },
  "application/connect+proto": { enveloped: true, binary: true, encodingHeader: "connect-content-encoding" },
  "application/connect+json": { enveloped: true, binary: false, encodingHeader: "connect-content-encoding" },
  "application/grpc": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc+proto": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc+json": { enveloped: true, binary: false, encodingHeader: "grpc-encoding" },
  "application/grpc-web": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc-web+proto": { enveloped: true, binary: true, encodingHeader: "grpc-encoding" },
  "application/grpc-web+json": { enveloped: true, binary: false, encodingHeader: "grpc-encoding" },
};

/** Unknown content types are Connect's to refuse (unsupported media type) before it reads a body. */
function framingOf(contentType: string | null): Framing | undefined {
  return FRAMINGS[(contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? ""];
}

function tooLarge(size: number | undefined, limit: number): ConnectError {
  const what = size === undefined ? "request message is" : `request message of ${size} bytes is`;
  return new ConnectError(`${what} larger than the admin listener's limit of ${limit} bytes (broker setting http.maxRequestBytes)`, Code.ResourceExhausted);
}

/**
 * The chunks of a request body, pulled without ever closing the body: when
 * reading stops early (a refusal), closing it would destroy an HTTP/1.1
 * request's socket before the refusal is written. The listener ends such a
 * request's connection or stream itself once the answer is out.
 */
async function* chunksOf(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return;
    yield next.value;
  }
}

function decode(input: DescMessage, bytes: Uint8Array): void {
  try {
    fromBinary(input, bytes);
  } catch (error) {
    throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", `the request is not a valid ${input.typeName} in the protobuf binary format: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function inflate(compression: Compression, bytes: Uint8Array, limit: number): Promise<Uint8Array> {
  try {
    return await compression.decompress(bytes, limit);
  } catch (error) {
    const connectError = ConnectError.from(error);
    if (connectError.code === Code.ResourceExhausted) throw tooLarge(undefined, limit);
    throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", `the request is not valid ${compression.name}: ${connectError.rawMessage}`);
  }
}

/**
 * Reads a Connect unary body whole, keeping only the bytes that arrived
 * (never a buffer sized by the Content-Length the client claims), and
 * refuses it as soon as it passes `limit`.
 */
async function readBody(body: AsyncIterable<Uint8Array>, limit: number, declared: string | null): Promise<Uint8Array> {
  if (declared !== null && Number(declared) > limit) throw tooLarge(Number(declared), limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunksOf(body)) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(size, limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Splits an enveloped body (gRPC, gRPC-Web, Connect streaming: a flags
 * byte, a 32-bit length, the message) into whole envelopes, header
 * included. An envelope announcing more than `limit` is refused at its
 * header, before its bytes are read; bytes are kept only as they arrive.
 */
async function* envelopes(body: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  // Chunks as they arrived, joined once per envelope (not once per chunk).
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunksOf(body)) {
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    size += chunk.byteLength;
    while (size >= 5) {
      if ((parts[0] as Buffer).byteLength < 5) parts = [Buffer.concat(parts, size)];
      const length = (parts[0] as Buffer).readUInt32BE(1);
      if (length > limit) throw tooLarge(length, limit);
      if (size < 5 + length) break;
      const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
      yield all.subarray(0, 5 + length);
      parts = size > 5 + length ? [all.subarray(5 + length)] : [];
      size -= 5 + length;
    }
  }
  if (size > 0) throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", `the request ends inside a message: ${size} bytes of an incomplete envelope`);
}

/**
 * The request with a body that Connect can parse without surprises
 * (PW-ADMIN-051, PW-ADMIN-052): every message is held to `limit` bytes
 * (after decompression too) and is checked to decode as `input` before
 * Connect sees it, so that malformed bytes are `invalid_argument` (Connect
 * itself reports a binary parse failure as `internal`). An error thrown here
 * surfaces through Connect in the request's own protocol; `onRefused` runs
 * first, while the answer's headers can still be set.
 */
export function checkedRequest(request: UniversalServerRequest, input: DescMessage, limit: number, onRefused: () => void): UniversalServerRequest {
  const framing = framingOf(request.header.get("content-type"));
  if (framing === undefined || request.method !== "POST") return request;
  const encoding = request.header.get(framing.encodingHeader);
  const compression = encoding === null || encoding === "identity" ? null : ACCEPTED_COMPRESSIONS.find((c) => c.name === encoding);
  // An encoding the broker does not know: Connect refuses it (unimplemented) before reading a message.
  if (compression === undefined) return request;
  const source = request.body as AsyncIterable<Uint8Array>;
  // JSON that does not parse Connect reports as invalid_argument itself; only its size is checked here.
  const check = async (bytes: Uint8Array, compressed: boolean): Promise<void> => {
    const plain = compressed && compression !== null ? await inflate(compression, bytes, limit) : bytes;
    if (framing.binary) decode(input, plain);
  };
  async function* checked(): AsyncGenerator<Uint8Array> {
    if (!framing?.enveloped) {
      const bytes = await readBody(source, limit, request.header.get("content-length"));
      await check(bytes, true);
      yield bytes;
      return;
    }
    for await (const envelope of envelopes(source, limit)) {
      const flags = envelope[0] as number;
      const data = envelope.subarray(5);
      if ((flags & ~0x01) === 0) {
        if ((flags & 0x01) !== 0 && compression === null) {
          throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", `a message is flagged compressed but the request names no encoding (${framing.encodingHeader})`);
        }
        await check(data, (flags & 0x01) !== 0);
      }
      yield envelope;
    }
  }
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      yield* checked();
    } catch (error) {
      onRefused();
      throw error;
    }
  }
  return { ...request, body: body() };
}

/**
 * Checks the message of a Connect GET request (PW-ADMIN-052), carried in
 * the query string (bounded by the HTTP header limit) as `message`, with
 * `encoding`, `base64` and `compression` parameters.
 */
export async function checkGetMessage(url: URL, input: DescMessage, limit: number): Promise<void> {
  const query = url.searchParams;
  if (query.get("encoding") !== "proto") return;
  const text = query.get("message") ?? "";
  let bytes: Uint8Array;
  try {
    bytes = query.get("base64") === "1" ? base64Decode(text) : new TextEncoder().encode(text);
  } catch (error) {
    throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", `the message parameter is not base64: ${error instanceof Error ? error.message : String(error)}`);
  }
  const name = query.get("compression");
  const compression = name === null || name === "identity" ? null : ACCEPTED_COMPRESSIONS.find((c) => c.name === name);
  if (compression === undefined) return;
  decode(input, compression === null ? bytes : await inflate(compression, bytes, limit));
}
