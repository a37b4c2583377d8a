import { HealthStatus } from "@polywire/proto/admin";
import { sendText, type HttpHandler } from "../http.js";
import type { AdminContext } from "./context.js";
import { checkHealth } from "./health.js";

/**
 * The plain HTTP endpoints of the admin listener (PW-ADMIN-042), served
 * without credentials (PW-ADMIN-046): `/metrics` (Prometheus text),
 * `/healthz` (the process serves HTTP) and `/readyz` (ready while the
 * health status is SERVING or DEGRADED, from the same checks as GetHealth).
 */
export function probeHandler(context: AdminContext): HttpHandler {
  return async (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      const registry = context.metrics.registry;
      sendText(response, 200, await registry.metrics(), registry.contentType);
      return true;
    }
    if (path === "/healthz") {
      sendText(response, 200, "ok\n");
      return true;
    }
    if (path === "/readyz") {
      const health = await checkHealth(context);
      const ready = health.status !== HealthStatus.NOT_SERVING;
      const failing = health.checks?.filter((c) => c.status === HealthStatus.NOT_SERVING).map((c) => `${c.name}: ${c.detail}`) ?? [];
      sendText(response, ready ? 200 : 503, ready ? "ready\n" : `not ready\n${failing.join("\n")}\n`);
      return true;
    }
    return false;
  };
}
