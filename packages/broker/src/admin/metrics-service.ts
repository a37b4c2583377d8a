import type { ServiceImpl } from "@connectrpc/connect";
import type { MetricsService } from "@polywire/proto/admin";
import type { AdminContext } from "./context.js";
import { metricFamilies } from "./metrics-snapshot.js";

/** MetricsService (§11.5): the Prometheus registry as structured data. */
export function metricsService(context: AdminContext): ServiceImpl<typeof MetricsService> {
  return {
    async getMetricsSnapshot(request) {
      const timestampMs = BigInt(Date.now());
      return { timestampMs, families: await metricFamilies(context.metrics.registry, request.namePrefix) };
    },
  };
}
