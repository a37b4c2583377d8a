import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { ClusterService, GroupService, MetricsService, TopicService } from "@polywire/proto/admin";
import { Health } from "@polywire/proto/grpc/health/v1/health";
import { ServerReflection as ServerReflectionV1 } from "@polywire/proto/grpc/reflection/v1/reflection";
import { ServerReflection as ServerReflectionV1Alpha } from "@polywire/proto/grpc/reflection/v1alpha/reflection";
import { refuseRestOfBody, type HttpHandler, type HttpRequest, type HttpResponse } from "../http.js";
import { adminAuthenticator, type AdminAuthOptions } from "./auth.js";
import { clusterService } from "./cluster-service.js";
import type { AdminContext } from "./context.js";
import { adminError } from "./errors.js";
import { groupService } from "./group-service.js";
import { healthService } from "./grpc-health.js";
import { adminInterceptor, codeName } from "./interceptor.js";
import { metricsService } from "./metrics-service.js";
import { answerError, rpcProtocolOf } from "./protocol-errors.js";
import { reflectionServices } from "./reflection.js";
import { ACCEPTED_COMPRESSIONS, checkedRequest, checkGetMessage } from "./request-check.js";
import { topicService } from "./topic-service.js";
import { quote } from "../quote.js";

/** Options of {@link adminHandler}. */
export interface AdminHandlerOptions {
  /** Bearer-token authentication of the admin RPCs (PW-ADMIN-003, PW-ADMIN-046); without it they are open. */
  readonly auth?: AdminAuthOptions;
  /** The largest request message read, in bytes (PW-ADMIN-051), as {@link resolveMaxRequestBytes} gives it. */
  readonly maxRequestBytes: number;
  /** Aborted when the listener shuts down: ends Health.Watch streams, so that they do not hold it open. */
  readonly shutdownSignal?: AbortSignal;
  /** How often Health.Watch streams look for a change of status. Default 500 ms. */
  readonly healthWatchIntervalMs?: number;
}

interface Route {
  readonly handler: UniversalHandler;
  /** Served without credentials, as `/readyz` is: the health service, which probes call without a secret. */
  readonly open: boolean;
}

/**
 * The admin plane (§11) as a handler for the broker's HTTP listener:
 * TopicService, GroupService, ClusterService and MetricsService at
 * `/polywire.v1.<Service>/<Method>` (PW-ADMIN-001), `grpc.health.v1.Health`
 * and gRPC server reflection (PW-ADMIN-054..056), over the Connect, gRPC and
 * gRPC-Web protocols. Before any body is read, a request's credentials and
 * permission are checked from its headers (PW-ADMIN-050); bodies are then
 * held to `maxRequestBytes` per message and checked to decode
 * (PW-ADMIN-051, PW-ADMIN-052). A gRPC or gRPC-Web request for another
 * path is `unimplemented` (PW-ADMIN-053); other requests for other paths
 * fall through to the next handler.
 */
export function adminHandler(context: AdminContext, options: AdminHandlerOptions): HttpHandler {
  const authenticate = options.auth === undefined ? undefined : adminAuthenticator(options.auth);
  const router = createConnectRouter({
    readMaxBytes: options.maxRequestBytes,
    acceptCompression: [...ACCEPTED_COMPRESSIONS],
    ...(options.shutdownSignal === undefined ? {} : { shutdownSignal: options.shutdownSignal }),
  });
  const admin = { interceptors: [adminInterceptor(context)] };
  router
    .service(TopicService, topicService(context), admin)
    .service(GroupService, groupService(context), admin)
    .service(ClusterService, clusterService(context), admin)
    .service(MetricsService, metricsService(context), admin)
    .service(Health, healthService(context, {
      // Without the groups plane GroupService answers every RPC `unimplemented` (PW-ADMIN-029), so health does not claim it serves (PW-ADMIN-054).
      services: [TopicService, ...(context.groups === undefined ? [] : [GroupService]), ClusterService, MetricsService].map((s) => s.typeName),
      ...(options.healthWatchIntervalMs === undefined ? {} : { watchIntervalMs: options.healthWatchIntervalMs }),
    }));
  const [reflectionV1, reflectionV1Alpha] = reflectionServices([TopicService, GroupService, ClusterService, MetricsService, Health]);
  router.service(ServerReflectionV1, reflectionV1).service(ServerReflectionV1Alpha, reflectionV1Alpha);
  const routes = new Map<string, Route>();
  for (const handler of router.handlers) routes.set(handler.requestPath, { handler, open: handler.service.typeName === Health.typeName });

  /** The refusal of a request that may not be served, decided from its headers; undefined when it may. */
  async function refusal(route: Route, request: HttpRequest): Promise<ConnectError | undefined> {
    if (authenticate === undefined || route.open) return undefined;
    const { service, method } = route.handler;
    const header = request.headers.authorization;
    const result = await authenticate(header ?? null);
    if (!result.ok) return adminError(Code.Unauthenticated, "AUTHENTICATION_FAILED", `${service.name}.${method.name}: ${result.reason}`);
    // Methods the proto marks NO_SIDE_EFFECTS only read (the reflection stream too); every other one changes state.
    const reads = method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || service.typeName.startsWith("grpc.reflection.");
    if (!reads && result.principal.role !== "admin") {
      return adminError(Code.PermissionDenied, "NOT_AUTHORIZED", `${service.name}.${method.name} changes state; principal ${JSON.stringify(result.principal.principal)} has role ${result.principal.role} and may only call read-only RPCs`);
    }
    return undefined;
  }

  async function serve(route: Route, request: HttpRequest, response: HttpResponse): Promise<void> {
    const started = performance.now();
    const { service, method } = route.handler;
    const refused = await refusal(route, request);
    if (refused !== undefined) {
      context.metrics.adminRequest(service.name, method.name, codeName(refused.code), (performance.now() - started) / 1000);
      answerError(request, response, refused, options.maxRequestBytes);
      return;
    }
    const universal = universalRequestFromNodeRequest(request, response, undefined, undefined);
    if (request.method === "GET") {
      try {
        await checkGetMessage(new URL(universal.url), method.input, options.maxRequestBytes);
      } catch (error) {
        answerError(request, response, ConnectError.from(error), options.maxRequestBytes);
        return;
      }
    }
    try {
      // A refused body is over the limit or malformed: none of the rest is worth reading.
      const checked = checkedRequest(universal, method.input, options.maxRequestBytes, () => refuseRestOfBody(request, response, 0));
      await universalResponseToNodeResponse(await route.handler(checked), response);
    } catch (error) {
      // The client went away mid-answer: nothing left to tell it.
      if (ConnectError.from(error).code !== Code.Aborted) throw error;
    }
  }

  return async (request, response) => {
    const path = (request.url ?? "/").split("?")[0] as string;
    const route = routes.get(path);
    if (route !== undefined) {
      await serve(route, request, response);
      return true;
    }
    const protocol = rpcProtocolOf(request);
    // Connect clients read an HTTP 404 as `unimplemented`; gRPC clients need the status itself, trailers-only.
    if (protocol !== "grpc" && protocol !== "grpc-web") return false;
    const served = [...new Set([...routes.values()].map((r) => r.handler.service.typeName))].join(", ");
    answerError(request, response, new ConnectError(`unknown method ${quote(path)}: this admin listener serves ${served}`, Code.Unimplemented), options.maxRequestBytes);
    return true;
  };
}
