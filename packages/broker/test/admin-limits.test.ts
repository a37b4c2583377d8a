import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ListTopicsRequestSchema, ListTopicsResponseSchema } from "@polywire/proto/admin";
import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { connectError, envelope, envelopeHeader, grpcStatus, http1Post, http2Post, type RawAnswer, type RawBody } from "../../conformance/src/planes/admin/raw-http.js";
import { Broker, type AdminAuthOptions } from "../src/index.js";
import { ADMIN_VARIANTS, adminClients, connectFailure } from "./admin-clients.js";

const ADMIN_TOKEN = "adm-limits-71c2e9";
const AUTH: AdminAuthOptions = { tokens: [{ token: ADMIN_TOKEN, principal: "ops", role: "admin" }] };
const LIST = "/polywire.v1.TopicService/ListTopics";
const MiB = 1024 * 1024;
const HUGE = 400 * MiB;
// What a client may have handed to its socket before the answer came, though
// the broker read none of it: the socket buffers of both ends on loopback.
const UNREAD_SLACK = 32 * MiB;

/** The three protocols, each as a raw POST of `body` (a message, or its envelopes) to `path`. */
const PROTOCOLS = [
  {
    name: "Connect (application/proto, HTTP/1.1)",
    send: (url: string, headers: Record<string, string>, body: RawBody) => http1Post(url, { "content-type": "application/proto", "connect-protocol-version": "1", ...headers }, body),
    enveloped: false,
    code: (answer: RawAnswer) => connectError(answer)?.code ?? "ok",
  },
  {
    name: "gRPC (HTTP/2, h2c)",
    send: (url: string, headers: Record<string, string>, body: RawBody) => http2Post(url, { "content-type": "application/grpc", te: "trailers", ...headers }, body),
    enveloped: true,
    code: (answer: RawAnswer) => grpcCodeName(grpcStatus(answer).code),
  },
  {
    name: "gRPC-Web (HTTP/1.1, chunked)",
    send: (url: string, headers: Record<string, string>, body: RawBody) => http1Post(url, { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers }, body, { chunked: true }),
    enveloped: true,
    code: (answer: RawAnswer) => grpcCodeName(grpcStatus(answer).code),
  },
] as const;

/** `resource_exhausted` for gRPC status 8: the names Connect uses. */
function grpcCodeName(code: number | undefined): string {
  if (code === undefined) return "(no grpc-status)";
  if (code === 0) return "ok";
  return (Code[code] ?? String(code)).replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/** A body of `total` message bytes, enveloped for gRPC and gRPC-Web: the envelope header declares them all up front. */
function hugeBody(enveloped: boolean, total: number): RawBody {
  const chunk = new Uint8Array(MiB).fill(0x08); // field 1, varint, over and over: would decode, if ever read
  return enveloped ? { prefix: envelopeHeader(0, total), chunk, total: total + 5 } : { chunk, total };
}

/** Peak growth of the process's RSS and ArrayBuffer memory while `work` runs, sampled every 20 ms. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; rss: number; arrayBuffers: number }> {
  const base = process.memoryUsage();
  let rss = 0;
  let arrayBuffers = 0;
  const sample = (): void => {
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss - base.rss);
    arrayBuffers = Math.max(arrayBuffers, now.arrayBuffers - base.arrayBuffers);
  };
  const timer = setInterval(sample, 20);
  try {
    const result = await work();
    sample();
    return { result, rss, arrayBuffers };
  } finally {
    clearInterval(timer);
  }
}

/** A ListTopicsRequest of exactly `size` bytes: a real field and an unknown one padding it out. */
function listTopicsOfSize(size: number): Uint8Array {
  for (let pad = size - 5; pad > 0; pad--) {
    const data = Buffer.concat([varint(pad), Buffer.alloc(pad, 0x61)]);
    const message = create(ListTopicsRequestSchema, { includeInternal: true });
    message.$unknown = [{ no: 1000, wireType: 2, data }];
    const bytes = toBinary(ListTopicsRequestSchema, message);
    if (bytes.byteLength === size) return bytes;
  }
  throw new Error(`no padding gives ${size} bytes`);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

describe("admin request bodies: credentials first, bounded, and decoded strictly", () => {
  for (const protocol of PROTOCOLS) {
    it(`PW-ADMIN-050: ${protocol.name}: a 400 MB body without credentials is refused from its headers, unread`, { timeout: 120_000 }, async () => {
      await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, adminAuth: AUTH });
      const { result: answer, rss, arrayBuffers } = await peakGrowth(() => protocol.send(`${broker.httpUrl}${LIST}`, {}, hugeBody(protocol.enveloped, HUGE)));
      expect(protocol.code(answer)).toBe("unauthenticated");
      expect(answer.sentBeforeAnswer).toBeLessThan(UNREAD_SLACK);
      expect(answer.sent).toBeLessThan(HUGE / 2);
      expect(arrayBuffers).toBeLessThan(16 * MiB);
      expect(rss).toBeLessThan(100 * MiB);
    });

    it(`PW-ADMIN-051: ${protocol.name}: an admin's 400 MB body is resource_exhausted once past the limit, not read to its end`, { timeout: 120_000 }, async () => {
      await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, adminAuth: AUTH });
      const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const { result: answer, rss, arrayBuffers } = await peakGrowth(() => protocol.send(`${broker.httpUrl}${LIST}`, headers, hugeBody(protocol.enveloped, HUGE)));
      expect(protocol.code(answer)).toBe("resource_exhausted");
      expect(answer.sent).toBeLessThan(HUGE / 2);
      expect(arrayBuffers).toBeLessThan(32 * MiB);
      expect(rss).toBeLessThan(150 * MiB);
      // The broker still serves.
      expect(protocol.code(await protocol.send(`${broker.httpUrl}${LIST}`, headers, protocol.enveloped ? envelope(0, new Uint8Array(0)) : new Uint8Array(0)))).toBe("ok");
    });

    it(`PW-ADMIN-051: ${protocol.name}: a message of exactly the limit is served, one byte more is resource_exhausted`, async () => {
      const limit = 64 * 1024;
      await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "t", partitions: 1 }], http: { port: 0, maxRequestBytes: limit } });
      const wrap = (m: Uint8Array): Uint8Array => (protocol.enveloped ? envelope(0, m) : m);
      const served = await protocol.send(`${broker.httpUrl}${LIST}`, {}, wrap(listTopicsOfSize(limit)));
      expect(protocol.code(served)).toBe("ok");
      if (!protocol.enveloped) expect(fromBinary(ListTopicsResponseSchema, served.body).topics.map((t) => t.name)).toEqual(["t"]);
      const over = await protocol.send(`${broker.httpUrl}${LIST}`, {}, wrap(listTopicsOfSize(limit + 1)));
      expect(protocol.code(over)).toBe("resource_exhausted");
    });

    it(`PW-ADMIN-052: ${protocol.name}: bytes that are not the request message, plain or compressed, are invalid_argument`, async () => {
      await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
      const url = `${broker.httpUrl}${LIST}`;
      const truncated = Uint8Array.of(0x0a, 0x05, 0x61); // field 1, length 5, one byte of it
      const badWireType = Uint8Array.of(0x0f); // field 1 with wire type 7, which does not exist
      const encoding = protocol.enveloped ? "grpc-encoding" : "content-encoding";
      const cases: Array<[string, RawBody, Record<string, string>]> = protocol.enveloped
        ? [
          ["a truncated field", envelope(0, truncated), {}],
          ["an invalid wire type", envelope(0, badWireType), {}],
          ["a gzip message that inflates to a truncated field", envelope(1, gzipSync(truncated)), { [encoding]: "gzip" }],
          ["a truncated gzip stream", envelope(1, gzipSync(listTopicsOfSize(100)).subarray(0, 20)), { [encoding]: "gzip" }],
          ["a compressed flag without an encoding", envelope(1, listTopicsOfSize(10)), {}],
        ]
        : [
          ["a truncated field", truncated, {}],
          ["an invalid wire type", badWireType, {}],
          ["a gzip body that inflates to a truncated field", gzipSync(truncated), { [encoding]: "gzip" }],
          ["a truncated gzip stream", gzipSync(listTopicsOfSize(100)).subarray(0, 20), { [encoding]: "gzip" }],
        ];
      for (const [what, body, headers] of cases) {
        const answer = await protocol.send(url, headers, body);
        expect(protocol.code(answer), what).toBe("invalid_argument");
      }
    });

    it(`PW-ADMIN-053: ${protocol.name}: an unknown service or method is unimplemented${protocol.enveloped ? ", trailers-only" : " (HTTP 404)"}`, async () => {
      await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, adminAuth: AUTH });
      for (const path of ["/polywire.v1.TopicService/NoSuchMethod", "/no.such.v1.Service/Call"]) {
        const answer = await protocol.send(`${broker.httpUrl}${path}`, {}, protocol.enveloped ? envelope(0, new Uint8Array(0)) : new Uint8Array(0));
        if (protocol.enveloped) {
          expect(answer.status, path).toBe(200);
          expect(grpcStatus(answer), path).toEqual({ code: 12, message: expect.stringContaining(path), trailersOnly: true });
        } else {
          expect(answer.status, path).toBe(404);
        }
      }
    });
  }

  it("PW-ADMIN-052: Connect GET with a message that is not the request message is invalid_argument", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    const message = Buffer.from([0x0a, 0x05, 0x61]).toString("base64url");
    const response = await fetch(`${broker.httpUrl}${LIST}?connect=v1&encoding=proto&base64=1&message=${message}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("invalid_argument");
  });

  for (const variant of ADMIN_VARIANTS) {
    it(`PW-ADMIN-051: ${variant.name}: a request over the default limit of 4 MiB is resource_exhausted`, async () => {
      await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, adminAuth: AUTH });
      const clients = adminClients(broker.httpUrl as string, variant);
      try {
        const tooBig = { name: "x".repeat(4 * MiB + 1), partitions: 1 };
        const refused = await connectFailure(clients.topics.createTopic(tooBig, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }), Code.ResourceExhausted);
        expect(refused.rawMessage).toContain(String(4 * MiB));
        expect((await clients.topics.listTopics({}, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).topics).toEqual([]);
      } finally {
        clients.close();
      }
    });
  }

  it("PW-ADMIN-051: the limit must be a whole number of bytes from 1 KiB to 4 GiB - 1", async () => {
    for (const bad of [0, 1023, 1.5, 2 ** 32, Number.NaN]) {
      await expect(Broker.start({ storage: { engine: "memory" }, listeners: ["tcp://127.0.0.1:0"], http: { port: 0, maxRequestBytes: bad } }), String(bad)).rejects.toThrow(/http\.maxRequestBytes/);
    }
  });
});
