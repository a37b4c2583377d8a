import { Code } from "@connectrpc/connect";
import { HealthStatus, MetricType } from "@polywire/proto/admin";
import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { PolywireError } from "@polywire/runtime";
import { Connection } from "@polywire/runtime/connection";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { ADMIN_VARIANTS, adminClients, connectFailure, type AdminClients } from "./admin-clients.js";
import { tempDir } from "./helpers.js";

/** The config keys of PW-ADMIN-020's table. */
const SPEC_CONFIG_KEYS = ["fsync.interval.ms", "fsync.policy", "max.message.bytes", "retention.bytes", "retention.ms", "segment.bytes", "segment.ms"];

describe.each(ADMIN_VARIANTS)("admin services over $name (PW-ADMIN-001)", (variant) => {
  let broker: Broker;
  let admin: AdminClients;
  let conn: Connection;
  let dir: { path: string; remove(): void };

  beforeAll(async () => {
    await init();
    dir = tempDir("admin");
    broker = await Broker.start({
      listeners: ["tcp://127.0.0.1:0"],
      storage: { engine: "disk", dir: dir.path },
      http: { port: 0 },
      brokerId: "broker-a",
      clusterId: "cluster-a",
    });
    admin = adminClients(broker.httpUrl as string, variant);
    conn = await Connection.connect(broker.urls[0] as string);
  });

  afterAll(async () => {
    admin?.close();
    await conn?.close();
    await broker?.close();
    dir?.remove();
  });

  async function produce(topic: string, partition: number, ...values: string[]): Promise<void> {
    const batch = encodeBatch(values.map((v) => ({ value: new TextEncoder().encode(v) })));
    await conn.call(FrameKind.PRODUCE_REQUEST, { topic, partition, acks: Acks.ALL }, batch);
  }

  it("PW-ADMIN-011/PW-ADMIN-012: CreateTopic answers with the description DescribeTopic gives: murmur2, empty partitions, effective config", async () => {
    const { topic } = await admin.topics.createTopic({ name: "orders", partitions: 3, config: { "retention.ms": "3600000" } });
    expect(topic?.name).toBe("orders");
    expect(topic?.partitioner).toBe("murmur2");
    expect(topic?.internal).toBe(false);
    expect(topic?.partitions.map((p) => [p.partition, p.leaderId, p.logStartOffset, p.highWatermark])).toEqual([
      [0, "broker-a", 0n, 0n], [1, "broker-a", 0n, 0n], [2, "broker-a", 0n, 0n],
    ]);
    // PW-ADMIN-015: every key of PW-ADMIN-020's table, defaults included, and no other.
    expect(Object.keys(topic?.config?.entries ?? {}).sort()).toEqual(SPEC_CONFIG_KEYS);
    expect(topic?.config?.entries["retention.ms"]).toBe("3600000");
    expect(topic?.config?.entries["fsync.policy"]).toBe("interval");
    const described = await admin.topics.describeTopic({ name: "orders" });
    expect(described.topic).toEqual(topic);
  });

  it("PW-ADMIN-011: partitions 0 means the broker default, 1", async () => {
    const { topic } = await admin.topics.createTopic({ name: "defaulted" });
    expect(topic?.partitions).toHaveLength(1);
  });

  it("PW-ADMIN-010 PW-ERR-007: CreateTopic rejects names outside the grammar and reserved __ names with invalid_argument naming ERROR_CODE_INVALID_TOPIC and the name, cut at 128 characters", async () => {
    for (const name of ["", ".", "..", "a/b", "spaced name", "ü", "x".repeat(250), "__internal"]) {
      const error = await connectFailure(admin.topics.createTopic({ name, partitions: 1 }), Code.InvalidArgument);
      expect(error.rawMessage).toContain("ERROR_CODE_INVALID_TOPIC");
      // A name over 128 characters comes back cut, with its length (PW-ERR-007).
      expect(error.rawMessage).toContain(name.length <= 128 ? JSON.stringify(name) : `"${name.slice(0, 128)}…" (${name.length} characters)`);
    }
    expect((await admin.topics.listTopics({ includeInternal: true })).topics.map((t) => t.name)).not.toContain("__internal");
    const longest = "y".repeat(249);
    expect((await admin.topics.createTopic({ name: longest })).topic?.name).toBe(longest);
  });

  it("PW-ADMIN-011: an existing topic is already_exists naming ERROR_CODE_TOPIC_ALREADY_EXISTS and is left as it was", async () => {
    await admin.topics.createTopic({ name: "twice", partitions: 2 });
    const error = await connectFailure(admin.topics.createTopic({ name: "twice", partitions: 5 }), Code.AlreadyExists);
    expect(error.rawMessage).toMatch(/ERROR_CODE_TOPIC_ALREADY_EXISTS.*twice/);
    expect((await admin.topics.describeTopic({ name: "twice" })).topic?.partitions).toHaveLength(2);
  });

  it("PW-ADMIN-011/PW-ADMIN-020: too many partitions or a bad config entry is invalid_argument naming the input, and a failed create leaves nothing behind", async () => {
    const tooMany = await connectFailure(admin.topics.createTopic({ name: "huge", partitions: 100_001 }), Code.InvalidArgument);
    expect(tooMany.rawMessage).toMatch(/ERROR_CODE_INVALID_ARGUMENT.*100001/);
    const unknownKey = await connectFailure(admin.topics.createTopic({ name: "cfg", partitions: 1, config: { "retention.mss": "1" } }), Code.InvalidArgument);
    expect(unknownKey.rawMessage).toMatch(/ERROR_CODE_INVALID_CONFIG.*"retention\.mss"/);
    for (const [key, value] of [["segment.bytes", "12"], ["segment.bytes", "+2048"], ["segment.bytes", "02048"], ["retention.ms", "-2"], ["retention.ms", "0"], ["retention.bytes", "1e9"], ["segment.ms", "0"], ["max.message.bytes", "56"], ["fsync.policy", "sometimes"], ["fsync.interval.ms", "0"], ["max.message.bytes", " 100"]] as const) {
      const bad = await connectFailure(admin.topics.createTopic({ name: "cfg", partitions: 1, config: { [key]: value } }), Code.InvalidArgument);
      expect(bad.rawMessage).toContain("ERROR_CODE_INVALID_CONFIG");
      expect(bad.rawMessage).toContain(key);
    }
    for (const name of ["huge", "cfg"]) await connectFailure(admin.topics.describeTopic({ name }), Code.NotFound);
    expect((await admin.topics.listTopics({})).topics.map((t) => t.name)).not.toContain("cfg");
    expect((await admin.topics.createTopic({ name: "cfg", partitions: 1 })).topic?.name).toBe("cfg");
  });

  it("PW-ADMIN-014: ListTopics is in name order and shows internal topics only when asked", async () => {
    await broker.createTopic("__consumer_offsets", { partitions: 1 });
    await admin.topics.createTopic({ name: "a-first", partitions: 4 });
    const visible = (await admin.topics.listTopics({})).topics;
    const names = visible.map((t) => t.name);
    expect(names).toEqual([...names].sort());
    expect(names).not.toContain("__consumer_offsets");
    expect(visible.find((t) => t.name === "a-first")).toMatchObject({ partitions: 4, internal: false });
    const all = (await admin.topics.listTopics({ includeInternal: true })).topics;
    expect(all.find((t) => t.name === "__consumer_offsets")).toMatchObject({ partitions: 1, internal: true });
    expect(all.map((t) => t.name)).toEqual(all.map((t) => t.name).sort());
  });

  it("PW-ADMIN-015: DescribeTopic reports each partition's offsets, size and segments; an unknown topic is not_found", async () => {
    await admin.topics.createTopic({ name: "sized", partitions: 2 });
    await produce("sized", 1, "one", "two", "three");
    const { topic } = await admin.topics.describeTopic({ name: "sized" });
    const [p0, p1] = topic?.partitions ?? [];
    expect([p0?.partition, p0?.highWatermark, p0?.sizeBytes]).toEqual([0, 0n, 0n]);
    expect([p1?.partition, p1?.logStartOffset, p1?.highWatermark]).toEqual([1, 0n, 3n]);
    expect(p1?.sizeBytes).toBeGreaterThan(0n);
    expect(p1?.segments).toBeGreaterThanOrEqual(1);
    const missing = await connectFailure(admin.topics.describeTopic({ name: "nope" }), Code.NotFound);
    expect(missing.rawMessage).toMatch(/ERROR_CODE_UNKNOWN_TOPIC.*"nope"/);
  });

  it("PW-ADMIN-016/PW-ADMIN-017: AlterTopicConfig sets, resets and grows partitions; new partitions start empty and take keyed records", async () => {
    await admin.topics.createTopic({ name: "altered", partitions: 1, config: { "retention.ms": "1000", "segment.bytes": "4096" } });
    await produce("altered", 0, "kept");
    const { topic } = await admin.topics.alterTopicConfig({ name: "altered", set: { "fsync.policy": "always" }, reset: ["retention.ms"], partitions: 3 });
    expect(topic?.config?.entries).toMatchObject({ "fsync.policy": "always", "retention.ms": "604800000", "segment.bytes": "4096" });
    expect(topic?.partitions.map((p) => p.highWatermark)).toEqual([1n, 0n, 0n]);
    await produce("altered", 2, "new partition");
    expect((await admin.topics.describeTopic({ name: "altered" })).topic?.partitions[2]?.highWatermark).toBe(1n);
    const same = await admin.topics.alterTopicConfig({ name: "altered", partitions: 0 });
    expect(same.topic?.partitions).toHaveLength(3);
    const equal = await admin.topics.alterTopicConfig({ name: "altered", partitions: 3 });
    expect(equal.topic?.partitions).toHaveLength(3);
  });

  it("PW-ADMIN-016: AlterTopicConfig is atomic and rejects shrinking, unknown keys, bad values and a key both set and reset", async () => {
    await admin.topics.createTopic({ name: "strict", partitions: 2, config: { "retention.ms": "5000" } });
    const before = (await admin.topics.describeTopic({ name: "strict" })).topic;
    const shrink = await connectFailure(admin.topics.alterTopicConfig({ name: "strict", partitions: 1 }), Code.InvalidArgument);
    expect(shrink.rawMessage).toMatch(/ERROR_CODE_INVALID_ARGUMENT.*only grow/);
    const unknown = await connectFailure(admin.topics.alterTopicConfig({ name: "strict", set: { "retention.ms": "9000", bogus: "1" }, partitions: 4 }), Code.InvalidArgument);
    expect(unknown.rawMessage).toMatch(/ERROR_CODE_INVALID_CONFIG.*"bogus"/);
    const badValue = await connectFailure(admin.topics.alterTopicConfig({ name: "strict", set: { "segment.bytes": "lots" }, partitions: 4 }), Code.InvalidArgument);
    expect(badValue.rawMessage).toMatch(/ERROR_CODE_INVALID_CONFIG.*segment\.bytes/);
    const unknownReset = await connectFailure(admin.topics.alterTopicConfig({ name: "strict", reset: ["nope.key"] }), Code.InvalidArgument);
    expect(unknownReset.rawMessage).toContain("nope.key");
    const both = await connectFailure(admin.topics.alterTopicConfig({ name: "strict", set: { "retention.ms": "1" }, reset: ["retention.ms"] }), Code.InvalidArgument);
    expect(both.rawMessage).toMatch(/ERROR_CODE_INVALID_CONFIG.*"retention\.ms"/);
    expect((await admin.topics.describeTopic({ name: "strict" })).topic).toEqual(before);
    await connectFailure(admin.topics.alterTopicConfig({ name: "ghost", set: { "retention.ms": "1" } }), Code.NotFound);
  });

  it("PW-ADMIN-013: DeleteTopic removes the topic and its records; produce then gets UNKNOWN_TOPIC and a new topic starts at 0", async () => {
    await admin.topics.createTopic({ name: "doomed", partitions: 1 });
    await produce("doomed", 0, "a", "b");
    expect(await admin.topics.deleteTopic({ name: "doomed" })).toBeDefined();
    await connectFailure(admin.topics.describeTopic({ name: "doomed" }), Code.NotFound);
    const refused = await produce("doomed", 0, "c").then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(PolywireError);
    expect((refused as PolywireError).code).toBe("UNKNOWN_TOPIC");
    const { topic } = await admin.topics.createTopic({ name: "doomed", partitions: 1 });
    expect(topic?.partitions[0]?.highWatermark).toBe(0n);
    const missing = await connectFailure(admin.topics.deleteTopic({ name: "never-was" }), Code.NotFound);
    expect(missing.rawMessage).toContain("never-was");
    await broker.createTopic("__internal_state", { partitions: 1 });
    const internal = await connectFailure(admin.topics.deleteTopic({ name: "__internal_state" }), Code.InvalidArgument);
    expect(internal.rawMessage).toContain("__internal_state");
  });

  it("PW-ADMIN-040: DescribeCluster names the single broker as controller with its URLs, admin URL, version and protocol range", async () => {
    const cluster = await admin.cluster.describeCluster({});
    expect(cluster.clusterId).toBe("cluster-a");
    expect(cluster.controllerId).toBe("broker-a");
    expect(cluster.brokers).toHaveLength(1);
    expect(cluster.brokers[0]).toMatchObject({ brokerId: "broker-a", urls: [...broker.urls], adminUrl: broker.httpUrl, version: "0.1.0" });
    expect([cluster.protocolMinVersion, cluster.protocolMaxVersion]).toEqual([1, 1]);
  });

  it("PW-ADMIN-041: GetHealth reports status, uptime, version, disk storage, connections and a storage check", async () => {
    const health = await admin.cluster.getHealth({});
    expect([HealthStatus.SERVING, HealthStatus.DEGRADED]).toContain(health.status);
    expect(health.uptimeMs).toBeGreaterThan(0n);
    expect(health.version).toBe("0.1.0");
    expect(health.storage?.engine).toBe("disk");
    expect(health.storage?.directory).toBe(dir.path);
    expect(health.storage?.usedBytes).toBeGreaterThan(0n);
    expect(health.storage?.freeBytes).toBeGreaterThan(0n);
    expect(health.connections).toBe(1);
    expect(health.checks.map((c) => c.name)).toEqual(expect.arrayContaining(["storage", "listeners", "lifecycle", "connections"]));
    const storage = health.checks.find((c) => c.name === "storage");
    expect(storage?.detail).toContain(dir.path);
    expect(health.checks.find((c) => c.name === "listeners")?.detail).toContain(broker.urls[0]);
  });

  it("PW-ADMIN-043/PW-ADMIN-044/PW-ADMIN-045: GetMetricsSnapshot filters by prefix, orders families by name and labels by name, folds histograms", async () => {
    await produce("orders", 0, "metered");
    const all = await admin.metrics.getMetricsSnapshot({});
    const names = all.families.map((f) => f.name);
    expect(names).toEqual([...names].sort());
    expect(names.every((n) => n.startsWith("polywire_"))).toBe(true);
    expect(names).toEqual(expect.arrayContaining([
      "polywire_connections", "polywire_frames_received_total", "polywire_frames_sent_total", "polywire_records_appended_total",
      "polywire_request_duration_seconds", "polywire_admin_request_duration_seconds", "polywire_admin_requests_total",
      "polywire_bytes_appended_total", "polywire_bytes_fetched_total", "polywire_records_fetched_total", "polywire_connections_rejected_total",
    ]));
    expect(Number(all.timestampMs)).toBeGreaterThan(Date.now() - 60_000);
    const appended = all.families.find((f) => f.name === "polywire_records_appended_total");
    expect(appended?.type).toBe(MetricType.COUNTER);
    expect(appended?.samples.find((s) => s.labels[0]?.value === "orders")?.value).toBeGreaterThanOrEqual(1);
    const connections = all.families.find((f) => f.name === "polywire_connections");
    expect(connections?.type).toBe(MetricType.GAUGE);
    expect(connections?.samples.find((s) => s.labels.some((l) => l.value === "tcp"))?.value).toBe(1);

    const latency = await admin.metrics.getMetricsSnapshot({ namePrefix: "polywire_request_duration" });
    expect(latency.families.map((f) => f.name)).toEqual(["polywire_request_duration_seconds"]);
    const histogram = latency.families[0];
    expect(histogram?.type).toBe(MetricType.HISTOGRAM);
    const produceLatency = histogram?.samples.find((s) => s.labels.some((l) => l.name === "kind" && l.value === "FRAME_KIND_PRODUCE_REQUEST"));
    expect(produceLatency?.count).toBeGreaterThanOrEqual(1n);
    expect(produceLatency?.sum).toBeGreaterThan(0);
    const bounds = produceLatency?.buckets.map((b) => b.upperBound) ?? [];
    expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
    expect(bounds.at(-1)).toBe(Number.POSITIVE_INFINITY);
    expect(produceLatency?.buckets.at(-1)?.count).toBe(produceLatency?.count);
    const counts = produceLatency?.buckets.map((b) => b.count) ?? [];
    expect(counts.every((c, i) => i === 0 || c >= (counts[i - 1] as bigint))).toBe(true);

    const admins = await admin.metrics.getMetricsSnapshot({ namePrefix: "polywire_admin_requests" });
    for (const sample of admins.families[0]?.samples ?? []) {
      expect(sample.labels.map((l) => l.name)).toEqual(["code", "method", "service"]);
    }
    const createdOk = admins.families[0]?.samples.find((s) => s.labels.some((l) => l.value === "CreateTopic") && s.labels.some((l) => l.value === "ok"));
    expect(createdOk?.value).toBeGreaterThanOrEqual(1);
    const createdBad = admins.families[0]?.samples.find((s) => s.labels.some((l) => l.value === "CreateTopic") && s.labels.some((l) => l.value === "invalid_argument"));
    expect(createdBad?.value).toBeGreaterThanOrEqual(1);
    expect((await admin.metrics.getMetricsSnapshot({ namePrefix: "nothing_" })).families).toEqual([]);
  });
});
