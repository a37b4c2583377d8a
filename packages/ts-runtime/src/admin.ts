import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions, type Client, type Transport } from "@connectrpc/connect";
import {
  ClusterService, DescribeClusterResponseSchema, DescribeGroupResponseSchema, GetHealthResponseSchema, GetMetricsSnapshotResponseSchema,
  GroupService, GroupSummarySchema, MetricsService, PartitionLagSchema, ResetTarget, TopicDescriptionSchema, TopicService, TopicSummarySchema,
  type DescribeClusterResponse, type DescribeGroupResponse, type GetHealthResponse, type GetMetricsSnapshotResponse,
  type GroupSummary, type PartitionLag, type TopicDescription, type TopicSummary,
} from "@polywire/proto/admin";
import { ErrorCode } from "@polywire/proto/session";
import type { PolywireErrorCode } from "@polywire/core";

/** The wire protocol an {@link AdminClient} speaks; a broker serves all three on its admin port (PW-ADMIN-001). */
export type AdminProtocol = "connect" | "grpc" | "grpc-web";

/**
 * Options of {@link createAdminClient}. Every field is optional.
 */
export interface AdminClientOptions {
  /** Default `"connect"`. */
  protocol?: AdminProtocol;
  /**
   * `"1.1"` or `"2"` (plaintext h2c to an `http://` URL). Default `"2"` for
   * gRPC, which needs HTTP/2, else `"1.1"`.
   */
  httpVersion?: "1.1" | "2";
  /** Message encoding of the Connect and gRPC-Web protocols: `"proto"` (default) or `"json"`. */
  codec?: "proto" | "json";
  /** Deadline of each call unless the call sets its own, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Headers sent with every call. */
  headers?: Record<string, string>;
  /**
   * The admin bearer token of a broker with admin authentication
   * (PW-ADMIN-046), sent as `Authorization: Bearer <token>` with every call,
   * including calls through the generated clients this client exposes and
   * over a custom `transport`. Default: none.
   */
  token?: string;
  /**
   * A Connect transport to use instead of the Node.js one built from the
   * options above, for example `createConnectTransport` of
   * `@connectrpc/connect-web` in a browser. `protocol`, `httpVersion` and
   * `codec` are then ignored.
   */
  transport?: Transport;
}

/** Per-call options: cancellation and a deadline. */
export interface AdminCallOptions {
  signal?: AbortSignal;
  /** Overrides {@link AdminClientOptions.timeoutMs} for this call. */
  timeoutMs?: number;
}

/** Options of {@link AdminClient.createTopic}. */
export interface CreateTopicOptions extends AdminCallOptions {
  /** Default: the broker default, 1 (PW-ADMIN-011). */
  partitions?: number;
  /** Config entries that differ from the broker defaults (§11.3), e.g. `{ "retention.ms": "3600000" }`. */
  config?: Record<string, string>;
}

/** Options of {@link AdminClient.alterTopic}; applied atomically (PW-ADMIN-016). */
export interface AlterTopicOptions extends AdminCallOptions {
  /** Keys to give a value. */
  set?: Record<string, string>;
  /** Keys to return to the broker default. */
  reset?: string[];
  /** New partition count; partitions grow, never shrink. */
  partitions?: number;
}

/** Where {@link AdminClient.resetGroupOffsets} moves a group's committed offsets (PW-ADMIN-034). */
export type ResetTo = "earliest" | "latest" | { readonly timestamp: number | Date } | { readonly offset: bigint | number };

/** Options of {@link AdminClient.resetGroupOffsets}. */
export interface ResetGroupOffsetsOptions extends AdminCallOptions {
  to: ResetTo;
  /** Partitions to reset, by topic; default every partition the group has offsets for. */
  partitions?: Record<string, number[]>;
  /** Report the new offsets without committing them. */
  dryRun?: boolean;
}

/**
 * A client of a broker's admin services (§11). Methods resolve with the
 * generated protobuf-es messages of `@polywire/proto/admin`, each with a
 * `toJSON` giving its protobuf JSON form (int64 fields such as offsets as
 * decimal strings), so `JSON.stringify` works on them; they reject with
 * the `ConnectError` the broker answered: its `code` is the Connect code
 * (`Code.NotFound`, `Code.InvalidArgument`, ...) and {@link adminErrorCode}
 * reads the Polywire ErrorCode the message names (PW-ERR-005). The raw
 * generated clients are exposed as `topics`, `groups`, `cluster` and
 * `metricsService` for anything the friendly methods do not cover.
 */
export interface AdminClient extends AsyncDisposable {
  readonly topics: Client<typeof TopicService>;
  readonly groups: Client<typeof GroupService>;
  readonly cluster: Client<typeof ClusterService>;
  readonly metricsService: Client<typeof MetricsService>;
  /** Creates a topic and resolves with its description (PW-ADMIN-011, PW-ADMIN-012). */
  createTopic(name: string, options?: CreateTopicOptions): Promise<TopicDescription>;
  /** Deletes a topic and all its records (PW-ADMIN-013). */
  deleteTopic(name: string, options?: AdminCallOptions): Promise<void>;
  /** Topics in name order (PW-ADMIN-014). */
  listTopics(options?: AdminCallOptions & { includeInternal?: boolean }): Promise<TopicSummary[]>;
  /** A topic's partitions and effective config (PW-ADMIN-015). */
  describeTopic(name: string, options?: AdminCallOptions): Promise<TopicDescription>;
  /** Changes config and grows partitions atomically (PW-ADMIN-016). */
  alterTopic(name: string, options: AlterTopicOptions): Promise<TopicDescription>;
  /** Groups in id order (PW-ADMIN-030). */
  listGroups(options?: AdminCallOptions): Promise<GroupSummary[]>;
  /** A group's members and lag (PW-ADMIN-031). */
  describeGroup(groupId: string, options?: AdminCallOptions): Promise<DescribeGroupResponse>;
  /** Moves an empty group's committed offsets (PW-ADMIN-033, PW-ADMIN-034). */
  resetGroupOffsets(groupId: string, options: ResetGroupOffsetsOptions): Promise<PartitionLag[]>;
  /** Deletes an empty group and its offsets (PW-ADMIN-035). */
  deleteGroup(groupId: string, options?: AdminCallOptions): Promise<void>;
  /** The cluster's brokers and protocol range (PW-ADMIN-040). */
  describeCluster(options?: AdminCallOptions): Promise<DescribeClusterResponse>;
  /** The broker's health and its checks (PW-ADMIN-041). */
  health(options?: AdminCallOptions): Promise<GetHealthResponse>;
  /** The broker's metrics whose name starts with `namePrefix` (PW-ADMIN-043). */
  metrics(options?: AdminCallOptions & { namePrefix?: string }): Promise<GetMetricsSnapshotResponse>;
  /** Closes the HTTP/2 connection, if any. Calls after close fail. */
  close(): Promise<void>;
}

const ERROR_CODE_IN_MESSAGE = /\bERROR_CODE_([A-Z_]+)\b/;

/**
 * The Polywire ErrorCode an admin error names in its message (PW-ERR-005),
 * e.g. `"TOPIC_ALREADY_EXISTS"`, or undefined when it names none (for
 * example a transport failure, or `unimplemented`).
 */
export function adminErrorCode(error: unknown): PolywireErrorCode | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const name = ERROR_CODE_IN_MESSAGE.exec(error.rawMessage)?.[1];
  if (name === undefined || name === "UNSPECIFIED" || !(name in ErrorCode)) return undefined;
  return name as PolywireErrorCode;
}

function resetTarget(to: ResetTo): { target: ResetTarget; value: bigint } {
  if (to === "earliest") return { target: ResetTarget.EARLIEST, value: 0n };
  if (to === "latest") return { target: ResetTarget.LATEST, value: 0n };
  if ("timestamp" in to) return { target: ResetTarget.TIMESTAMP, value: BigInt(to.timestamp instanceof Date ? to.timestamp.getTime() : to.timestamp) };
  return { target: ResetTarget.OFFSET, value: BigInt(to.offset) };
}

/**
 * Gives a result message a `toJSON` writing its protobuf JSON form (int64
 * fields as decimal strings, enums by name, every field present), so that
 * `JSON.stringify` works on it. Not enumerable: the message's fields, its
 * equality and spreading are unchanged.
 */
function jsonable<D extends DescMessage>(schema: D, message: MessageShape<D>): MessageShape<D> {
  Object.defineProperty(message, "toJSON", { value: () => toJson(schema, message, { alwaysEmitImplicit: true }), configurable: true });
  return message;
}

type ConnectNode = typeof import("@connectrpc/connect-node");

// Node's transports are loaded on the first call, by a computed name, so that
// bundlers targeting browsers (where the caller passes its own `transport`)
// do not try to resolve node:http2; a runtime without it gets a clear error.
async function loadConnectNode(): Promise<ConnectNode> {
  const name = "@connectrpc/connect-node";
  try {
    return (await import(/* @vite-ignore */ name)) as ConnectNode;
  } catch (cause) {
    throw new ConnectError("this runtime cannot load @connectrpc/connect-node: pass AdminClientOptions.transport (for example createConnectTransport of @connectrpc/connect-web)", Code.Unimplemented, undefined, undefined, cause);
  }
}

function nodeTransport(baseUrl: string, options: AdminClientOptions, onClose: (closer: () => void) => void): Transport {
  const protocol = options.protocol ?? "connect";
  const httpVersion = options.httpVersion ?? (protocol === "grpc" ? "2" : "1.1");
  if (protocol === "grpc" && httpVersion !== "2") throw new TypeError("the gRPC protocol needs httpVersion \"2\"");
  const useBinaryFormat = (options.codec ?? "proto") === "proto";
  let loaded: Promise<Transport> | undefined;
  const load = (): Promise<Transport> => {
    loaded ??= loadConnectNode().then((node) => {
      const common = { baseUrl, useBinaryFormat };
      let version: { httpVersion: "1.1" } | { httpVersion: "2"; sessionManager: InstanceType<typeof node.Http2SessionManager> };
      if (httpVersion === "2") {
        const sessionManager = new node.Http2SessionManager(baseUrl);
        onClose(() => sessionManager.abort());
        version = { httpVersion: "2", sessionManager };
      } else {
        version = { httpVersion: "1.1" };
      }
      if (protocol === "grpc") return node.createGrpcTransport({ ...common, ...version });
      if (protocol === "grpc-web") return node.createGrpcWebTransport({ ...common, ...version });
      return node.createConnectTransport({ ...common, ...version });
    });
    return loaded;
  };
  return {
    async unary(...args) {
      return (await load()).unary(...args);
    },
    async stream(...args) {
      return (await load()).stream(...args);
    },
  };
}

/**
 * Creates a client of the admin services at `baseUrl` (the broker's HTTP
 * listener, e.g. `http://127.0.0.1:7421`).
 *
 * ```ts
 * await using admin = createAdminClient("http://127.0.0.1:7421", { protocol: "grpc" });
 * await admin.createTopic("events", { partitions: 3 });
 * for (const t of await admin.listTopics()) console.log(t.name, t.partitions);
 * ```
 */
export function createAdminClient(baseUrl: string, options: AdminClientOptions = {}): AdminClient {
  let closer: (() => void) | undefined;
  let closed = false;
  const inner = options.transport ?? nodeTransport(baseUrl, options, (c) => {
    closer = c;
  });
  const open = (): void => {
    if (closed) throw new ConnectError("the admin client is closed", Code.Canceled);
  };
  // The token goes in at the transport, so the generated clients this object exposes carry it too.
  const authorize = (header: HeadersInit | undefined): HeadersInit | undefined => {
    if (options.token === undefined) return header;
    const merged = new Headers(header);
    merged.set("authorization", `Bearer ${options.token}`);
    return merged;
  };
  const transport: Transport = {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      open();
      return inner.unary(method, signal, timeoutMs, authorize(header), input, contextValues);
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      open();
      return inner.stream(method, signal, timeoutMs, authorize(header), input, contextValues);
    },
  };
  const topics = createClient(TopicService, transport);
  const groups = createClient(GroupService, transport);
  const cluster = createClient(ClusterService, transport);
  const metricsService = createClient(MetricsService, transport);
  const defaultTimeout = options.timeoutMs ?? 30_000;
  const call = (o: AdminCallOptions | undefined): CallOptions => ({
    timeoutMs: o?.timeoutMs ?? defaultTimeout,
    ...(o?.signal === undefined ? {} : { signal: o.signal }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  const described = (topic: TopicDescription | undefined, name: string): TopicDescription => {
    // A broker that follows PW-ADMIN-012/015/016 always sets it; an empty description would hide a broken one.
    if (topic === undefined) throw new ConnectError(`the broker's answer for topic ${JSON.stringify(name)} carries no description`);
    return jsonable(TopicDescriptionSchema, topic);
  };
  return {
    topics,
    groups,
    cluster,
    metricsService,
    async createTopic(name, o = {}) {
      const response = await topics.createTopic({ name, partitions: o.partitions ?? 0, config: o.config ?? {} }, call(o));
      return described(response.topic, name);
    },
    async deleteTopic(name, o) {
      await topics.deleteTopic({ name }, call(o));
    },
    async listTopics(o = {}) {
      return (await topics.listTopics({ includeInternal: o.includeInternal ?? false }, call(o))).topics.map((t) => jsonable(TopicSummarySchema, t));
    },
    async describeTopic(name, o) {
      return described((await topics.describeTopic({ name }, call(o))).topic, name);
    },
    async alterTopic(name, o) {
      const response = await topics.alterTopicConfig({ name, set: o.set ?? {}, reset: o.reset ?? [], partitions: o.partitions ?? 0 }, call(o));
      return described(response.topic, name);
    },
    async listGroups(o) {
      return (await groups.listGroups({}, call(o))).groups.map((g) => jsonable(GroupSummarySchema, g));
    },
    async describeGroup(groupId, o) {
      return jsonable(DescribeGroupResponseSchema, await groups.describeGroup({ groupId }, call(o)));
    },
    async resetGroupOffsets(groupId, o) {
      const partitions = Object.entries(o.partitions ?? {}).map(([topic, ps]) => ({ topic, partitions: ps }));
      return (await groups.resetGroupOffsets({ groupId, partitions, ...resetTarget(o.to), dryRun: o.dryRun ?? false }, call(o))).offsets.map((p) => jsonable(PartitionLagSchema, p));
    },
    async deleteGroup(groupId, o) {
      await groups.deleteGroup({ groupId }, call(o));
    },
    async describeCluster(o) {
      return jsonable(DescribeClusterResponseSchema, await cluster.describeCluster({}, call(o)));
    },
    async health(o) {
      return jsonable(GetHealthResponseSchema, await cluster.getHealth({}, call(o)));
    },
    async metrics(o = {}) {
      return jsonable(GetMetricsSnapshotResponseSchema, await metricsService.getMetricsSnapshot({ namePrefix: o.namePrefix ?? "" }, call(o)));
    },
    close() {
      closed = true;
      closer?.();
      closer = undefined;
      return Promise.resolve();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
