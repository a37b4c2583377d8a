import { create, fromBinary, fromJson, toBinary, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  DescribeClusterRequestSchema, DescribeClusterResponseSchema, GetHealthRequestSchema, GetHealthResponseSchema, GetMetricsSnapshotRequestSchema,
  GetMetricsSnapshotResponseSchema, HealthStatus, ListGroupsRequestSchema, ListTopicsRequestSchema, ListTopicsResponseSchema, MetricType,
} from "@polywire/proto/admin";
import { Acks } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch } from "../../batch/batch.js";
import { check, checkEqual, ClauseViolation } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import { expectBrokerError } from "../expect.js";
import { highWatermark, produce } from "../log/io.js";
import { numbered } from "../log/records.js";
import { adminHeaders, adminUrl } from "./access.js";
import { adminAuthentication } from "./auth.js";
import { discoveryCases } from "./discovery.js";
import { grpcServiceCases } from "./grpc-services.js";
import { listenerCases } from "./listener.js";
import { metricLabelCases } from "./metric-labels.js";
import { requestCases } from "./requests.js";
import { retentionCases } from "./retention.js";

/** The topic config keys of §11.3, exactly. */
const CONFIG_KEYS = ["fsync.interval.ms", "fsync.policy", "max.message.bytes", "retention.bytes", "retention.ms", "segment.bytes", "segment.ms"];

function admin(ctx: CaseContext): NonNullable<CaseContext["target"]["admin"]> {
  const client = ctx.target.admin;
  if (client === undefined) throw new Unsupported("the admin plane needs the admin URL (--admin)");
  return client;
}

let names = 0;
function freshName(ctx: CaseContext, tag: string): string {
  return `cfadmin-${ctx.seed}-${process.pid}-${tag}-${++names}`;
}

/** Awaits an admin call that must fail with Connect `code`, its message naming `errorName` when given (PW-ERR-005). */
async function expectAdminError(clause: string, call: Promise<unknown>, code: Code, what: string, errorName?: string): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    check(clause, e.code === code, `${what}: expected Connect code ${Code[code]}, got ${Code[e.code]} (${e.rawMessage})`);
    if (errorName !== undefined) check("PW-ERR-005", e.rawMessage.includes(errorName), `${what}: the message ${JSON.stringify(e.rawMessage)} does not name ${errorName}`);
    return e;
  }
  throw new ClauseViolation(clause, `${what}: expected ${Code[code]}, but the call succeeded`);
}

/** One Connect unary call over HTTP/1.1 with the raw fetch API: no Connect library between the runner and the broker. */
async function rawUnary<I extends DescMessage, O extends DescMessage>(base: string, headers: Record<string, string>, path: string, input: I, output: O, codec: "proto" | "json"): Promise<{ status: number; contentType: string; message?: ReturnType<typeof fromBinary<O>>; body: string }> {
  const body = codec === "proto" ? toBinary(input, create(input)) : "{}";
  const response = await fetch(`${base}${path}`, { method: "POST", headers: { ...headers, "content-type": `application/${codec}`, "connect-protocol-version": "1" }, body });
  const contentType = response.headers.get("content-type") ?? "";
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) return { status: response.status, contentType, body: new TextDecoder().decode(bytes) };
  const message = codec === "proto" ? fromBinary(output, bytes) : fromJson(output, JSON.parse(new TextDecoder().decode(bytes)) as JsonValue);
  return { status: 200, contentType, message, body: "" };
}

const protocol: ConformanceCase = {
  id: "admin/protocol",
  title: "Every admin service answers the Connect protocol over HTTP/1.1 with both the proto and JSON codecs; without consumer groups, GroupService answers unimplemented",
  plane: "admin",
  clauses: ["PW-ADMIN-001", "PW-ADMIN-029"],
  needs: ["admin"],
  async run(ctx) {
    const base = adminUrl(ctx);
    const calls: Array<[string, DescMessage, DescMessage]> = [
      ["/polywire.v1.TopicService/ListTopics", ListTopicsRequestSchema, ListTopicsResponseSchema],
      ["/polywire.v1.ClusterService/DescribeCluster", DescribeClusterRequestSchema, DescribeClusterResponseSchema],
      ["/polywire.v1.ClusterService/GetHealth", GetHealthRequestSchema, GetHealthResponseSchema],
      ["/polywire.v1.MetricsService/GetMetricsSnapshot", GetMetricsSnapshotRequestSchema, GetMetricsSnapshotResponseSchema],
    ];
    for (const [path, input, output] of calls) {
      for (const codec of ["proto", "json"] as const) {
        const r = await rawUnary(base, adminHeaders(ctx), path, input, output, codec);
        check("PW-ADMIN-001", r.status === 200, `POST ${path} with application/${codec} answered HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        check("PW-ADMIN-001", r.contentType.startsWith(`application/${codec}`), `POST ${path} with application/${codec} answered content type ${r.contentType}`);
      }
    }
    if (!ctx.welcome.features.includes(Feature.GROUPS)) {
      const r = await rawUnary(base, adminHeaders(ctx), "/polywire.v1.GroupService/ListGroups", ListGroupsRequestSchema, ListTopicsResponseSchema, "json");
      const code = (JSON.parse(r.body || "{}") as { code?: string }).code;
      checkEqual("PW-ADMIN-029", code, "unimplemented", `Connect error code of GroupService/ListGroups on a broker without FEATURE_GROUPS (HTTP ${r.status})`);
    }
  },
};

const topicLifecycle: ConformanceCase = {
  id: "admin/topic-lifecycle",
  title: "CreateTopic describes the new topic (murmur2, empty partitions, every config key), a second create is already_exists, ListTopics is sorted, DeleteTopic removes the records and the name can be created anew at offset 0",
  plane: "admin",
  clauses: ["PW-ADMIN-002", "PW-ADMIN-011", "PW-ADMIN-012", "PW-ADMIN-013", "PW-ADMIN-014", "PW-ADMIN-015", "PW-ERR-005"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const a = admin(ctx);
    const name = freshName(ctx, "life");
    const created = await a.createTopic(name, { partitions: 0 });
    checkEqual("PW-ADMIN-011", created.partitions.length, 1, "partitions of a topic created with partitions 0 (the default, 1)");
    checkEqual("PW-ADMIN-012", created.partitioner, "murmur2", "partitioner of the new topic");
    checkEqual("PW-ADMIN-012", created.partitions.map((p) => [p.logStartOffset, p.highWatermark]), [[0n, 0n]], "offsets of the new topic's partitions");
    checkEqual("PW-ADMIN-015", Object.keys(created.config?.entries ?? {}).sort(), CONFIG_KEYS, "config keys of the new topic");
    await expectAdminError("PW-ADMIN-011", a.createTopic(name, { partitions: 1 }), Code.AlreadyExists, "a second CreateTopic of the same name", "ERROR_CODE_TOPIC_ALREADY_EXISTS");
    const other = freshName(ctx, "0life");
    await a.createTopic(other, { partitions: 2 });
    const listed = (await a.listTopics()).map((t) => t.name);
    check("PW-ADMIN-014", listed.includes(name) && listed.includes(other), "ListTopics does not list the created topics");
    const bytes = listed.map((n) => Buffer.from(n));
    check("PW-ADMIN-014", bytes.every((b, i) => i === 0 || Buffer.compare(bytes[i - 1] as Buffer, b) < 0), "ListTopics is not ordered by name as bytes");
    check("PW-ADMIN-014", listed.every((n) => !n.startsWith("__")), "ListTopics lists internal topics without include_internal");
    const described = await a.describeTopic(other);
    checkEqual("PW-ADMIN-015", described.partitions.map((p) => p.partition), [0, 1], "partitions of DescribeTopic, in order");
    await expectAdminError("PW-ADMIN-015", a.describeTopic(`${name}-missing`), Code.NotFound, "DescribeTopic of a missing topic");
    const session = await ctx.connect();
    await produce(session, name, 0, numbered("before-delete", 3));
    await a.deleteTopic(name);
    await expectBrokerError("PW-ADMIN-013", session.call(FrameKind.PRODUCE_REQUEST, { topic: name, partition: 0, acks: Acks.LEADER }, encodeBatch(numbered("after-delete", 1))), ErrorCode.UNKNOWN_TOPIC, "produce to a deleted topic");
    await expectAdminError("PW-ADMIN-013", a.deleteTopic(name), Code.NotFound, "DeleteTopic of a deleted topic");
    await a.createTopic(name, { partitions: 1 });
    checkEqual("PW-ADMIN-013", await highWatermark(session, name, 0), 0n, "high watermark of a topic created again after a delete");
    await a.deleteTopic(other);
  },
};

const topicNames: ConformanceCase = {
  id: "admin/topic-names",
  title: "CreateTopic refuses names outside [a-zA-Z0-9._-]{1,249}, '.', '..' and reserved '__' names with invalid_argument naming ERROR_CODE_INVALID_TOPIC, and leaves nothing behind",
  plane: "admin",
  clauses: ["PW-ADMIN-010", "PW-ADMIN-011", "PW-ADMIN-002", "PW-ERR-005"],
  needs: ["admin"],
  async run(ctx) {
    const a = admin(ctx);
    for (const bad of ["", ".", "..", "a b", "tab\tname", "é", "x".repeat(250), "__internal", "slash/name"]) {
      await expectAdminError("PW-ADMIN-010", a.createTopic(bad, { partitions: 1 }), Code.InvalidArgument, `CreateTopic ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 10)}…(${bad.length})` : bad)}`, "ERROR_CODE_INVALID_TOPIC");
    }
    const longest = `${freshName(ctx, "n")}`.padEnd(249, "z");
    await a.createTopic(longest, { partitions: 1 });
    await a.deleteTopic(longest);
    const listed = (await a.listTopics({ includeInternal: true })).map((t) => t.name);
    check("PW-ADMIN-011", !listed.some((n) => n === "a b" || n === ".." || n === "__internal"), "a refused CreateTopic left a topic behind");
  },
};

const topicConfig: ConformanceCase = {
  id: "admin/topic-config",
  title: "Config entries outside the table or its value ranges and number format are invalid_argument naming the key; AlterTopicConfig is atomic, never shrinks partitions, and new partitions start empty",
  plane: "admin",
  clauses: ["PW-ADMIN-016", "PW-ADMIN-017", "PW-ADMIN-020", "PW-ADMIN-011"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const a = admin(ctx);
    const bad: Array<[string, string]> = [
      ["no.such.key", "1"], ["retention.ms", "0"], ["retention.ms", "+5"], ["retention.ms", "05"], ["retention.ms", "5e3"], ["retention.ms", " 5"],
      ["retention.ms", String(2 ** 53)], ["segment.bytes", "1023"], ["segment.bytes", "-1"], ["max.message.bytes", "56"], ["fsync.policy", "sometimes"], ["fsync.interval.ms", "0"],
    ];
    for (const [key, value] of bad) {
      const name = freshName(ctx, "cfg");
      const e = await expectAdminError("PW-ADMIN-020", a.createTopic(name, { partitions: 1, config: { [key]: value } }), Code.InvalidArgument, `CreateTopic with ${key}=${JSON.stringify(value)}`, "ERROR_CODE_INVALID_CONFIG");
      check("PW-ADMIN-020", e.rawMessage.includes(key), `the error for ${key}=${JSON.stringify(value)} does not name the key: ${e.rawMessage}`);
      await expectAdminError("PW-ADMIN-011", a.describeTopic(name), Code.NotFound, `DescribeTopic after a refused CreateTopic with ${key}=${value}`);
    }
    const name = freshName(ctx, "alter");
    const edge = freshName(ctx, "edge");
    await a.createTopic(edge, { partitions: 1, config: { "max.message.bytes": "57", "retention.bytes": "9007199254740991" } });
    await a.deleteTopic(edge);
    await a.createTopic(name, { partitions: 2, config: { "retention.ms": "-1" } });
    await expectAdminError("PW-ADMIN-016", a.alterTopic(name, { set: { "segment.bytes": "2048", "retention.bytes": "0" } }), Code.InvalidArgument, "AlterTopicConfig with one valid and one invalid entry");
    checkEqual("PW-ADMIN-016", (await a.describeTopic(name)).config?.entries["segment.bytes"], "1073741824", "segment.bytes after a refused alter (atomic: nothing applied)");
    await expectAdminError("PW-ADMIN-016", a.alterTopic(name, { set: { "retention.ms": "1000" }, reset: ["retention.ms"] }), Code.InvalidArgument, "a key both in set and reset");
    await expectAdminError("PW-ADMIN-016", a.alterTopic(name, { partitions: 1 }), Code.InvalidArgument, "shrinking 2 partitions to 1");
    await expectAdminError("PW-ADMIN-016", a.alterTopic(`${name}-missing`, { set: { "retention.ms": "1000" } }), Code.NotFound, "AlterTopicConfig of a missing topic");
    const session = await ctx.connect();
    await produce(session, name, 1, numbered("kept", 1).map((r) => ({ ...r, value: new Uint8Array(0) })));
    const altered = await a.alterTopic(name, { set: { "segment.bytes": "2048" }, reset: ["retention.ms"], partitions: 4 });
    checkEqual("PW-ADMIN-016", [altered.partitions.length, altered.config?.entries["segment.bytes"], altered.config?.entries["retention.ms"]], [4, "2048", "604800000"], "the topic as described after the alter");
    checkEqual("PW-ADMIN-017", altered.partitions.map((p) => p.highWatermark), [0n, 1n, 0n, 0n], "high watermarks after growing to 4 partitions (old data stays, new partitions empty)");
    const { message } = await session.call(FrameKind.METADATA_REQUEST, { topics: [name] });
    checkEqual("PW-ADMIN-017", message.topics[0]?.partitions.length, 4, "partitions in Metadata after the grow");
    const unchanged = await a.alterTopic(name, { partitions: 0 });
    checkEqual("PW-ADMIN-016", unchanged.partitions.length, 4, "partitions after an alter with partitions 0 (unchanged)");
  },
};

const clusterHealth: ConformanceCase = {
  id: "admin/cluster-health",
  title: "DescribeCluster names the cluster, its controller and brokers with URLs and the protocol range; GetHealth reports status, uptime, storage, connections and a storage check; /healthz, /readyz and /metrics answer over plain HTTP",
  plane: "admin",
  clauses: ["PW-ADMIN-040", "PW-ADMIN-041", "PW-ADMIN-042"],
  needs: ["admin"],
  async run(ctx) {
    const a = admin(ctx);
    const cluster = await a.describeCluster();
    if (ctx.welcome.features.includes(Feature.LOG)) {
      const session = await ctx.connect();
      const { message: metadata } = await session.call(FrameKind.METADATA_REQUEST, { topics: [] });
      checkEqual("PW-ADMIN-040", cluster.clusterId, metadata.clusterId, "DescribeCluster.cluster_id against Metadata's");
    }
    check("PW-ADMIN-040", cluster.brokers.some((b) => b.brokerId === cluster.controllerId), `the controller ${cluster.controllerId} is not one of the listed brokers`);
    check("PW-ADMIN-040", cluster.brokers.every((b) => b.urls.length > 0 && b.adminUrl !== "" && b.version !== ""), "every BrokerDescription needs data-plane URLs, an admin URL and a version");
    check("PW-ADMIN-040", cluster.protocolMinVersion <= 1 && cluster.protocolMaxVersion >= 1, `protocol range ${cluster.protocolMinVersion}..${cluster.protocolMaxVersion} does not hold version 1`);
    const health = await a.health();
    check("PW-ADMIN-041", health.uptimeMs > 0n && health.version !== "" && health.storage !== undefined && health.connections >= 1, "GetHealth lacks uptime, version, storage or the connection count");
    check("PW-ADMIN-041", health.checks.some((c) => c.name === "storage"), "GetHealth has no check named storage");
    const worst = health.checks.some((c) => c.status === HealthStatus.NOT_SERVING) ? HealthStatus.NOT_SERVING : health.checks.some((c) => c.status === HealthStatus.DEGRADED) ? HealthStatus.DEGRADED : HealthStatus.SERVING;
    checkEqual("PW-ADMIN-041", HealthStatus[health.status], HealthStatus[worst], "the overall status against the checks");
    const base = adminUrl(ctx);
    const healthz = await fetch(`${base}/healthz`, { headers: adminHeaders(ctx) });
    checkEqual("PW-ADMIN-042", healthz.status, 200, "GET /healthz");
    const readyz = await fetch(`${base}/readyz`, { headers: adminHeaders(ctx) });
    checkEqual("PW-ADMIN-042", readyz.status, health.status === HealthStatus.NOT_SERVING ? 503 : 200, `GET /readyz with status ${HealthStatus[health.status]}`);
    const metrics = await fetch(`${base}/metrics`, { headers: adminHeaders(ctx) });
    checkEqual("PW-ADMIN-042", [metrics.status, metrics.headers.get("content-type")], [200, "text/plain; version=0.0.4; charset=utf-8"], "GET /metrics");
  },
};

/** Families of Prometheus text: name → { type, help }. */
function textFamilies(text: string): Map<string, { type: string; help: string }> {
  const out = new Map<string, { type: string; help: string }>();
  for (const line of text.split("\n")) {
    const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m === null) continue;
    const entry = out.get(m[2] as string) ?? { type: "", help: "" };
    if (m[1] === "TYPE") entry.type = m[3] as string;
    else entry.help = (m[3] as string).replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
    out.set(m[2] as string, entry);
  }
  return out;
}

const metrics: ConformanceCase = {
  id: "admin/metrics",
  title: "GetMetricsSnapshot holds the same families as /metrics, ordered by name, filtered by prefix, with sorted labels, cumulative histograms ending at +Inf, and the required polywire_ metrics",
  plane: "admin",
  clauses: ["PW-ADMIN-043", "PW-ADMIN-044", "PW-ADMIN-045"],
  needs: ["admin"],
  async run(ctx) {
    const a = admin(ctx);
    const session = await ctx.connect();
    await session.call(FrameKind.PING, { nonce: 1n });
    const snapshot = await a.metrics();
    const text = await (await fetch(`${adminUrl(ctx)}/metrics`, { headers: adminHeaders(ctx) })).text();
    const families = snapshot.families;
    const names = families.map((f) => f.name);
    checkEqual("PW-ADMIN-043", names, [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), "family names in order");
    const exposed = textFamilies(text);
    checkEqual("PW-ADMIN-043", [...exposed.keys()].sort(), [...names].sort(), "families of /metrics against the snapshot");
    const typeName: Record<number, string> = { [MetricType.COUNTER]: "counter", [MetricType.GAUGE]: "gauge", [MetricType.HISTOGRAM]: "histogram" };
    for (const f of families) {
      checkEqual("PW-ADMIN-043", [typeName[f.type], f.help], [exposed.get(f.name)?.type, exposed.get(f.name)?.help], `type and help of ${f.name}`);
      check("PW-ADMIN-045", f.name.startsWith("polywire_"), `metric ${f.name} does not start with polywire_`);
      for (const s of f.samples) {
        const labels = s.labels.map((l) => l.name);
        checkEqual("PW-ADMIN-044", labels, [...labels].sort(), `label order of a ${f.name} sample`);
        if (f.type !== MetricType.HISTOGRAM) continue;
        const counts = s.buckets.map((b) => b.count);
        check("PW-ADMIN-044", counts.every((c, i) => i === 0 || c >= (counts[i - 1] as bigint)), `${f.name} buckets are not cumulative`);
        const last = s.buckets[s.buckets.length - 1];
        check("PW-ADMIN-044", last !== undefined && last.upperBound === Number.POSITIVE_INFINITY && last.count === s.count, `${f.name} does not end with a +Inf bucket whose count equals count`);
      }
    }
    const required: Array<[string, MetricType, string | undefined]> = [
      ["polywire_connections", MetricType.GAUGE, undefined],
      ["polywire_frames_received_total", MetricType.COUNTER, "kind"],
      ["polywire_frames_sent_total", MetricType.COUNTER, "kind"],
      ["polywire_records_appended_total", MetricType.COUNTER, "topic"],
      ["polywire_request_duration_seconds", MetricType.HISTOGRAM, "kind"],
    ];
    for (const [name, type, label] of required) {
      const f = families.find((x) => x.name === name);
      check("PW-ADMIN-045", f !== undefined && f.type === type, `the broker does not expose ${name} as a ${MetricType[type].toLowerCase()}`);
      if (label !== undefined && (f?.samples.length ?? 0) > 0) check("PW-ADMIN-045", f?.samples.every((s) => s.labels.some((l) => l.name === label)) === true, `${name} samples are not labelled ${label}`);
    }
    const prefixed = await a.metrics({ namePrefix: "polywire_frames_" });
    check("PW-ADMIN-043", prefixed.families.length > 0 && prefixed.families.every((f) => f.name.startsWith("polywire_frames_")), "a snapshot with name_prefix polywire_frames_ holds other families");
  },
};

/** The admin plane (§11). */
export const adminCases: readonly ConformanceCase[] = [protocol, topicLifecycle, topicNames, topicConfig, clusterHealth, metrics, ...metricLabelCases, adminAuthentication, ...requestCases, ...grpcServiceCases, ...retentionCases, ...discoveryCases, ...listenerCases];
