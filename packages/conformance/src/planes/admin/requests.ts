import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { ListTopicsRequestSchema } from "@polywire/proto/admin";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { adminHeaders, adminUrl } from "./access.js";
import { connectError, envelope, envelopeHeader, grpcStatus, http1Post, http2Post, type RawAnswer, type RawBody } from "./raw-http.js";

const LIST = "/polywire.v1.TopicService/ListTopics";
const CREATE = "/polywire.v1.TopicService/CreateTopic";
const MiB = 1024 * 1024;
/** The request limit of a broker run with its defaults (PW-ADMIN-051). */
const DEFAULT_LIMIT = 4 * MiB;
/** A body far over any limit, declared up front; a broker that refuses it unread answers before a fraction is sent. */
const LARGE = 64 * MiB;
/** What a client can hand to its socket before an answer arrives though the broker read none of it: both ends' socket buffers. */
const UNREAD_SLACK = 16 * MiB;

const connectProto = { "content-type": "application/proto", "connect-protocol-version": "1" };
const grpc = { "content-type": "application/grpc", te: "trailers" };
const grpcWeb = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };

/** A ListTopicsRequest of exactly `size` bytes: `include_internal` and an unknown field padding it out, which a broker must skip. */
function listTopicsOfSize(size: number): Uint8Array {
  for (let pad = size - 5; pad > 0; pad--) {
    const length: number[] = [];
    for (let v = pad; ; v = Math.floor(v / 128)) {
      length.push(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
      if (v < 0x80) break;
    }
    const message = create(ListTopicsRequestSchema, { includeInternal: true });
    message.$unknown = [{ no: 1000, wireType: 2, data: Buffer.concat([Buffer.from(length), Buffer.alloc(pad, 0x61)]) }];
    const bytes = toBinary(ListTopicsRequestSchema, message);
    if (bytes.byteLength === size) return bytes;
  }
  throw new Error(`no ListTopicsRequest of ${size} bytes`);
}

function huge(enveloped: boolean): RawBody {
  const chunk = new Uint8Array(MiB);
  return enveloped ? { prefix: envelopeHeader(0, LARGE), chunk, total: LARGE + 5 } : { chunk, total: LARGE };
}

/** The Connect code name of an answer, from a Connect error body or a gRPC status. */
function codeOf(answer: RawAnswer, protocol: "connect" | "grpc"): string {
  if (protocol === "connect") return connectError(answer)?.code ?? "ok";
  const names: Record<number, string> = { 0: "ok", 3: "invalid_argument", 5: "not_found", 7: "permission_denied", 8: "resource_exhausted", 12: "unimplemented", 13: "internal", 16: "unauthenticated" };
  const code = grpcStatus(answer).code;
  return code === undefined ? `(no grpc-status; HTTP ${answer.status})` : (names[code] ?? `grpc-status ${code}`);
}

function expectUnread(clause: string, answer: RawAnswer, what: string): void {
  check(clause, answer.sentBeforeAnswer < UNREAD_SLACK, `${what}: the broker answered only after ${Math.round(answer.sentBeforeAnswer / MiB)} MiB of a ${LARGE / MiB} MiB body had been sent (it read the body it refused)`);
}

const refusedUnread: ConformanceCase = {
  id: "admin/refused-unread",
  title: "With admin authentication, a request without valid credentials or permission is refused from its headers, before its body (declared 64 MiB) is read, over Connect and gRPC",
  plane: "admin",
  clauses: ["PW-ADMIN-050", "PW-ADMIN-003", "PW-ADMIN-046"],
  timeoutMs: 60_000,
  async run(ctx) {
    const credentials = await ctx.target.authenticatedAdmin();
    ctx.defer(() => credentials.close());
    const { url, viewerToken } = credentials;
    const anonymous = await http1Post(`${url}${LIST}`, connectProto, huge(false));
    checkEqual("PW-ADMIN-050", codeOf(anonymous, "connect"), "unauthenticated", "Connect ListTopics with a 64 MiB body and no credentials");
    expectUnread("PW-ADMIN-050", anonymous, "Connect without credentials");
    const overGrpc = await http2Post(`${url}${LIST}`, grpc, huge(true));
    checkEqual("PW-ADMIN-050", codeOf(overGrpc, "grpc"), "unauthenticated", "gRPC ListTopics with a 64 MiB message and no credentials");
    expectUnread("PW-ADMIN-050", overGrpc, "gRPC without credentials");
    if (viewerToken === undefined) {
      ctx.note("no read-only token given (--admin-viewer-token): permission before the body not checked");
      return;
    }
    const viewer = await http2Post(`${url}${CREATE}`, { ...grpc, authorization: `Bearer ${viewerToken}` }, huge(true));
    checkEqual("PW-ADMIN-050", codeOf(viewer, "grpc"), "permission_denied", "gRPC CreateTopic with a 64 MiB message and a read-only token");
    expectUnread("PW-ADMIN-050", viewer, "gRPC CreateTopic with a read-only token");
  },
};

const requestLimit: ConformanceCase = {
  id: "admin/request-limit",
  title: "A broker run with its defaults serves an admin request message of exactly 4 MiB and answers one byte more with resource_exhausted; a message declared larger is refused at its length, unread",
  plane: "admin",
  clauses: ["PW-ADMIN-051"],
  needs: ["admin", "defaultConfig"],
  timeoutMs: 60_000,
  async run(ctx) {
    const base = adminUrl(ctx);
    const headers = adminHeaders(ctx);
    const exact = listTopicsOfSize(DEFAULT_LIMIT);
    const over = listTopicsOfSize(DEFAULT_LIMIT + 1);
    checkEqual("PW-ADMIN-051", codeOf(await http1Post(`${base}${LIST}`, { ...connectProto, ...headers }, exact), "connect"), "ok", "Connect ListTopics of exactly 4 MiB");
    checkEqual("PW-ADMIN-051", codeOf(await http1Post(`${base}${LIST}`, { ...connectProto, ...headers }, over), "connect"), "resource_exhausted", "Connect ListTopics of 4 MiB + 1 byte");
    checkEqual("PW-ADMIN-051", codeOf(await http2Post(`${base}${LIST}`, { ...grpc, ...headers }, envelope(0, exact)), "grpc"), "ok", "gRPC ListTopics of exactly 4 MiB");
    checkEqual("PW-ADMIN-051", codeOf(await http2Post(`${base}${LIST}`, { ...grpc, ...headers }, envelope(0, over)), "grpc"), "resource_exhausted", "gRPC ListTopics of 4 MiB + 1 byte");
    const declared = await http2Post(`${base}${LIST}`, { ...grpc, ...headers }, huge(true));
    checkEqual("PW-ADMIN-051", codeOf(declared, "grpc"), "resource_exhausted", "gRPC ListTopics whose envelope declares 64 MiB");
    expectUnread("PW-ADMIN-051", declared, "gRPC message declared 64 MiB");
    const connectDeclared = await http1Post(`${base}${LIST}`, { ...connectProto, ...headers }, huge(false));
    checkEqual("PW-ADMIN-051", codeOf(connectDeclared, "connect"), "resource_exhausted", "Connect ListTopics with Content-Length 64 MiB");
    expectUnread("PW-ADMIN-051", connectDeclared, "Connect body of Content-Length 64 MiB");
  },
};

const malformed: ConformanceCase = {
  id: "admin/malformed-requests",
  title: "Request bytes that are not the method's input message (truncated, a wire type that does not exist, bad gzip, a compressed flag without an encoding) are invalid_argument over Connect, gRPC and gRPC-Web; an unknown gRPC method is a trailers-only UNIMPLEMENTED",
  plane: "admin",
  clauses: ["PW-ADMIN-052", "PW-ADMIN-053", "PW-ADMIN-002"],
  needs: ["admin"],
  async run(ctx) {
    const base = adminUrl(ctx);
    const auth = adminHeaders(ctx);
    const truncated = Uint8Array.of(0x0a, 0x05, 0x61);
    const noSuchWireType = Uint8Array.of(0x0f);
    const badGzip = gzipSync(listTopicsOfSize(100)).subarray(0, 20);
    const cases: Array<[string, () => Promise<RawAnswer>, "connect" | "grpc"]> = [
      ["Connect, a truncated field", () => http1Post(`${base}${LIST}`, { ...connectProto, ...auth }, truncated), "connect"],
      ["Connect, a wire type that does not exist", () => http1Post(`${base}${LIST}`, { ...connectProto, ...auth }, noSuchWireType), "connect"],
      ["Connect, a truncated gzip body", () => http1Post(`${base}${LIST}`, { ...connectProto, ...auth, "content-encoding": "gzip" }, badGzip), "connect"],
      ["gRPC, a truncated field", () => http2Post(`${base}${LIST}`, { ...grpc, ...auth }, envelope(0, truncated)), "grpc"],
      ["gRPC, a gzip message that inflates to a truncated field", () => http2Post(`${base}${LIST}`, { ...grpc, ...auth, "grpc-encoding": "gzip" }, envelope(1, gzipSync(truncated))), "grpc"],
      ["gRPC, a compressed flag without grpc-encoding", () => http2Post(`${base}${LIST}`, { ...grpc, ...auth }, envelope(1, listTopicsOfSize(10))), "grpc"],
      ["gRPC-Web, a wire type that does not exist", () => http1Post(`${base}${LIST}`, { ...grpcWeb, ...auth }, envelope(0, noSuchWireType)), "grpc"],
    ];
    for (const [what, send, protocol] of cases) {
      checkEqual("PW-ADMIN-052", codeOf(await send(), protocol), "invalid_argument", `ListTopics: ${what}`);
    }
    for (const [what, answer] of [
      ["gRPC", await http2Post(`${base}/polywire.v1.TopicService/NoSuchMethod`, { ...grpc, ...auth }, envelope(0, new Uint8Array(0)))],
      ["gRPC-Web", await http1Post(`${base}/no.such.v1.Service/Call`, { ...grpcWeb, ...auth }, envelope(0, new Uint8Array(0)))],
    ] as const) {
      const status = grpcStatus(answer);
      checkEqual("PW-ADMIN-053", [answer.status, status.code], [200, 12], `${what} call of an unknown method: HTTP status and grpc-status`);
      check("PW-ADMIN-053", status.trailersOnly, `${what} call of an unknown method: the status is not in a trailers-only answer (its headers, no body)`);
    }
    const connectUnknown = await http1Post(`${base}/polywire.v1.TopicService/NoSuchMethod`, { ...connectProto, ...auth }, new Uint8Array(0));
    checkEqual("PW-ADMIN-053", connectUnknown.status, 404, "Connect call of an unknown method: HTTP status");
  },
};

/** How the admin listener reads requests (§11.6, §11.7). */
export const requestCases: readonly ConformanceCase[] = [refusedUnread, requestLimit, malformed];
