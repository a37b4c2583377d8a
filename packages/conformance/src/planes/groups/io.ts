import { GroupNoticeSchema, type Assignor, type GroupHeartbeatResponse, type GroupNotice } from "@polywire/proto/groups";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { check, show } from "../../clause.js";
import type { CaseContext } from "../../runner/case.js";
import { codeName, decode } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { expectBrokerError } from "../expect.js";

/** TopicPartitions lists as a request carries them. */
export type WireLists = { topic: string; partitions: number[] }[];

/** The optional fields of a GroupHeartbeatRequest. */
export interface HeartbeatExtra {
  instanceId?: string;
  rebalanceTimeoutMs?: number;
  subscription?: { topics: string[] };
  assignor?: Assignor;
  owned?: { partitions: WireLists };
}

/** A GroupHeartbeatRequest. */
export type HeartbeatInit = { groupId: string; memberId?: string; memberEpoch: number } & HeartbeatExtra;

/** `topic:p,p` per list, for readable comparisons of Assignments and OwnedPartitions. */
export type Lists = readonly { readonly topic: string; readonly partitions: readonly number[] }[];

/** A group id unique to this run. */
export function groupId(ctx: CaseContext, name: string): string {
  return `cg-${name}-${ctx.seed.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A successful heartbeat; v1 responses carry no error (PW-GROUP-016) and always the member's id, epoch and interval (PW-GROUP-013). */
export async function heartbeat(session: WireSession, init: HeartbeatInit): Promise<GroupHeartbeatResponse> {
  const { message } = await session.call(FrameKind.GROUP_HEARTBEAT_REQUEST, init);
  check("PW-GROUP-016", message.errorCode === ErrorCode.UNSPECIFIED && message.errorMessage === "", `a GroupHeartbeatResponse carries ${codeName(message.errorCode)} ${show(message.errorMessage)}; v1 fails requests with Error frames`);
  check("PW-GROUP-013", message.memberId !== "" && message.heartbeatIntervalMs > 0, `a successful heartbeat answered member_id ${show(message.memberId)} and heartbeat_interval_ms ${message.heartbeatIntervalMs}`);
  return message;
}

/** A heartbeat that must fail as a whole with `code`, as an Error frame (PW-GROUP-016). */
export async function heartbeatFails(session: WireSession, clause: string, init: HeartbeatInit, code: ErrorCode, what: string): Promise<void> {
  await expectBrokerError(clause, session.call(FrameKind.GROUP_HEARTBEAT_REQUEST, init), code, what);
}

/** A member: its session, group and the state of its latest response. */
export class Member {
  readonly session: WireSession;
  readonly groupId: string;
  memberId = "";
  epoch = 0;
  /** The partitions the broker last put in an Assignment to it. */
  assigned: Lists = [];
  last: GroupHeartbeatResponse | undefined;
  // What every heartbeat repeats: the instance id (PW-GROUP-007), the assignor (UNSPECIFIED means cooperative-sticky, PW-GROUP-030) and the rebalance timeout.
  #repeat: HeartbeatExtra = {};

  constructor(session: WireSession, groupId: string) {
    this.session = session;
    this.groupId = groupId;
  }

  /** Joins with `topics` (epoch 0) and records the answer. */
  async join(topics: readonly string[], extra: HeartbeatExtra = {}): Promise<GroupHeartbeatResponse> {
    this.#repeat = {
      ...(extra.instanceId === undefined ? {} : { instanceId: extra.instanceId }),
      ...(extra.assignor === undefined ? {} : { assignor: extra.assignor }),
      ...(extra.rebalanceTimeoutMs === undefined ? {} : { rebalanceTimeoutMs: extra.rebalanceTimeoutMs }),
    };
    const r = await heartbeat(this.session, { groupId: this.groupId, memberEpoch: 0, subscription: { topics: [...topics] }, ...extra });
    check("PW-GROUP-002", r.memberEpoch > 0, `a join answered member_epoch ${r.memberEpoch}; it must be greater than 0`);
    check("PW-GROUP-013", r.assignment !== undefined, "the response to a join carries no assignment");
    return this.#record(r);
  }

  /** A heartbeat at the current epoch; `owned` reports what it owns (omitted: unchanged, PW-GROUP-004). */
  async beat(extra: HeartbeatExtra = {}): Promise<GroupHeartbeatResponse> {
    return this.#record(await heartbeat(this.session, { groupId: this.groupId, memberId: this.memberId, memberEpoch: this.epoch, ...this.#repeat, ...extra }));
  }

  /** Reports as owned exactly its assigned partitions (it released what was withdrawn). */
  ack(extra: HeartbeatExtra = {}): Promise<GroupHeartbeatResponse> {
    return this.beat({ owned: { partitions: this.assigned.map((l) => ({ topic: l.topic, partitions: [...l.partitions] })) }, ...extra });
  }

  /** The assigned partitions as `topic:p` strings. */
  partitions(): string[] {
    return flatten(this.assigned);
  }

  #record(r: GroupHeartbeatResponse): GroupHeartbeatResponse {
    this.last = r;
    this.memberId = r.memberId;
    this.epoch = r.memberEpoch;
    if (r.assignment !== undefined) this.assigned = r.assignment.partitions.map((l) => ({ topic: l.topic, partitions: [...l.partitions] }));
    return r;
  }
}

/** Every partition of `lists` as `topic:p`. */
export function flatten(lists: Lists): string[] {
  return lists.flatMap((l) => l.partitions.map((p) => `${l.topic}:${p}`));
}

/** Checks a list of TopicPartitions the broker sent: each topic once, ordered as bytes, partitions distinct and increasing (PW-GROUP-015). */
export function checkOrdered(lists: Lists, what: string): void {
  for (let i = 0; i < lists.length; i++) {
    const l = lists[i] as Lists[number];
    if (i > 0) check("PW-GROUP-015", Buffer.compare(Buffer.from((lists[i - 1] as Lists[number]).topic), Buffer.from(l.topic)) < 0, `${what}: topics out of order or repeated: ${show(lists.map((x) => x.topic))}`);
    for (let j = 1; j < l.partitions.length; j++) check("PW-GROUP-015", (l.partitions[j - 1] as number) < (l.partitions[j] as number), `${what}: partitions of ${l.topic} not increasing: ${show(l.partitions)}`);
  }
}

/** Members joined to one group, each on its own session, one after the other. */
export async function joinAll(ctx: CaseContext, group: string, count: number, topics: readonly string[], extra: HeartbeatExtra = {}): Promise<Member[]> {
  const members: Member[] = [];
  for (let i = 0; i < count; i++) {
    const m = new Member(await ctx.connect(), group);
    await m.join(topics, extra);
    members.push(m);
  }
  return members;
}

/**
 * Heartbeats every member, each acknowledging its assignment, until a round
 * changes nothing and no partition is held back; at most `rounds` rounds.
 */
export async function settle(members: readonly Member[], rounds = 20): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    let changed = false;
    for (const m of members) {
      const before = show(m.assigned) + m.epoch;
      await m.ack();
      if (show(m.assigned) + m.epoch !== before) changed = true;
    }
    if (!changed) return;
  }
}

/** The next GroupNotice on the session within `timeoutMs`, or undefined when none came (PW-GROUP-029). */
export async function nextNotice(session: WireSession, timeoutMs: number): Promise<GroupNotice | undefined> {
  try {
    const frame = await session.nextFrame(timeoutMs, (f) => f.kind === FrameKind.GROUP_NOTICE && f.correlationId === 0);
    return decode(GroupNoticeSchema, frame.message);
  } catch {
    return undefined;
  }
}
