import { Code, ConnectError } from "@connectrpc/connect";
import { check, checkEqual, ClauseViolation } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { createAdminClient } from "../../wire/admin-client.js";

/** A Connect unary call with the fetch API and JSON, an optional `authorization` header: the Connect error code and message, or the answer. */
async function call(base: string, path: string, body: unknown, authorization: string | undefined): Promise<{ status: number; code: string | undefined; message: string; json: unknown }> {
  const headers: Record<string, string> = { "content-type": "application/json", "connect-protocol-version": "1" };
  if (authorization !== undefined) headers.authorization = authorization;
  const response = await fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const error = response.status === 200 ? undefined : (json as { code?: string; message?: string } | undefined);
  return { status: response.status, code: error?.code, message: error?.message ?? (response.status === 200 ? "" : text.slice(0, 200)), json };
}

function expectRefused(clause: string, answer: Awaited<ReturnType<typeof call>>, code: "unauthenticated" | "permission_denied", errorName: string, secret: string, what: string): void {
  checkEqual(clause, answer.code, code, `${what}: Connect error code (HTTP ${answer.status}, ${JSON.stringify(answer.message)})`);
  check("PW-ERR-005", answer.message.includes(errorName), `${what}: the message ${JSON.stringify(answer.message)} does not name ${errorName}`);
  check("PW-ADMIN-046", !answer.message.includes(secret), `${what}: the message repeats the presented token`);
}

const LIST = "/polywire.v1.TopicService/ListTopics";
const HEALTH = "/polywire.v1.ClusterService/GetHealth";
const CREATE = "/polywire.v1.TopicService/CreateTopic";
const DELETE = "/polywire.v1.TopicService/DeleteTopic";

/**
 * Admin authentication, black-box: the target gives an admin listener that
 * requires credentials, an admin token, and, if it has that role, a token
 * that may only read. Every refusal must carry the Connect code, the
 * ErrorCode name and never the token; refused calls must change nothing.
 */
export const adminAuthentication: ConformanceCase = {
  id: "admin/authentication",
  title: "With admin authentication, RPCs without valid bearer credentials are unauthenticated, a read-only principal's state changes are permission_denied and change nothing, and valid credentials work over Connect and gRPC",
  plane: "admin",
  clauses: ["PW-ADMIN-003", "PW-ADMIN-046", "PW-ERR-005"],
  async run(ctx) {
    const credentials = await ctx.target.authenticatedAdmin();
    ctx.defer(() => credentials.close());
    const { url, adminToken, viewerToken } = credentials;
    const wrong = `wrong-${ctx.seed}-${Date.now()}`;
    expectRefused("PW-ADMIN-003", await call(url, HEALTH, {}, undefined), "unauthenticated", "ERROR_CODE_AUTHENTICATION_FAILED", adminToken, "GetHealth without credentials");
    expectRefused("PW-ADMIN-003", await call(url, LIST, {}, `Bearer ${wrong}`), "unauthenticated", "ERROR_CODE_AUTHENTICATION_FAILED", wrong, "ListTopics with an unknown bearer token");
    expectRefused("PW-ADMIN-046", await call(url, LIST, {}, `Basic ${btoa(`admin:${adminToken}`)}`), "unauthenticated", "ERROR_CODE_AUTHENTICATION_FAILED", adminToken, "ListTopics with the admin token as Basic credentials");

    const name = `cfauth-${ctx.seed}-${process.pid}`;
    const admin = `Bearer ${adminToken}`;
    const listed = async (): Promise<string[]> => {
      const answer = await call(url, LIST, {}, admin);
      checkEqual("PW-ADMIN-046", answer.status, 200, `ListTopics with the admin token (${answer.code ?? ""} ${answer.message})`);
      return ((answer.json as { topics?: Array<{ name: string }> }).topics ?? []).map((t) => t.name);
    };
    const anonymousCreate = await call(url, CREATE, { name, partitions: 1 }, undefined);
    expectRefused("PW-ADMIN-003", anonymousCreate, "unauthenticated", "ERROR_CODE_AUTHENTICATION_FAILED", adminToken, "CreateTopic without credentials");
    check("PW-ADMIN-003", !(await listed()).includes(name), "CreateTopic without credentials was refused but created the topic");

    if (viewerToken === undefined) {
      ctx.note("no read-only token given (--admin-viewer-token): permission_denied not checked");
    } else {
      const viewer = `Bearer ${viewerToken}`;
      const read = await call(url, LIST, {}, viewer);
      checkEqual("PW-ADMIN-046", read.status, 200, `ListTopics (NO_SIDE_EFFECTS) with the read-only token (${read.code ?? ""} ${read.message})`);
      expectRefused("PW-ADMIN-003", await call(url, CREATE, { name, partitions: 1 }, viewer), "permission_denied", "ERROR_CODE_NOT_AUTHORIZED", viewerToken, "CreateTopic with the read-only token");
      check("PW-ADMIN-003", !(await listed()).includes(name), "CreateTopic with the read-only token was refused but created the topic");
    }

    // The same header as gRPC metadata: the runner's admin client over gRPC (HTTP/2).
    await using grpc = createAdminClient(url, { protocol: "grpc", token: adminToken });
    await using anonymous = createAdminClient(url, { protocol: "grpc" });
    try {
      await anonymous.listTopics();
      throw new ClauseViolation("PW-ADMIN-003", "ListTopics over gRPC without credentials succeeded");
    } catch (error) {
      if (error instanceof ClauseViolation) throw error;
      checkEqual("PW-ADMIN-003", Code[ConnectError.from(error).code], "Unauthenticated", "gRPC ListTopics without credentials: status");
    }
    await grpc.createTopic(name, { partitions: 1 });
    check("PW-ADMIN-046", (await listed()).includes(name), "CreateTopic over gRPC with the admin token succeeded but the topic is not listed");
    const deleted = await call(url, DELETE, { name }, admin);
    checkEqual("PW-ADMIN-046", deleted.status, 200, `DeleteTopic with the admin token (${deleted.code ?? ""} ${deleted.message})`);
  },
};
