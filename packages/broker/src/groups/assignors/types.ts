import { compareBytes, PartitionSet } from "../partition-set.js";

/** A member as the assignors see it. */
export interface AssignorMember {
  readonly memberId: string;
  readonly topics: ReadonlySet<string>;
}

/** What a target assignment is computed from (PW-GROUP-031). */
export interface AssignorInput {
  /** Every member of the group, in any order. */
  readonly members: readonly AssignorMember[];
  /** Partition count of each subscribed topic; a missing topic has none (PW-GROUP-014). */
  readonly partitionCounts: ReadonlyMap<string, number>;
  /** The previous target, by member id (cooperative-sticky keeps it where it can). */
  readonly previous: ReadonlyMap<string, PartitionSet>;
}

/** A target assignment: every member's target partitions, one entry per member. */
export type TargetAssignment = Map<string, PartitionSet>;

/** An assignor: a pure, deterministic function of its input (PW-GROUP-031). */
export type AssignorFunction = (input: AssignorInput) => TargetAssignment;

/** Members in `member_id` order compared as bytes (PW-GROUP-031). */
export function membersInOrder(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => compareBytes(a.memberId, b.memberId));
}

/** Topics at least one member subscribes to and that have partitions, ordered as bytes. */
export function subscribedTopics(input: AssignorInput): string[] {
  const topics = new Set<string>();
  for (const member of input.members) for (const topic of member.topics) if ((input.partitionCounts.get(topic) ?? 0) > 0) topics.add(topic);
  return [...topics].sort(compareBytes);
}

/** An empty target for every member. */
export function emptyTarget(members: readonly AssignorMember[]): TargetAssignment {
  return new Map(members.map((m) => [m.memberId, new PartitionSet()]));
}
