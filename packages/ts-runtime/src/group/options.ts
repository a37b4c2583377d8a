import { Assignor } from "@polywire/proto/groups";
import type { TopicPartitions } from "@polywire/proto/common";
import { PolywireError } from "@polywire/core";
import type { ConsumerOptions, TopicPartition } from "../consumer/options.js";

/** The broker-side assignors of spec §8.3. */
export type AssignorName = "cooperative-sticky" | "range" | "round-robin";

/**
 * Options of `client.consumer({ group, topics })`: a member of a consumer
 * group (spec §8). The fetch options are those of {@link ConsumerOptions};
 * `autoOffsetReset` applies to partitions the group has no committed offset
 * for. The session timeout and heartbeat interval are the broker's settings
 * (PW-GROUP-004, PW-GROUP-005), not the client's: Polywire's heartbeat
 * carries no session timeout.
 */
export interface GroupConsumerOptions extends ConsumerOptions {
  /** The group id (Kafka's `group.id`). */
  group: string;
  /** The topics to consume; topics that do not exist yet get partitions once created (PW-GROUP-014). */
  topics: readonly string[];
  /** The assignor this member asks for (PW-GROUP-030). Default "cooperative-sticky". */
  assignor?: AssignorName;
  /**
   * How long this member may take to revoke partitions (commit and finish
   * their records in hand) before the broker removes it (PW-GROUP-023), in
   * ms. Default: the broker's (300 000 on the reference broker).
   */
  rebalanceTimeoutMs?: number;
  /**
   * Static membership (Kafka's `group.instance.id`): a member closed with
   * an instance id leaves temporarily (epoch -2, PW-GROUP-007) and gets its
   * partitions back without a rebalance when it rejoins within the broker's
   * session timeout.
   */
  groupInstanceId?: string;
  /** Commit processed offsets every `autoCommitIntervalMs`, on revocation and on close. Default true. */
  autoCommit?: boolean;
  /** Auto-commit interval in ms. Default 5 000, as Kafka. */
  autoCommitIntervalMs?: number;
  /**
   * Called once partitions are assigned and their start positions known
   * (committed offset, else `autoOffsetReset`).
   */
  onAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  /**
   * Called while partitions are being revoked (by a rebalance, or all of
   * them when the consumer closes), after records of them in hand were
   * finished (and, with auto-commit, committed) and before the broker is
   * told they are released: commit here with manual commits.
   */
  onRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /**
   * Called when the member was fenced or expelled (PW-GROUP-011): these
   * partitions were dropped at once, uncommitted; the member rejoins.
   */
  onLost?: (partitions: TopicPartition[], error: PolywireError) => void;
}

/** A group's part of {@link GroupConsumerOptions}, checked, defaults filled in. */
export interface GroupSettings {
  readonly group: string;
  readonly topics: readonly string[];
  readonly assignor: Assignor;
  readonly rebalanceTimeoutMs: number;
  readonly instanceId: string;
  readonly autoCommit: boolean;
  readonly autoCommitIntervalMs: number;
}

const ASSIGNORS: Record<AssignorName, Assignor> = {
  "cooperative-sticky": Assignor.COOPERATIVE_STICKY,
  range: Assignor.RANGE,
  "round-robin": Assignor.ROUND_ROBIN,
};

function interval(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > 0xffff_ffff) {
    throw new PolywireError("INVALID_ARGUMENT", `${name} must be an integer of at least ${min} ms, got ${String(value)}`);
  }
  return value;
}

/** Checks the group options (INVALID_ARGUMENT naming the first bad one) and fills in the defaults. */
export function groupSettings(options: GroupConsumerOptions): GroupSettings {
  if (typeof options.group !== "string" || options.group === "") throw new PolywireError("INVALID_ARGUMENT", "group must be a non-empty string (PW-GROUP-001)");
  const topics = options.topics;
  if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== "string" || t === "")) {
    throw new PolywireError("INVALID_ARGUMENT", "topics must list at least one non-empty topic name (PW-GROUP-002)");
  }
  const assignor = ASSIGNORS[options.assignor ?? "cooperative-sticky"];
  if (assignor === undefined) throw new PolywireError("INVALID_ARGUMENT", `assignor must be "cooperative-sticky", "range" or "round-robin", got ${JSON.stringify(options.assignor)}`);
  const instanceId = options.groupInstanceId ?? "";
  if (typeof instanceId !== "string") throw new PolywireError("INVALID_ARGUMENT", "groupInstanceId must be a string");
  return {
    group: options.group,
    topics: [...new Set(topics)],
    assignor,
    rebalanceTimeoutMs: interval("rebalanceTimeoutMs", options.rebalanceTimeoutMs, 0, 1),
    instanceId,
    autoCommit: options.autoCommit ?? true,
    autoCommitIntervalMs: interval("autoCommitIntervalMs", options.autoCommitIntervalMs, 5_000, 1),
  };
}

/** Partitions as the wire lists them: a topic once, partitions in increasing order (PW-GROUP-015). */
export function toWire(partitions: Iterable<TopicPartition>): Array<Omit<TopicPartitions, "$typeName">> {
  const byTopic = new Map<string, number[]>();
  for (const tp of partitions) {
    const list = byTopic.get(tp.topic);
    if (list === undefined) byTopic.set(tp.topic, [tp.partition]);
    else list.push(tp.partition);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }));
}

/** The partitions of a wire list. */
export function fromWire(lists: readonly TopicPartitions[]): TopicPartition[] {
  return lists.flatMap((l) => l.partitions.map((partition) => ({ topic: l.topic, partition })));
}
