// Admin plane messages (admin.proto), exchanged over Connect, so they have no
// frame. Map entries are listed in key order (bytewise): deterministic
// serializers sort them so, and insertion-ordered ones keep them so.
// Every v1 topic config key (spec §11.3) with its default.
const config = {
  "fsync.interval.ms": "1000",
  "fsync.policy": "interval",
  "max.message.bytes": "8388608",
  "retention.bytes": "-1",
  "retention.ms": "604800000",
  "segment.bytes": "1073741824",
  "segment.ms": "604800000",
};

const partitionDescription = { partition: 1, leaderId: "broker-1", logStartOffset: "1000", highWatermark: "1202", sizeBytes: "1048576", segments: 2 };

// An internal topic (its name starts with "__", PW-ADMIN-010) that has been
// written to for a while: every field set.
const topicDescription = {
  name: "__audit",
  partitioner: "murmur2",
  partitions: [{ leaderId: "broker-1", highWatermark: "3", sizeBytes: "412", segments: 1 }, partitionDescription],
  config: { entries: { ...config, "retention.ms": "-1" } },
  internal: true,
};

/** `count` partitions of a topic that holds no record yet: offsets 0, nothing on disk (PW-ADMIN-012, PW-ADMIN-017). */
const emptyPartitions = (count, from = 0) => Array.from({ length: count - from }, (_, i) => (i + from === 0 ? { leaderId: "broker-1" } : { partition: i + from, leaderId: "broker-1" }));

// The topic create-topic-request creates, as CreateTopicResponse describes it:
// twelve empty partitions, the defaults with the two overrides, not internal.
const createdTopic = {
  name: "orders",
  partitioner: "murmur2",
  partitions: emptyPartitions(12),
  config: { entries: { ...config, "fsync.policy": "always", "retention.ms": "86400000" } },
};

// That topic after alter-topic-config-request: two keys set, fsync.policy
// back to its default, grown from 12 to 16 partitions, partition 1 written to.
const alteredTopic = {
  name: "orders",
  partitioner: "murmur2",
  partitions: emptyPartitions(16).map((p, i) => (i === 1 ? partitionDescription : p)),
  config: { entries: { ...config, "max.message.bytes": "2097152", "retention.bytes": "10737418240", "retention.ms": "86400000" } },
};

const lag = { topic: "orders", partition: 1, committedOffset: "990", highWatermark: "1202", lag: "212", memberId: "m-5f0c2a" };

const member = {
  memberId: "m-5f0c2a",
  instanceId: "billing-host-3",
  clientId: "billing-worker-7",
  memberEpoch: 8,
  subscribedTopics: ["orders", "payments"],
  assigned: [{ topic: "orders", partitions: [0, 1] }],
  target: [{ topic: "orders", partitions: [0, 1] }, { topic: "payments", partitions: [0] }],
};

const histogram = {
  name: "polywire_request_duration_seconds",
  help: "Time from a request's arrival to its response.",
  type: "METRIC_TYPE_HISTOGRAM",
  samples: [
    {
      labels: [{ name: "kind", value: "FRAME_KIND_PRODUCE_REQUEST" }],
      value: 0.5,
      count: "12",
      sum: 0.0375,
      buckets: [
        { upperBound: 0.005, count: "10" },
        { upperBound: 0.05, count: "12" },
        { upperBound: "Infinity", count: "12" },
      ],
    },
  ],
};

export default [
  { name: "topic-config", type: "TopicConfig", description: "Every v1 key with its default, in key order.", clauses: ["PW-ADMIN-020"], json: { entries: config } },
  {
    name: "create-topic-request",
    type: "CreateTopicRequest",
    description: "Twelve partitions, two overrides.",
    clauses: ["PW-ADMIN-010", "PW-ADMIN-011"],
    json: { name: "orders", partitions: 12, config: { "fsync.policy": "always", "retention.ms": "86400000" } },
  },
  {
    name: "create-topic-response",
    type: "CreateTopicResponse",
    description: "The topic of create-topic-request, just created: twelve empty partitions (offsets 0), the effective config (defaults and the two overrides), not internal.",
    clauses: ["PW-ADMIN-011", "PW-ADMIN-012"],
    json: { topic: createdTopic },
  },
  { name: "delete-topic-request", type: "DeleteTopicRequest", description: "Delete a topic.", clauses: ["PW-ADMIN-013"], json: { name: "orders" } },
  { name: "delete-topic-response", type: "DeleteTopicResponse", description: "Empty message: zero bytes.", clauses: ["PW-ADMIN-013"], json: {} },
  { name: "list-topics-request", type: "ListTopicsRequest", description: "Include internal topics.", clauses: ["PW-ADMIN-014"], json: { includeInternal: true } },
  { name: "topic-summary", type: "TopicSummary", description: "An internal topic.", clauses: ["PW-ADMIN-014"], json: { name: "__consumer_offsets", partitions: 50, internal: true } },
  {
    name: "list-topics-response",
    type: "ListTopicsResponse",
    description: "Ordered by name as bytes.",
    clauses: ["PW-ADMIN-014"],
    json: { topics: [{ name: "__consumer_offsets", partitions: 50, internal: true }, { name: "orders", partitions: 12 }] },
  },
  { name: "describe-topic-request", type: "DescribeTopicRequest", description: "Describe one topic.", clauses: ["PW-ADMIN-015"], json: { name: "orders" } },
  { name: "partition-description", type: "PartitionDescription", description: "Every field set.", clauses: ["PW-ADMIN-015"], json: partitionDescription },
  { name: "topic-description", type: "TopicDescription", description: "Every field set: an internal topic, the full effective config.", clauses: ["PW-ADMIN-010", "PW-ADMIN-015"], json: topicDescription },
  { name: "describe-topic-response", type: "DescribeTopicResponse", description: "One internal topic, described.", clauses: ["PW-ADMIN-015"], json: { topic: topicDescription } },
  {
    name: "alter-topic-config-request",
    type: "AlterTopicConfigRequest",
    description: "Set two keys, reset one, grow to 16 partitions.",
    clauses: ["PW-ADMIN-016", "PW-ADMIN-017"],
    json: { name: "orders", set: { "max.message.bytes": "2097152", "retention.bytes": "10737418240" }, reset: ["fsync.policy"], partitions: 16 },
  },
  {
    name: "alter-topic-config-response",
    type: "AlterTopicConfigResponse",
    description: "The topic of create-topic-response after alter-topic-config-request: two keys set, fsync.policy reset to its default, sixteen partitions, the new ones empty.",
    clauses: ["PW-ADMIN-016", "PW-ADMIN-017"],
    json: { topic: alteredTopic },
  },
  { name: "list-groups-request", type: "ListGroupsRequest", description: "Empty message.", clauses: ["PW-ADMIN-030"], json: {} },
  { name: "group-summary", type: "GroupSummary", description: "A stable group of three.", clauses: ["PW-ADMIN-030", "PW-GROUP-025"], json: { groupId: "billing", state: "GROUP_STATE_STABLE", members: 3 } },
  {
    name: "list-groups-response",
    type: "ListGroupsResponse",
    description: "Ordered by group id.",
    clauses: ["PW-ADMIN-030"],
    json: { groups: [{ groupId: "audit", state: "GROUP_STATE_EMPTY" }, { groupId: "billing", state: "GROUP_STATE_RECONCILING", members: 3 }] },
  },
  { name: "describe-group-request", type: "DescribeGroupRequest", description: "Describe one group.", clauses: ["PW-ADMIN-031"], json: { groupId: "billing" } },
  { name: "group-member", type: "GroupMember", description: "Every field set.", clauses: ["PW-ADMIN-031"], json: member },
  { name: "partition-lag", type: "PartitionLag", description: "212 records behind.", clauses: ["PW-ADMIN-032"], json: lag },
  {
    name: "describe-group-response",
    type: "DescribeGroupResponse",
    description: "Every field set.",
    clauses: ["PW-ADMIN-031", "PW-ADMIN-032"],
    json: {
      groupId: "billing",
      state: "GROUP_STATE_RECONCILING",
      groupEpoch: 9,
      assignor: "ASSIGNOR_COOPERATIVE_STICKY",
      members: [member],
      lag: [lag, { topic: "payments", committedOffset: "-1", highWatermark: "40", lag: "-1" }],
    },
  },
  {
    name: "reset-group-offsets-request",
    type: "ResetGroupOffsetsRequest",
    description: "Every field set: a dry run to a timestamp.",
    clauses: ["PW-ADMIN-033", "PW-ADMIN-034"],
    json: { groupId: "billing", partitions: [{ topic: "orders", partitions: [0, 1] }], target: "RESET_TARGET_TIMESTAMP", value: "1714564800000", dryRun: true },
  },
  {
    name: "reset-group-offsets-response",
    type: "ResetGroupOffsetsResponse",
    description: "The new offsets.",
    clauses: ["PW-ADMIN-034"],
    json: { offsets: [{ topic: "orders", committedOffset: "1100", highWatermark: "1202", lag: "102" }] },
  },
  { name: "delete-group-request", type: "DeleteGroupRequest", description: "Delete an empty group.", clauses: ["PW-ADMIN-035"], json: { groupId: "audit" } },
  { name: "delete-group-response", type: "DeleteGroupResponse", description: "Empty message.", clauses: ["PW-ADMIN-035"], json: {} },
  { name: "describe-cluster-request", type: "DescribeClusterRequest", description: "Empty message.", clauses: ["PW-ADMIN-040"], json: {} },
  {
    name: "broker-description",
    type: "BrokerDescription",
    description: "A broker's listeners.",
    clauses: ["PW-ADMIN-040"],
    json: { brokerId: "broker-1", urls: ["tcp://127.0.0.1:7420", "unix:///run/polywire.sock"], adminUrl: "http://127.0.0.1:7480", version: "0.1.0" },
  },
  {
    name: "describe-cluster-response",
    type: "DescribeClusterResponse",
    description: "A single-node cluster.",
    clauses: ["PW-ADMIN-040"],
    json: {
      clusterId: "pw-cluster-01",
      controllerId: "broker-1",
      brokers: [{ brokerId: "broker-1", urls: ["tcp://127.0.0.1:7420"], adminUrl: "http://127.0.0.1:7480", version: "0.1.0" }],
      protocolMinVersion: 1,
      protocolMaxVersion: 1,
    },
  },
  { name: "get-health-request", type: "GetHealthRequest", description: "Empty message.", clauses: ["PW-ADMIN-041"], json: {} },
  { name: "health-check", type: "HealthCheck", description: "Low disk.", clauses: ["PW-ADMIN-041"], json: { name: "storage", status: "HEALTH_STATUS_DEGRADED", detail: "3% free" } },
  {
    name: "storage-info",
    type: "StorageInfo",
    description: "A disk engine.",
    clauses: ["PW-ADMIN-041"],
    json: { engine: "disk", directory: "/var/lib/polywire", usedBytes: "73014444032", freeBytes: "2147483648" },
  },
  {
    name: "get-health-response",
    type: "GetHealthResponse",
    description: "Degraded because the storage check is.",
    clauses: ["PW-ADMIN-041"],
    json: {
      status: "HEALTH_STATUS_DEGRADED",
      uptimeMs: "86400000",
      version: "0.1.0",
      storage: { engine: "disk", directory: "/var/lib/polywire", usedBytes: "73014444032", freeBytes: "2147483648" },
      checks: [
        { name: "listeners", status: "HEALTH_STATUS_SERVING" },
        { name: "storage", status: "HEALTH_STATUS_DEGRADED", detail: "3% free" },
      ],
      connections: 42,
    },
  },
  { name: "get-metrics-snapshot-request", type: "GetMetricsSnapshotRequest", description: "Only request metrics.", clauses: ["PW-ADMIN-043"], json: { namePrefix: "polywire_request" } },
  { name: "label", type: "Label", description: "One label.", clauses: ["PW-ADMIN-044"], json: { name: "kind", value: "FRAME_KIND_FETCH_REQUEST" } },
  { name: "bucket", type: "Bucket", description: "A cumulative bucket.", clauses: ["PW-ADMIN-044"], json: { upperBound: 0.25, count: "7" } },
  {
    name: "sample",
    type: "Sample",
    description: "Every field set (a histogram sample carries no value in practice).",
    clauses: ["PW-ADMIN-044"],
    json: histogram.samples[0],
  },
  { name: "metric-family", type: "MetricFamily", description: "A histogram ending with the +Inf bucket.", clauses: ["PW-ADMIN-044", "PW-ADMIN-045"], json: histogram },
  {
    name: "get-metrics-snapshot-response",
    type: "GetMetricsSnapshotResponse",
    description: "A gauge and a histogram, ordered by name.",
    clauses: ["PW-ADMIN-043", "PW-ADMIN-044"],
    json: {
      timestampMs: "1714564800000",
      families: [
        { name: "polywire_connections", help: "Open data-plane connections.", type: "METRIC_TYPE_GAUGE", samples: [{ value: 42 }] },
        histogram,
      ],
    },
  },
];
