import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { HealthCheckRequestSchema, HealthCheckResponse_ServingStatus as ServingStatus, HealthCheckResponseSchema, HealthListRequestSchema, HealthListResponseSchema } from "@polywire/proto/grpc/health/v1/health";
import * as reflectionV1 from "@polywire/proto/grpc/reflection/v1/reflection";
import * as reflectionV1Alpha from "@polywire/proto/grpc/reflection/v1alpha/reflection";
import { Feature } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { adminHeaders, adminUrl } from "./access.js";
import { grpcCall, grpcServerStream } from "./raw-grpc.js";

const CHECK = "/grpc.health.v1.Health/Check";
const WATCH = "/grpc.health.v1.Health/Watch";
const ADMIN_SERVICES = ["polywire.v1.TopicService", "polywire.v1.GroupService", "polywire.v1.ClusterService", "polywire.v1.MetricsService"];

function checkRequest(service: string): Uint8Array {
  return toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service }));
}

/** The serving status Check answers for `service`, or the gRPC status code of its failure. */
async function healthOf(base: string, service: string, headers: Record<string, string> = {}): Promise<string> {
  const result = await grpcCall(base, CHECK, [checkRequest(service)], headers);
  if (result.code !== 0) return `grpc-status ${String(result.code)} (${result.message})`;
  const message = result.messages[0];
  return message === undefined ? "(no message)" : ServingStatus[fromBinary(HealthCheckResponseSchema, message).status] ?? "?";
}

function watchedStatus(message: Uint8Array | undefined): string {
  return message === undefined ? "(nothing)" : ServingStatus[fromBinary(HealthCheckResponseSchema, message).status] ?? "?";
}

const health: ConformanceCase = {
  id: "admin/grpc-health",
  title: "grpc.health.v1.Health, without credentials: Check is SERVING exactly when /readyz is 200, NOT_FOUND for an unknown service; Watch sends the status at once; List names the broker",
  plane: "admin",
  clauses: ["PW-ADMIN-054", "PW-ADMIN-055"],
  needs: ["admin"],
  async run(ctx) {
    const base = adminUrl(ctx);
    const ready = (await fetch(`${base}/readyz`, { headers: adminHeaders(ctx) })).status === 200;
    const expected = ready ? "SERVING" : "NOT_SERVING";
    checkEqual("PW-ADMIN-054", await healthOf(base, ""), expected, `Check "" (the broker) while /readyz answers ${ready ? 200 : 503}`);
    checkEqual("PW-ADMIN-054", await healthOf(base, "polywire.v1.TopicService"), expected, "Check polywire.v1.TopicService");
    const unknown = await grpcCall(base, CHECK, [checkRequest(`no.such.Service${ctx.seed}`)]);
    checkEqual("PW-ADMIN-054", unknown.code, 5, "grpc-status of Check for an unknown service (NOT_FOUND)");
    const list = await grpcCall(base, "/grpc.health.v1.Health/List", [toBinary(HealthListRequestSchema, create(HealthListRequestSchema))]);
    const statuses = list.messages[0] === undefined ? {} : fromBinary(HealthListResponseSchema, list.messages[0]).statuses;
    check("PW-ADMIN-054", list.code === 0 && "" in statuses, `List did not name the broker ("") (grpc-status ${String(list.code)})`);
    const watch = grpcServerStream(base, WATCH, checkRequest(""));
    ctx.defer(() => watch.close());
    checkEqual("PW-ADMIN-055", watchedStatus(await watch.next(2_000)), expected, "Watch's first message, within 2 s");
  },
};

const healthWhileDraining: ConformanceCase = {
  id: "admin/grpc-health-draining",
  title: "While the broker drains, Check answers NOT_SERVING and Watch sends NOT_SERVING within a second; the shutdown ends the Watch stream with status OK",
  plane: "admin",
  clauses: ["PW-ADMIN-054", "PW-ADMIN-055", "PW-SESS-015"],
  features: [Feature.DRAIN_NOTICE],
  needs: ["variants"],
  timeoutMs: 60_000,
  async run(ctx) {
    const variant = await ctx.variant({ memory: true, drainDeadlineMs: 10_000 });
    const base = variant.adminUrl;
    const watch = grpcServerStream(base, WATCH, checkRequest(""));
    ctx.defer(() => watch.close());
    checkEqual("PW-ADMIN-055", watchedStatus(await watch.next(2_000)), "SERVING", "Watch's first message on a running broker");
    // A client that was granted the drain notice and stays keeps the broker draining until the deadline (PW-SESS-015).
    const session = await ctx.connectTo(variant.url);
    const closing = variant.close();
    try {
      checkEqual("PW-ADMIN-055", watchedStatus(await watch.next(2_000)), "NOT_SERVING", "Watch's message after the drain began, within 2 s");
      checkEqual("PW-ADMIN-054", await healthOf(base, ""), "NOT_SERVING", "Check while draining");
    } finally {
      session.end();
      await closing;
    }
    const ended = await Promise.race([watch.ended, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5_000))]);
    checkEqual("PW-ADMIN-055", ended?.code, 0, "grpc-status that ends the Watch stream at shutdown");
  },
};

type ReflectionAnswer = reflectionV1.ServerReflectionResponse["messageResponse"] | reflectionV1Alpha.ServerReflectionResponse["messageResponse"];

const reflection: ConformanceCase = {
  id: "admin/grpc-reflection",
  title: "gRPC server reflection v1 and v1alpha list the admin services, health and reflection, answer each admin service with the file declaring it and its imports, and NOT_FOUND for an unknown symbol",
  plane: "admin",
  clauses: ["PW-ADMIN-056"],
  needs: ["admin"],
  async run(ctx) {
    const base = adminUrl(ctx);
    for (const [version, pb] of [["v1", reflectionV1], ["v1alpha", reflectionV1Alpha]] as const) {
      const schema = pb.ServerReflectionRequestSchema as typeof reflectionV1.ServerReflectionRequestSchema;
      const request = (messageRequest: reflectionV1.ServerReflectionRequest["messageRequest"]): Uint8Array => toBinary(schema, create(schema, { messageRequest }));
      const requests = [request({ case: "listServices", value: "" }), ...ADMIN_SERVICES.map((s) => request({ case: "fileContainingSymbol", value: s })), request({ case: "fileContainingSymbol", value: `no.such.Symbol${ctx.seed}` })];
      const result = await grpcCall(base, `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`, requests, adminHeaders(ctx));
      checkEqual("PW-ADMIN-056", [result.code, result.messages.length], [0, requests.length], `reflection ${version}: grpc-status and number of answers`);
      const answers: ReflectionAnswer[] = result.messages.map((m) => fromBinary(pb.ServerReflectionResponseSchema as typeof reflectionV1.ServerReflectionResponseSchema, m).messageResponse);
      const listed = answers[0]?.case === "listServicesResponse" ? answers[0].value.service.map((s) => s.name) : [];
      for (const name of [...ADMIN_SERVICES, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]) {
        check("PW-ADMIN-056", listed.includes(name), `reflection ${version}: list_services does not name ${name} (got ${listed.join(", ")})`);
      }
      const sent = new Set<string>();
      ADMIN_SERVICES.forEach((service, i) => {
        const answer = answers[i + 1];
        check("PW-ADMIN-056", answer?.case === "fileDescriptorResponse", `reflection ${version}: file_containing_symbol ${service} got ${answer?.case ?? "nothing"}`);
        const files = answer.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
        const declaring = files[0];
        check("PW-ADMIN-056", declaring?.service.some((s) => `${declaring.package}.${s.name}` === service) === true, `reflection ${version}: the first file answered for ${service} does not declare it`);
        for (const file of files) sent.add(file.name);
        for (const dependency of declaring.dependency) {
          check("PW-ADMIN-056", sent.has(dependency), `reflection ${version}: ${declaring.name} imports ${dependency}, which the stream has not sent`);
        }
      });
      const last = answers[requests.length - 1];
      check("PW-ADMIN-056", last?.case === "errorResponse" && last.value.errorCode === 5, `reflection ${version}: an unknown symbol got ${last?.case ?? "nothing"}, not an error_response with code 5 (NOT_FOUND)`);
    }
  },
};

/** The standard gRPC services of the admin listener (§11.8). */
export const grpcServiceCases: readonly ConformanceCase[] = [health, healthWhileDraining, reflection];
