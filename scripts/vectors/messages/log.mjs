// Log plane messages (log.proto). Frames that carry record batches carry the
// ORDER_RECORDS batch of batches.json ("orders-uncompressed") as payload.
import { orderBatch } from "../samples.mjs";

const batch = orderBatch();

export default [
  {
    name: "produce-request",
    type: "ProduceRequest",
    description: "Append the payload batch to orders/3 and wait for fsync.",
    clauses: ["PW-LOG-001", "PW-LOG-006"],
    json: { topic: "orders", partition: 3, acks: "ACKS_ALL", timeoutMs: 5000 },
    frame: { correlationId: 3, payload: batch },
  },
  {
    name: "produce-response",
    type: "ProduceResponse",
    description: "Every field set: a retried batch recognised as a duplicate (the error fields are set only to fill them).",
    clauses: ["PW-LOG-002", "PW-IDEM-003"],
    json: { errorCode: "ERROR_CODE_TIMEOUT", errorMessage: "fsync took 5012 ms", baseOffset: "1200", logAppendTimeMs: "1714564800123", logStartOffset: "1000", duplicate: true },
    frame: { correlationId: 3 },
  },
  {
    name: "produce-response-ok",
    type: "ProduceResponse",
    description: "A plain success.",
    clauses: ["PW-LOG-002"],
    json: { baseOffset: "42", logAppendTimeMs: "1714564800123" },
    frame: { correlationId: 3 },
  },
  {
    name: "fetch-partition",
    type: "FetchPartition",
    description: "Read orders/3 from offset 1200, at most 1 MiB.",
    clauses: ["PW-LOG-017"],
    json: { topic: "orders", partition: 3, offset: "1200", maxBytes: 1048576 },
  },
  {
    name: "fetch-request",
    type: "FetchRequest",
    description: "A long poll over two partitions.",
    clauses: ["PW-LOG-010", "PW-LOG-014", "PW-LOG-017"],
    json: {
      partitions: [
        { topic: "orders", partition: 3, offset: "1200", maxBytes: 1048576 },
        { topic: "payments", offset: "7", maxBytes: 65536 },
      ],
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 4194304,
    },
    frame: { correlationId: 5 },
  },
  {
    name: "fetch-partition-result",
    type: "FetchPartitionResult",
    description: "Every field set: one partition's section of a fetch response.",
    clauses: ["PW-LOG-010", "PW-LOG-016"],
    json: { topic: "orders", partition: 3, errorCode: "ERROR_CODE_OFFSET_OUT_OF_RANGE", highWatermark: "1202", logStartOffset: "1000", recordsSize: batch.length },
  },
  {
    name: "fetch-response",
    type: "FetchResponse",
    description: "One partition with data (the payload batch), one out of range.",
    clauses: ["PW-LOG-010", "PW-LOG-011", "PW-LOG-015"],
    json: {
      partitions: [
        { topic: "orders", partition: 3, highWatermark: "1202", logStartOffset: "1000", recordsSize: batch.length },
        { topic: "payments", errorCode: "ERROR_CODE_OFFSET_OUT_OF_RANGE", highWatermark: "5" },
      ],
    },
    frame: { correlationId: 5, payload: batch },
  },
  {
    name: "list-offsets-partition",
    type: "ListOffsetsPartition",
    description: "The first offset at or after a time.",
    clauses: ["PW-LOG-021"],
    json: { topic: "orders", partition: 3, spec: "OFFSET_SPEC_TIMESTAMP", timestampMs: "1714564800000" },
  },
  {
    name: "list-offsets-request",
    type: "ListOffsetsRequest",
    description: "Earliest, latest and by-time offsets.",
    clauses: ["PW-LOG-020", "PW-LOG-021", "PW-LOG-024"],
    json: {
      partitions: [
        { topic: "orders", spec: "OFFSET_SPEC_EARLIEST" },
        { topic: "orders", partition: 1, spec: "OFFSET_SPEC_LATEST" },
        { topic: "orders", partition: 3, spec: "OFFSET_SPEC_TIMESTAMP", timestampMs: "1714564800000" },
      ],
    },
    frame: { correlationId: 7 },
  },
  {
    name: "list-offsets-result",
    type: "ListOffsetsResult",
    description: "Every field set.",
    clauses: ["PW-LOG-021", "PW-LOG-024"],
    json: { topic: "orders", partition: 3, errorCode: "ERROR_CODE_UNKNOWN_PARTITION", offset: "1200", timestampMs: "1714564800000" },
  },
  {
    name: "list-offsets-response",
    type: "ListOffsetsResponse",
    description: "Answers to list-offsets-request, in order; no record at the timestamp gives -1.",
    clauses: ["PW-LOG-020", "PW-LOG-021", "PW-LOG-024"],
    json: {
      partitions: [
        { topic: "orders", timestampMs: "-1" },
        { topic: "orders", partition: 1, offset: "9001", timestampMs: "-1" },
        { topic: "orders", partition: 3, offset: "-1", timestampMs: "-1" },
      ],
    },
    frame: { correlationId: 7 },
  },
  {
    name: "metadata-request",
    type: "MetadataRequest",
    description: "Describe two topics.",
    clauses: ["PW-LOG-022"],
    json: { topics: ["orders", "payments"] },
    frame: { correlationId: 11 },
  },
  {
    name: "broker-info",
    type: "BrokerInfo",
    description: "A broker and its data-plane URLs.",
    clauses: ["PW-LOG-025"],
    json: { brokerId: "broker-1", urls: ["tcp://10.0.0.5:7420", "ws://10.0.0.5:7480/polywire"] },
  },
  {
    name: "broker-info-admin-url",
    type: "BrokerInfo",
    description: "A broker, its data-plane URLs and the base URL of its admin listener.",
    clauses: ["PW-LOG-025", "PW-ADMIN-061"],
    json: { brokerId: "broker-1", urls: ["tcp://10.0.0.5:7420", "ws://10.0.0.5:7480/polywire"], adminUrl: "http://10.0.0.5:7421" },
  },
  {
    name: "partition-metadata",
    type: "PartitionMetadata",
    description: "One partition's leader and offsets.",
    clauses: ["PW-LOG-023", "PW-LOG-025"],
    json: { partition: 2, leaderId: "broker-1", highWatermark: "88", logStartOffset: "12" },
  },
  {
    name: "topic-metadata",
    type: "TopicMetadata",
    description: "Every field set.",
    clauses: ["PW-LOG-023", "PW-PART-001"],
    json: { name: "orders", errorCode: "ERROR_CODE_UNKNOWN_TOPIC", partitioner: "murmur2", partitions: [{ leaderId: "broker-1", highWatermark: "10" }] },
  },
  {
    name: "metadata-response",
    type: "MetadataResponse",
    description: "A one-broker cluster with one topic and one missing topic.",
    clauses: ["PW-LOG-022", "PW-LOG-023", "PW-LOG-025"],
    json: {
      clusterId: "pw-cluster-01",
      brokers: [{ brokerId: "broker-1", urls: ["tcp://127.0.0.1:7420"] }],
      topics: [
        {
          name: "orders",
          partitioner: "murmur2",
          partitions: [
            { leaderId: "broker-1", highWatermark: "10" },
            { partition: 1, leaderId: "broker-1", highWatermark: "3" },
          ],
        },
        { name: "payments", errorCode: "ERROR_CODE_UNKNOWN_TOPIC" },
      ],
    },
    frame: { correlationId: 11 },
  },
  {
    name: "metadata-response-admin-url",
    type: "MetadataResponse",
    description: "A one-broker cluster whose broker serves the admin plane on the default port; the topic name breaks the grammar of PW-ADMIN-010.",
    clauses: ["PW-LOG-025", "PW-ADMIN-061", "PW-LOG-040"],
    json: {
      clusterId: "pw-cluster-01",
      brokers: [{ brokerId: "broker-1", urls: ["tcp://127.0.0.1:7420"], adminUrl: "http://127.0.0.1:7421" }],
      topics: [{ name: "no spaces allowed", errorCode: "ERROR_CODE_INVALID_TOPIC" }],
    },
    frame: { correlationId: 11 },
  },
  {
    name: "init-producer-request-new",
    type: "InitProducerRequest",
    description: "Ask for a new producer id (-1 encodes as a 10-byte varint).",
    clauses: ["PW-IDEM-001"],
    json: { producerId: "-1", producerEpoch: -1 },
    frame: { correlationId: 13 },
  },
  {
    name: "init-producer-request-bump",
    type: "InitProducerRequest",
    description: "Bump the epoch of an existing producer, fencing older instances.",
    clauses: ["PW-IDEM-001"],
    json: { producerId: "4242", producerEpoch: 3 },
    frame: { correlationId: 13 },
  },
  {
    name: "init-producer-response",
    type: "InitProducerResponse",
    description: "Every field set.",
    clauses: ["PW-IDEM-001", "PW-IDEM-008"],
    json: { errorCode: "ERROR_CODE_PRODUCER_FENCED", producerId: "4242", producerEpoch: 4 },
    frame: { correlationId: 13 },
  },
];
