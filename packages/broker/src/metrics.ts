import { GroupStateSchema } from "@polywire/proto/admin";
import { FrameKindSchema } from "@polywire/proto/session";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

type Child<T> = T extends { labels(...args: never[]): infer C } ? C : never;

/**
 * The per-kind metrics of one frame kind. The frame counts are plain
 * numbers the session raises per frame; the counters follow them when
 * metrics are collected, so a frame costs a field increment, not a
 * prom-client label lookup.
 */
export interface KindMetrics {
  /** Frames of this kind received. */
  received: number;
  /** Frames of this kind sent. */
  sent: number;
  readonly latency: Child<Histogram>;
}

interface KindEntry extends KindMetrics {
  readonly name: string;
  receivedSeen: number;
  sentSeen: number;
}

interface TopicMetrics {
  readonly recordsIn: Child<Counter>;
  readonly bytesIn: Child<Counter>;
  readonly recordsOut: Child<Counter>;
  readonly bytesOut: Child<Counter>;
}

/**
 * The `kind` label values (PW-ADMIN-045): the FrameKind value name as
 * session.proto spells it (`FRAME_KIND_PRODUCE_REQUEST`; protobuf-es's
 * TypeScript enum drops the prefix, its descriptor keeps it).
 */
const KIND_NAMES: ReadonlyMap<number, string> = new Map(FrameKindSchema.values.filter((v) => v.number !== 0).map((v) => [v.number, v.name]));
/** The one label value of every kind the broker does not know, kind 0 included, so a peer cannot grow the label set. */
const UNKNOWN_KIND = "unknown";

/** What the consumer-group series read at each scrape: the groups plane. */
export interface GroupMetricsSource {
  /** Every group with its GroupState number, member count and group epoch. */
  groups(): Iterable<{ readonly groupId: string; readonly state: number; readonly members: number; readonly groupEpoch: number }>;
  /** The lag of every committed offset: high watermark minus committed offset, never below 0 (PW-ADMIN-032). */
  lag(): Iterable<{ readonly groupId: string; readonly topic: string; readonly partition: number; readonly lag: bigint }>;
}

/** The `state` label values: GroupState value names as admin.proto spells them (`GROUP_STATE_STABLE`). */
const GROUP_STATE_NAMES: ReadonlyMap<number, string> = new Map(GroupStateSchema.values.map((v) => [v.number, v.name]));

/**
 * The broker's Prometheus metrics (names per PW-ADMIN-045), in a registry of
 * its own so that several brokers in one process do not collide. Labelled
 * children are cached, so the per-frame cost is a map lookup.
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: "polywire_connections", help: "Open client connections, by transport.", labelNames: ["transport"] as const, registers: [this.registry] });
  readonly connectionsAccepted = new Counter({ name: "polywire_connections_accepted_total", help: "Client connections accepted, by transport.", labelNames: ["transport"] as const, registers: [this.registry] });
  readonly framesReceived: Counter = new Counter({
    name: "polywire_frames_received_total",
    help: "Frames received, by frame kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
    collect: () => {
      for (const e of this.#kinds.values()) {
        if (e.received === e.receivedSeen) continue;
        this.framesReceived.labels(e.name).inc(e.received - e.receivedSeen);
        e.receivedSeen = e.received;
      }
    },
  });
  readonly framesSent: Counter = new Counter({
    name: "polywire_frames_sent_total",
    help: "Frames sent, by frame kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
    collect: () => {
      for (const e of this.#kinds.values()) {
        if (e.sent === e.sentSeen) continue;
        this.framesSent.labels(e.name).inc(e.sent - e.sentSeen);
        e.sentSeen = e.sent;
      }
    },
  });
  readonly latency = new Histogram({
    name: "polywire_request_duration_seconds",
    help: "Time from a request frame's arrival to its answer being written, by request frame kind (a request sent without expecting an answer, a Publish without ack or a Produce with ACKS_NONE, has none and is not observed).",
    labelNames: ["kind"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly recordsAppended = new Counter({ name: "polywire_records_appended_total", help: "Records appended, by topic.", labelNames: ["topic"] as const, registers: [this.registry] });
  readonly bytesAppended = new Counter({ name: "polywire_bytes_appended_total", help: "Record batch bytes appended, by topic.", labelNames: ["topic"] as const, registers: [this.registry] });
  readonly recordsFetched = new Counter({ name: "polywire_records_fetched_total", help: "Records in the batches served by fetches, by topic.", labelNames: ["topic"] as const, registers: [this.registry] });
  readonly bytesFetched = new Counter({ name: "polywire_bytes_fetched_total", help: "Record batch bytes served by fetches, by topic.", labelNames: ["topic"] as const, registers: [this.registry] });
  readonly errors = new Counter({ name: "polywire_errors_total", help: "Error frames sent, by error code.", labelNames: ["code"] as const, registers: [this.registry] });
  readonly connectionsRejected = new Counter({
    name: "polywire_connections_rejected_total",
    help: "Client connections turned away, by transport and reason (limit: at the connection limit; draining: the broker is shutting down).",
    labelNames: ["transport", "reason"] as const,
    registers: [this.registry],
  });
  readonly adminLatency = new Histogram({
    name: "polywire_admin_request_duration_seconds",
    help: "Time to answer an admin RPC, by service and method.",
    labelNames: ["service", "method"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly adminRequests = new Counter({
    name: "polywire_admin_requests_total",
    help: "Admin RPCs answered, by service, method and Connect code (ok on success).",
    labelNames: ["service", "method", "code"] as const,
    registers: [this.registry],
  });

  readonly producerIds = new Gauge({
    name: "polywire_producer_ids",
    help: "Idempotent producer ids the broker remembers (granted and not yet expired, PW-IDEM-011).",
    registers: [this.registry],
    collect: () => {
      this.producerIds.set(this.#producerIdCount());
    },
  });

  // The group series are gauges rebuilt at each scrape, so a deleted group's series go with it.
  readonly groupCount = new Gauge({
    name: "polywire_groups",
    help: "Consumer groups the broker holds (with members or committed offsets), by GroupState.",
    labelNames: ["state"] as const,
    registers: [this.registry],
    collect: () => {
      this.groupCount.reset();
      for (const name of GROUP_STATE_NAMES.values()) if (name !== "GROUP_STATE_UNSPECIFIED") this.groupCount.labels(name).set(0);
      for (const g of this.#groups?.groups() ?? []) this.groupCount.labels(GROUP_STATE_NAMES.get(g.state) ?? "GROUP_STATE_UNSPECIFIED").inc();
    },
  });
  readonly groupMembers = new Gauge({
    name: "polywire_group_members",
    help: "Members of each consumer group, static members away within their session timeout included.",
    labelNames: ["group"] as const,
    registers: [this.registry],
    collect: () => {
      this.groupMembers.reset();
      for (const g of this.#groups?.groups() ?? []) this.groupMembers.labels(g.groupId).set(g.members);
    },
  });
  readonly groupEpoch = new Gauge({
    name: "polywire_group_epoch",
    help: "Each consumer group's epoch; it rises by at least one per rebalance (membership, subscription, assignor or partition count change, PW-GROUP-003).",
    labelNames: ["group"] as const,
    registers: [this.registry],
    collect: () => {
      this.groupEpoch.reset();
      for (const g of this.#groups?.groups() ?? []) this.groupEpoch.labels(g.groupId).set(g.groupEpoch);
    },
  });
  readonly groupLag = new Gauge({
    name: "polywire_group_lag",
    help: "Records between a group's committed offset and the partition's high watermark, per partition with a committed offset.",
    labelNames: ["group", "partition", "topic"] as const,
    registers: [this.registry],
    collect: () => {
      this.groupLag.reset();
      for (const l of this.#groups?.lag() ?? []) this.groupLag.labels(l.groupId, String(l.partition), l.topic).set(Number(l.lag));
    },
  });
  readonly offsetCommits = new Counter({
    name: "polywire_offset_commits_total",
    help: "Committed offsets stored: one per partition of each OffsetCommit (and each ResetGroupOffsets) that stored it.",
    registers: [this.registry],
  });

  #groups: GroupMetricsSource | undefined;
  #producerIdCount: () => number = () => 0;
  #kinds = new Map<number, KindEntry>();
  // The entries of known kinds by kind number, for a lookup per frame without hashing.
  #byKind: (KindEntry | undefined)[] = [];

  /** Makes `polywire_producer_ids` read `count` whenever metrics are collected. */
  countProducerIdsWith(count: () => number): void {
    this.#producerIdCount = count;
  }
  #topics = new Map<string, TopicMetrics>();

  /** Makes the consumer-group series read `source` whenever metrics are collected. */
  observeGroups(source: GroupMetricsSource): void {
    this.#groups = source;
  }

  /** The per-kind metrics of frame kind `kind`. */
  kind(kind: number): KindMetrics {
    const cached = this.#byKind[kind];
    if (cached !== undefined) return cached;
    const known = KIND_NAMES.get(kind);
    const key = known === undefined ? -1 : kind;
    let entry = this.#kinds.get(key);
    if (entry === undefined) {
      const name = known ?? UNKNOWN_KIND;
      entry = { name, received: 0, sent: 0, receivedSeen: 0, sentSeen: 0, latency: this.latency.labels(name) };
      this.#kinds.set(key, entry);
    }
    if (known !== undefined) this.#byKind[kind] = entry;
    return entry;
  }

  /**
   * Records one answered admin RPC. The label values come from the services
   * the router serves and the Connect codes, so the label set stays bounded.
   */
  adminRequest(service: string, method: string, code: string, seconds: number): void {
    this.adminLatency.labels(service, method).observe(seconds);
    this.adminRequests.labels(service, method, code).inc();
  }

  /** The per-topic counters of `topic`. */
  topic(topic: string): TopicMetrics {
    let entry = this.#topics.get(topic);
    if (entry === undefined) {
      entry = {
        recordsIn: this.recordsAppended.labels(topic),
        bytesIn: this.bytesAppended.labels(topic),
        recordsOut: this.recordsFetched.labels(topic),
        bytesOut: this.bytesFetched.labels(topic),
      };
      this.#topics.set(topic, entry);
    }
    return entry;
  }
}
