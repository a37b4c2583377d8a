import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ClusterService, GroupService, MetricsService, TopicService } from "@polywire/proto/admin";
import type { HttpHandler } from "../http.js";
import type { AdminAuthOptions } from "./auth.js";
import { clusterService } from "./cluster-service.js";
import type { AdminContext } from "./context.js";
import { groupService } from "./group-service.js";
import { adminInterceptor } from "./interceptor.js";
import { metricsService } from "./metrics-service.js";
import { topicService } from "./topic-service.js";

export { adminAuthenticator } from "./auth.js";
export type { AdminAuthOptions, AdminAuthResult, AdminPrincipal, AdminRole, AdminToken } from "./auth.js";
export { DEFAULT_HEALTH_THRESHOLDS } from "./context.js";
export type { AdminBrokerState, AdminContext, HealthThresholds } from "./context.js";
export { GROUPS_UNAVAILABLE } from "./group-service.js";
export { checkHealth } from "./health.js";
export { metricFamilies } from "./metrics-snapshot.js";

/**
 * The admin plane (§11) as a handler for the broker's HTTP listener:
 * TopicService, GroupService, ClusterService and MetricsService at
 * `/polywire.v1.<Service>/<Method>` (PW-ADMIN-001), over the Connect
 * (`application/proto` and `application/json`), gRPC and gRPC-Web
 * protocols. Requests for other paths fall through to the next handler.
 * With `auth`, every RPC needs credentials (PW-ADMIN-003).
 */
export function adminHandler(context: AdminContext, auth?: AdminAuthOptions): HttpHandler {
  const paths = new Set<string>();
  const adapter = connectNodeAdapter({
    interceptors: [adminInterceptor(context, auth)],
    routes: (router) => {
      router
        .service(TopicService, topicService(context))
        .service(GroupService, groupService())
        .service(ClusterService, clusterService(context))
        .service(MetricsService, metricsService(context));
      for (const handler of router.handlers) paths.add(handler.requestPath);
    },
  });
  return (request, response) => {
    const path = (request.url ?? "/").split("?")[0] as string;
    if (!paths.has(path)) return false;
    adapter(request, response);
    return true;
  };
}

