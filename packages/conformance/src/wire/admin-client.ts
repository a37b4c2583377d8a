import { createClient, type CallOptions, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ClusterService, GroupService, MetricsService, TopicService,
  type DescribeClusterResponse, type DescribeGroupResponse, type GetHealthResponse, type GetMetricsSnapshotResponse, type GroupSummary,
  type PartitionLag, type ResetGroupOffsetsRequestSchema, type TopicDescription, type TopicSummary,
} from "@polywire/proto/admin";
import { ClauseViolation } from "../clause.js";

/** Options of {@link createAdminClient}. */
export interface AdminClientOptions {
  /** `"connect"` over HTTP/1.1 (default) or `"grpc"` over HTTP/2. */
  readonly protocol?: "connect" | "grpc";
  /** Sent as `Authorization: Bearer <token>` with every call (PW-ADMIN-046). */
  readonly token?: string;
}

/**
 * The runner's client of a broker's admin services (§11): the calls the
 * cases and targets make, resolving with the generated messages and
 * rejecting with the `ConnectError` the broker answered. It is the suite's
 * own, over the Connect library and the generated service descriptors, so
 * that checking a broker needs no Polywire client installed.
 */
export interface AdminClient extends AsyncDisposable {
  createTopic(name: string, options?: { readonly partitions?: number; readonly config?: Record<string, string> }): Promise<TopicDescription>;
  deleteTopic(name: string): Promise<void>;
  listTopics(options?: { readonly includeInternal?: boolean }): Promise<TopicSummary[]>;
  describeTopic(name: string): Promise<TopicDescription>;
  alterTopic(name: string, options: { readonly set?: Record<string, string>; readonly reset?: readonly string[]; readonly partitions?: number }): Promise<TopicDescription>;
  describeCluster(): Promise<DescribeClusterResponse>;
  health(): Promise<GetHealthResponse>;
  metrics(options?: { readonly namePrefix?: string }): Promise<GetMetricsSnapshotResponse>;
  /** GroupService (§11.4). */
  listGroups(): Promise<GroupSummary[]>;
  describeGroup(groupId: string): Promise<DescribeGroupResponse>;
  resetGroupOffsets(request: MessageInitShape<typeof ResetGroupOffsetsRequestSchema>): Promise<PartitionLag[]>;
  deleteGroup(groupId: string): Promise<void>;
  /** Closes the HTTP/2 connection, if any. */
  close(): Promise<void>;
}

/** Deadline of every admin call. */
const CALL_TIMEOUT_MS = 30_000;

/** A client of the admin services at `baseUrl` (`http://host:port`). */
export function createAdminClient(baseUrl: string, options: AdminClientOptions = {}): AdminClient {
  let transport: Transport;
  let sessions: Http2SessionManager | undefined;
  if (options.protocol === "grpc") {
    sessions = new Http2SessionManager(baseUrl);
    transport = createGrpcTransport({ baseUrl, sessionManager: sessions });
  } else {
    transport = createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true });
  }
  const topics = createClient(TopicService, transport);
  const cluster = createClient(ClusterService, transport);
  const metricsService = createClient(MetricsService, transport);
  const groups = createClient(GroupService, transport);
  const call: CallOptions = { timeoutMs: CALL_TIMEOUT_MS, ...(options.token === undefined ? {} : { headers: { authorization: `Bearer ${options.token}` } }) };
  const described = (clause: string, rpc: string, topic: TopicDescription | undefined): TopicDescription => {
    if (topic === undefined) throw new ClauseViolation(clause, `the answer to ${rpc} carries no topic description`);
    return topic;
  };
  const close = (): Promise<void> => {
    sessions?.abort();
    sessions = undefined;
    return Promise.resolve();
  };
  return {
    async createTopic(name, o = {}) {
      return described("PW-ADMIN-012", "CreateTopic", (await topics.createTopic({ name, partitions: o.partitions ?? 0, config: o.config ?? {} }, call)).topic);
    },
    async deleteTopic(name) {
      await topics.deleteTopic({ name }, call);
    },
    async listTopics(o = {}) {
      return (await topics.listTopics({ includeInternal: o.includeInternal ?? false }, call)).topics;
    },
    async describeTopic(name) {
      return described("PW-ADMIN-015", "DescribeTopic", (await topics.describeTopic({ name }, call)).topic);
    },
    async alterTopic(name, o) {
      return described("PW-ADMIN-016", "AlterTopicConfig", (await topics.alterTopicConfig({ name, set: o.set ?? {}, reset: [...(o.reset ?? [])], partitions: o.partitions ?? 0 }, call)).topic);
    },
    describeCluster: () => cluster.describeCluster({}, call),
    health: () => cluster.getHealth({}, call),
    metrics: (o = {}) => metricsService.getMetricsSnapshot({ namePrefix: o.namePrefix ?? "" }, call),
    listGroups: async () => (await groups.listGroups({}, call)).groups,
    describeGroup: (groupId) => groups.describeGroup({ groupId }, call),
    resetGroupOffsets: async (request) => (await groups.resetGroupOffsets(request, call)).offsets,
    async deleteGroup(groupId) {
      await groups.deleteGroup({ groupId }, call);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
