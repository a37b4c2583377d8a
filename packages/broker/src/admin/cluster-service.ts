import type { ServiceImpl } from "@connectrpc/connect";
import type { ClusterService } from "@polywire/proto/admin";
import type { AdminContext } from "./context.js";
import { checkHealth } from "./health.js";

/** ClusterService (§11.5): a single-node cluster that names itself controller (PW-ADMIN-040), and its health (PW-ADMIN-041). */
export function clusterService(context: AdminContext): ServiceImpl<typeof ClusterService> {
  return {
    describeCluster() {
      return {
        clusterId: context.clusterId,
        controllerId: context.brokerId,
        brokers: [{ brokerId: context.brokerId, urls: [...context.urls()], adminUrl: context.adminUrl(), version: context.version }],
        protocolMinVersion: context.protocolVersions.min,
        protocolMaxVersion: context.protocolVersions.max,
      };
    },
    getHealth() {
      return checkHealth(context);
    },
  };
}
