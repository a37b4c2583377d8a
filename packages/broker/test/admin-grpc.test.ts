import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ServerReflection as ServerReflectionV1Alpha, type ServerReflectionResponse } from "@polywire/proto/grpc/reflection/v1alpha/reflection";
import { Feature } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { describe, expect, it } from "vitest";
import { Broker, type AdminAuthOptions } from "../src/index.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
// Installed by `node scripts/toolchain.mjs` at the version it pins.
const GRPCURL = `${ROOT}.cache/bin/grpcurl`;
const PYTHON = `${ROOT}.venv/bin/python`;
const PYTHON_GRPC_ADMIN = `${ROOT}examples/python-grpc-admin/grpc_admin.py`;
const ADMIN_TOKEN = "adm-grpc-5d1f0b";
const AUTH: AdminAuthOptions = { tokens: [{ token: ADMIN_TOKEN, principal: "ops", role: "admin" }] };
const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "polywire.v1.ClusterService",
  "polywire.v1.GroupService",
  "polywire.v1.MetricsService",
  "polywire.v1.TopicService",
];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(file: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env } }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(new Error(`${file} did not run (${error.message}); the pinned tools come from \`node scripts/toolchain.mjs\`\n${stderr}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** `host:port` of the broker's admin listener, as gRPC tools take it. */
function target(broker: Broker): string {
  return new URL(broker.httpUrl as string).host;
}

/** `grpcurl -plaintext [flags] host:port command...`: flags before the address, the command (list, describe X, a method) after. */
function grpcurl(broker: Broker, command: readonly string[], flags: readonly string[] = []): Promise<Run> {
  return exec(GRPCURL, ["-plaintext", "-max-time", "30", ...flags, target(broker), ...command]);
}

/** The `status` values grpcurl has printed so far, one JSON object per message. */
function statuses(text: string): string[] {
  return [...text.matchAll(/"status": "([A-Z_]+)"/g)].map((m) => m[1] as string);
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("third-party gRPC clients of the admin listener", () => {
  it("PW-ADMIN-056: grpcurl lists, describes and calls the admin services through server reflection alone", { timeout: 120_000 }, async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "already-there", partitions: 2 }], http: { port: 0 } });
    const listed = await grpcurl(broker, ["list"]);
    expect(listed.stderr).toBe("");
    expect(listed.stdout.trim().split("\n")).toEqual(SERVICES);
    const service = await grpcurl(broker, ["describe", "polywire.v1.TopicService"]);
    expect(service.stdout).toContain("rpc CreateTopic ( .polywire.v1.CreateTopicRequest ) returns ( .polywire.v1.CreateTopicResponse );");
    expect(service.stdout).toMatch(/rpc ListTopics \( \.polywire\.v1\.ListTopicsRequest \) returns \( \.polywire\.v1\.ListTopicsResponse \) \{\s+option idempotency_level = NO_SIDE_EFFECTS;/);
    const message = await grpcurl(broker, ["describe", "polywire.v1.CreateTopicRequest"]);
    expect(message.stdout).toContain("map<string, string> config = 3;");
    // A message declared in an imported file: reflection sends the dependencies too.
    expect((await grpcurl(broker, ["describe", "polywire.v1.TopicPartitions"])).code).toBe(0);

    const created = await grpcurl(broker, ["polywire.v1.TopicService/CreateTopic"], ["-d", '{"name": "via-grpcurl", "partitions": 3}']);
    expect([created.code, created.stderr]).toEqual([0, ""]);
    const topic = (JSON.parse(created.stdout) as { topic: { name: string; partitioner: string; partitions: unknown[] } }).topic;
    expect([topic.name, topic.partitioner, topic.partitions.length]).toEqual(["via-grpcurl", "murmur2", 3]);
    const names = (JSON.parse((await grpcurl(broker, ["polywire.v1.TopicService/ListTopics"])).stdout) as { topics: Array<{ name: string }> }).topics.map((t) => t.name);
    expect(names).toEqual(["already-there", "via-grpcurl"]);
    const again = await grpcurl(broker, ["polywire.v1.TopicService/CreateTopic"], ["-d", '{"name": "via-grpcurl"}']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/Code: AlreadyExists\s+Message: ERROR_CODE_TOPIC_ALREADY_EXISTS/);
  });

  it("PW-ADMIN-050/PW-ADMIN-054/PW-ADMIN-056: with admin authentication, reflection and calls need the bearer token; the health service needs none", { timeout: 120_000 }, async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, adminAuth: AUTH });
    const anonymous = await grpcurl(broker, ["list"]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain("ERROR_CODE_AUTHENTICATION_FAILED");
    const bearer = ["-H", `authorization: Bearer ${ADMIN_TOKEN}`];
    expect((await grpcurl(broker, ["list"], bearer)).stdout.trim().split("\n")).toEqual(SERVICES);
    const created = await grpcurl(broker, ["polywire.v1.TopicService/CreateTopic"], [...bearer, "-d", '{"name": "token-made"}']);
    expect([created.code, created.stderr]).toEqual([0, ""]);
    // Probes carry no secret: the health service answers without one, as /readyz does (it needs its proto then, or reflection with the token).
    const health = await exec(GRPCURL, ["-plaintext", "-import-path", `${ROOT}node_modules/grpc-health-check/proto`, "-proto", "health/v1/health.proto", target(broker), "grpc.health.v1.Health/Check"]);
    expect([health.code, statuses(health.stdout)]).toEqual([0, ["SERVING"]]);
  });

  it("PW-ADMIN-054/PW-ADMIN-055: grpc.health.v1 answers SERVING, NOT_FOUND for an unknown service and NOT_SERVING while draining; Watch streams the change and ends at shutdown", { timeout: 120_000 }, async () => {
    const broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, drainDeadlineMs: 30_000 });
    let closing: Promise<void> | undefined;
    const watch = spawn(GRPCURL, ["-plaintext", "-d", '{"service": "polywire.v1.TopicService"}', target(broker), "grpc.health.v1.Health/Watch"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let watched = "";
      watch.stdout.on("data", (chunk: Buffer) => {
        watched += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => watch.once("exit", resolve));
      expect(statuses((await grpcurl(broker, ["grpc.health.v1.Health/Check"])).stdout)).toEqual(["SERVING"]);
      expect(statuses((await grpcurl(broker, ["grpc.health.v1.Health/Check"], ["-d", '{"service": "polywire.v1.ClusterService"}'])).stdout)).toEqual(["SERVING"]);
      const unknown = await grpcurl(broker, ["grpc.health.v1.Health/Check"], ["-d", '{"service": "no.such.Service"}']);
      expect(unknown.stderr).toContain("Code: NotFound");
      expect(statuses((await grpcurl(broker, ["grpc.health.v1.Health/Check"], ["-d", '{"service": "polywire.v1.GroupService"}'])).stdout)).toEqual(["SERVING"]);
      const list = JSON.parse((await grpcurl(broker, ["grpc.health.v1.Health/List"])).stdout) as { statuses: Record<string, { status: string }> };
      expect(Object.keys(list.statuses).sort()).toEqual(["", "polywire.v1.ClusterService", "polywire.v1.GroupService", "polywire.v1.MetricsService", "polywire.v1.TopicService"]);
      {
        // Without the groups plane GroupService answers every RPC unimplemented (PW-ADMIN-029): health does not vouch for it.
        await using plain = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, groups: false });
        expect((await grpcurl(plain, ["grpc.health.v1.Health/Check"], ["-d", '{"service": "polywire.v1.GroupService"}'])).stderr).toContain("Code: NotFound");
        const plainList = JSON.parse((await grpcurl(plain, ["grpc.health.v1.Health/List"])).stdout) as { statuses: Record<string, { status: string }> };
        expect(Object.keys(plainList.statuses).sort()).toEqual(["", "polywire.v1.ClusterService", "polywire.v1.MetricsService", "polywire.v1.TopicService"]);
      }
      await until(() => statuses(watched).length === 1, "Watch's first message");
      expect(statuses(watched)).toEqual(["SERVING"]);

      // A client that takes the drain notice and stays keeps the broker draining (PW-SESS-015).
      const conn = await Connection.connect(broker.urls[0] as string, { features: [Feature.LOG, Feature.DRAIN_NOTICE] });
      const drained = new Promise((resolve) => conn.on("drain", resolve));
      closing = broker.close();
      await drained;
      expect(statuses((await grpcurl(broker, ["grpc.health.v1.Health/Check"])).stdout)).toEqual(["NOT_SERVING"]);
      await until(() => statuses(watched).length === 2, "Watch's NOT_SERVING");
      expect(statuses(watched)).toEqual(["SERVING", "NOT_SERVING"]);
      expect(watch.exitCode).toBeNull();

      await conn.close();
      const started = performance.now();
      await closing;
      // The shutdown ends the stream cleanly rather than cutting it after the listener's grace period.
      expect(await exited).toBe(0);
      expect(performance.now() - started).toBeLessThan(4_000);
    } finally {
      watch.kill();
      await (closing ?? broker.close());
    }
  });

  it("PW-ADMIN-056: reflection v1alpha, which older tools ask for, answers as v1: the services, and each file with the imports not yet sent on the stream", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    const sessionManager = new Http2SessionManager(broker.httpUrl as string);
    try {
      const client = createClient(ServerReflectionV1Alpha, createGrpcTransport({ baseUrl: broker.httpUrl as string, sessionManager }));
      const requests = [
        { host: "", messageRequest: { case: "listServices" as const, value: "" } },
        { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "polywire.v1.TopicService.CreateTopic" } },
        { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "polywire.v1.ClusterService" } },
        { host: "", messageRequest: { case: "fileByFilename" as const, value: "polywire/v1/common.proto" } },
        { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "polywire.v1.NoSuchThing" } },
        { host: "", messageRequest: { case: "allExtensionNumbersOfType" as const, value: "polywire.v1.CreateTopicRequest" } },
      ];
      const answers: Array<ServerReflectionResponse["messageResponse"]> = [];
      for await (const answer of client.serverReflectionInfo((async function* () {
        yield* requests;
      })())) answers.push(answer.messageResponse);
      const files = (i: number): string[] => {
        const a = answers[i];
        return a?.case === "fileDescriptorResponse" ? a.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name) : [];
      };
      expect(answers[0]).toMatchObject({ case: "listServicesResponse", value: { service: SERVICES.map((name) => expect.objectContaining({ name })) } });
      expect(files(1)[0]).toBe("polywire/v1/admin.proto");
      // admin.proto imports common.proto and groups.proto, which imports session.proto.
      expect(files(1).slice(1).sort()).toEqual(["polywire/v1/common.proto", "polywire/v1/groups.proto", "polywire/v1/session.proto"]);
      expect(files(2)).toEqual(["polywire/v1/admin.proto"]);
      expect(files(3)).toEqual(["polywire/v1/common.proto"]);
      expect(answers[4]).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
      expect(answers[5]).toMatchObject({ case: "allExtensionNumbersResponse", value: { baseTypeName: "polywire.v1.CreateTopicRequest", extensionNumber: [] } });
    } finally {
      sessionManager.abort();
    }
  });

  it("PW-ADMIN-001/PW-ADMIN-053: a Python grpcio client calls the admin services with gen/python alone, and gets UNIMPLEMENTED for a method the broker lacks", { timeout: 120_000 }, async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "already-there", partitions: 2 }], http: { port: 0 }, adminAuth: AUTH });
    const run = await exec(PYTHON, [PYTHON_GRPC_ADMIN, "--admin", target(broker), "--topic", "py-grpc", "--partitions", "4"], { POLYWIRE_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("created py-grpc partitions=4 partitioner=murmur2\ntopic already-there partitions=2\ntopic py-grpc partitions=4\nhealth HEALTH_STATUS_SERVING\n");
    const again = await exec(PYTHON, [PYTHON_GRPC_ADMIN, "--admin", target(broker), "--topic", "py-grpc"], { POLYWIRE_ADMIN_TOKEN: ADMIN_TOKEN });
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/^python-grpc-admin: ALREADY_EXISTS: ERROR_CODE_TOPIC_ALREADY_EXISTS: topic py-grpc already exists\n$/)]);
    const anonymous = await exec(PYTHON, [PYTHON_GRPC_ADMIN, "--admin", target(broker), "--topic", "nobody"], { POLYWIRE_ADMIN_TOKEN: "" });
    expect([anonymous.code, anonymous.stderr]).toEqual([1, expect.stringMatching(/^python-grpc-admin: UNAUTHENTICATED: ERROR_CODE_AUTHENTICATION_FAILED/)]);
    const unreachable = await exec(PYTHON, [PYTHON_GRPC_ADMIN, "--admin", "127.0.0.1:1", "--timeout", "5"]);
    expect(unreachable.code).toBe(3);
    // What grpc-go reported as Internal when the broker answered an unknown path with HTTP 404 text.
    const unknown = await exec(PYTHON, ["-c", [
      "import grpc, sys",
      `channel = grpc.insecure_channel(${JSON.stringify(target(broker))})`,
      "try:",
      "    channel.unary_unary('/polywire.v1.TopicService/NoSuchMethod')(b'', timeout=10)",
      "except grpc.RpcError as error:",
      "    print(error.code().name)",
    ].join("\n")]);
    expect(unknown.stdout).toBe("UNIMPLEMENTED\n");
  });
});
