import { create } from "@bufbuild/protobuf";
import { GroupHeartbeatRequestSchema, type Assignor, type GroupHeartbeatResponse } from "@polywire/proto/groups";
import { expect } from "vitest";
import { GroupCoordinator, MemoryOffsetLog, type GroupConfig, type OffsetLog, type OffsetLogEntry, type Outcome, type TopicView } from "../../src/groups/index.js";

/** The broker's topics as a plain map: what storage's catalog will answer. */
export class Topics implements TopicView {
  readonly #counts: Map<string, number>;

  constructor(counts: Record<string, number> = {}) {
    this.#counts = new Map(Object.entries(counts));
  }

  set(topic: string, partitions: number): void {
    this.#counts.set(topic, partitions);
  }

  delete(topic: string): void {
    this.#counts.delete(topic);
  }

  partitionCount(topic: string): number | null {
    return this.#counts.get(topic) ?? null;
  }

  isValidName(topic: string): boolean {
    return /^[A-Za-z0-9._-]{1,249}$/.test(topic) && topic !== "." && topic !== "..";
  }
}

export interface Setup {
  readonly coordinator: GroupCoordinator;
  readonly topics: Topics;
  readonly log: MemoryOffsetLog;
}

/** A coordinator over `topics` with member ids m1, m2, ... so tests can name them. */
export function setup(counts: Record<string, number>, config: Partial<GroupConfig> = {}, options: { log?: OffsetLog; replay?: Iterable<OffsetLogEntry>; nowMs?: number } = {}): Setup {
  const topics = new Topics(counts);
  const log = new MemoryOffsetLog();
  let next = 0;
  const coordinator = new GroupCoordinator({
    topics,
    offsetLog: options.log ?? log,
    config,
    nowMs: options.nowMs ?? 0,
    newMemberId: () => `m${++next}`,
    ...(options.replay === undefined ? {} : { replay: options.replay }),
  });
  return { coordinator, topics, log };
}

export interface HeartbeatFields {
  groupId?: string;
  memberId?: string;
  memberEpoch?: number;
  instanceId?: string;
  rebalanceTimeoutMs?: number;
  subscription?: readonly string[];
  assignor?: Assignor;
  owned?: readonly string[];
}

/** "topic/partition" strings as wire TopicPartitions, in the order given. */
export function wire(tps: readonly string[]): { topic: string; partitions: number[] }[] {
  const out: { topic: string; partitions: number[] }[] = [];
  for (const tp of tps) {
    const at = tp.lastIndexOf("/");
    const topic = tp.slice(0, at);
    let entry = out.find((e) => e.topic === topic);
    if (entry === undefined) {
      entry = { topic, partitions: [] };
      out.push(entry);
    }
    entry.partitions.push(Number(tp.slice(at + 1)));
  }
  return out;
}

export function request(fields: HeartbeatFields) {
  return create(GroupHeartbeatRequestSchema, {
    groupId: fields.groupId ?? "g",
    memberId: fields.memberId ?? "",
    memberEpoch: fields.memberEpoch ?? 0,
    instanceId: fields.instanceId ?? "",
    rebalanceTimeoutMs: fields.rebalanceTimeoutMs ?? 0,
    ...(fields.assignor === undefined ? {} : { assignor: fields.assignor }),
    ...(fields.subscription === undefined ? {} : { subscription: { topics: [...fields.subscription] } }),
    ...(fields.owned === undefined ? {} : { owned: { partitions: wire(fields.owned) } }),
  });
}

/** The assignment of a response as sorted "topic/partition" strings, or null when absent. */
export function shown(response: GroupHeartbeatResponse): string[] | null {
  return response.assignment?.partitions.flatMap((e) => e.partitions.map((p) => `${e.topic}/${p}`)) ?? null;
}

export function ok<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.code}: ${outcome.message}`);
  return outcome.value;
}

export function failed<T>(outcome: Outcome<T>, code: string): void {
  expect(outcome.ok ? "success" : outcome.code).toBe(code);
}

/**
 * A well-behaved member: it reports what it owns on every heartbeat and
 * adopts each assignment at once (revoking first is instant here).
 */
export class Client {
  memberId = "";
  epoch = 0;
  owned: string[] = [];
  readonly #coordinator: GroupCoordinator;
  readonly #fields: HeartbeatFields;

  constructor(coordinator: GroupCoordinator, fields: HeartbeatFields) {
    this.#coordinator = coordinator;
    this.#fields = fields;
  }

  join(nowMs: number): GroupHeartbeatResponse {
    const response = ok(this.#coordinator.heartbeat(request({ ...this.#fields, memberEpoch: 0, owned: [] }), nowMs));
    this.#adopt(response);
    return response;
  }

  beat(nowMs: number, extra: HeartbeatFields = {}): GroupHeartbeatResponse {
    const response = ok(this.#coordinator.heartbeat(request({ ...this.#fields, memberId: this.memberId, memberEpoch: this.epoch, owned: this.owned, ...extra }), nowMs));
    this.#adopt(response);
    return response;
  }

  leave(nowMs: number, epoch = -1): GroupHeartbeatResponse {
    return ok(this.#coordinator.heartbeat(request({ ...this.#fields, memberId: this.memberId, memberEpoch: epoch }), nowMs));
  }

  #adopt(response: GroupHeartbeatResponse): void {
    this.memberId = response.memberId;
    this.epoch = response.memberEpoch;
    const assignment = shown(response);
    if (assignment !== null) this.owned = assignment;
  }
}
