import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { GroupState } from "@polywire/proto/admin";
import { Assignor, OffsetCommitRequestSchema, OffsetFetchRequestSchema, type GroupHeartbeatResponse } from "@polywire/proto/groups";
import { expect, test } from "vitest";
import type { GroupCoordinator } from "../../src/groups/index.js";
import { request, setup, shown, wire, type Topics } from "./harness.js";

/**
 * Model-based test of the coordinator (§8): random sequences of joins,
 * leaves, crashes, silences (heartbeat loss), lost responses, Subscription
 * changes, partition growth, processing and commits, played by simulated
 * well-behaved member processes. After every step: no two members the
 * broker still counts hold the same partition (PW-GROUP-022), and no
 * accepted commit moves an offset backwards (PW-GROUP-041 fencing stale
 * owners). When the events stop and time passes, the group converges to a
 * stable, complete assignment.
 */

const SESSION_MS = 10_000;
const TOPICS = ["a", "b", "c"] as const;

type Status = "member" | "silent" | "crashed" | "departed" | "out";

/** A member process: what it believes it owns, and how far it has consumed. */
interface Process {
  readonly instanceId: string;
  readonly assignor: Assignor;
  subscription: string[];
  memberId: string;
  epoch: number;
  /** What it processes: its assignment, plus revoked partitions it has not finished giving up. */
  owned: Set<string>;
  /** Revoked by the last assignment; committed and dropped before its next heartbeat (PW-GROUP-020). */
  revoking: Set<string>;
  positions: Map<string, bigint>;
  status: Status;
  /** When the broker last accepted a heartbeat from it. */
  lastBeatMs: number;
}

type Action =
  | { kind: "join"; topics: string[]; isStatic: boolean; assignor: Assignor }
  | { kind: "round" }
  | { kind: "beat" | "beat-lost" | "leave" | "static-leave" | "rejoin" | "crash" | "silence" | "wake" | "commit"; who: number }
  | { kind: "subscribe"; who: number; topics: string[] }
  | { kind: "process"; who: number; records: number }
  | { kind: "grow"; topic: string; by: number }
  | { kind: "advance"; ms: number };

const topicsArb = fc.subarray([...TOPICS], { minLength: 1 });
const who = fc.nat({ max: 7 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("join" as const), topics: topicsArb, isStatic: fc.boolean(), assignor: fc.constantFrom(Assignor.UNSPECIFIED, Assignor.RANGE, Assignor.ROUND_ROBIN, Assignor.COOPERATIVE_STICKY) }), weight: 3 },
  { arbitrary: fc.constant({ kind: "round" as const }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant("beat" as const), who }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constantFrom("beat-lost" as const, "leave" as const, "static-leave" as const, "rejoin" as const, "crash" as const, "silence" as const, "wake" as const), who }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant("commit" as const), who }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("subscribe" as const), who, topics: topicsArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("process" as const), who, records: fc.integer({ min: 1, max: 50 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("grow" as const), topic: fc.constantFrom(...TOPICS), by: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 4_000 }), weight: 5 }, { arbitrary: fc.constant(SESSION_MS + 1), weight: 1 }) }), weight: 4 },
);

class World {
  readonly coordinator: GroupCoordinator;
  readonly topics: Topics;
  readonly processes: Process[] = [];
  /** The latest accepted commit of each partition, to check it never goes back. */
  readonly committed = new Map<string, bigint>();
  now = 0;

  constructor() {
    const s = setup({ a: 2, b: 1 }, { sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: 3_000, reconcileHeartbeatIntervalMs: 100 });
    this.coordinator = s.coordinator;
    this.topics = s.topics;
  }

  pick(i: number): Process | undefined {
    return this.processes.length === 0 ? undefined : this.processes[i % this.processes.length];
  }

  join(p: Process): void {
    const outcome = this.coordinator.heartbeat(request({ memberEpoch: 0, instanceId: p.instanceId, subscription: p.subscription, assignor: p.assignor }), this.now);
    if (!outcome.ok) {
      // UNRELEASED_INSTANCE_ID: the broker still counts the crashed incarnation; try again later.
      expect(outcome.code).toBe("UNRELEASED_INSTANCE_ID");
      p.status = "out";
      return;
    }
    p.memberId = outcome.value.memberId;
    p.lastBeatMs = this.now;
    p.status = "member";
    p.owned = new Set();
    p.revoking = new Set();
    this.adopt(p, outcome.value);
  }

  async beat(p: Process, lost: boolean): Promise<void> {
    p.status = "member";
    // Revoking finishes before the next heartbeat: commit (and wait for it), stop, then report the smaller set.
    await this.commit(p, [...p.revoking]);
    for (const tp of p.revoking) {
      p.owned.delete(tp);
      p.positions.delete(tp);
    }
    p.revoking = new Set();
    const outcome = this.coordinator.heartbeat(request({ memberId: p.memberId, memberEpoch: p.epoch, instanceId: p.instanceId, subscription: p.subscription, assignor: p.assignor, owned: [...p.owned] }), this.now);
    if (!outcome.ok) {
      // PW-GROUP-011: stop processing everything at once, without committing.
      expect(["UNKNOWN_MEMBER_ID", "FENCED_MEMBER_EPOCH"]).toContain(outcome.code);
      p.status = "out";
      p.owned = new Set();
      p.revoking = new Set();
      return;
    }
    p.lastBeatMs = this.now;
    if (!lost) this.adopt(p, outcome.value);
  }

  /** A response arrived: start revoking what it left out, and take up new partitions from their committed offsets. */
  adopt(p: Process, response: GroupHeartbeatResponse): void {
    p.epoch = response.memberEpoch;
    const assignment = shown(response);
    if (assignment === null) return;
    const next = new Set(assignment);
    p.revoking = new Set([...p.owned].filter((tp) => !next.has(tp)));
    for (const tp of next) {
      if (p.owned.has(tp)) continue;
      const fetched = this.coordinator.fetch(create(OffsetFetchRequestSchema, { groupId: "g", partitions: wire([tp]) }));
      if (!fetched.ok) throw new Error(fetched.message);
      const offset = fetched.value.offsets[0]?.offset ?? -1n;
      p.positions.set(tp, offset < 0n ? 0n : offset);
      p.owned.add(tp);
    }
  }

  /** Commits the positions of `tps` (every owned partition by default); checks no accepted offset goes back. */
  async commit(p: Process, tps: string[] = [...p.owned]): Promise<void> {
    if (tps.length === 0) return;
    const offsets = tps.map((tp) => {
      const at = tp.lastIndexOf("/");
      return { topic: tp.slice(0, at), partition: Number(tp.slice(at + 1)), offset: p.positions.get(tp) ?? 0n };
    });
    // PW-GROUP-005, PW-GROUP-041: a process silent for the session timeout is out of the group, so its commits must fail.
    const removed = this.now - p.lastBeatMs >= SESSION_MS;
    const outcome = await this.coordinator.commit(create(OffsetCommitRequestSchema, { groupId: "g", memberId: p.memberId, memberEpoch: p.epoch, offsets }), this.now);
    if (removed) expect(outcome.ok ? "accepted" : outcome.code).toBe("UNKNOWN_MEMBER_ID");
    if (!outcome.ok) {
      expect(["UNKNOWN_MEMBER_ID", "STALE_MEMBER_EPOCH", "FENCED_MEMBER_EPOCH"]).toContain(outcome.code);
      return;
    }
    outcome.value.results.forEach((r, i) => {
      const o = offsets[i];
      if (o === undefined || r.errorCode !== 0) return;
      const key = `${o.topic}/${o.partition}`;
      expect(o.offset, `commit of ${key} went back`).toBeGreaterThanOrEqual(this.committed.get(key) ?? 0n);
      this.committed.set(key, o.offset);
    });
  }

  /** PW-GROUP-022: members the broker still counts never believe they own the same partition. */
  checkOwnership(): void {
    const description = this.coordinator.describe("g");
    const members = new Set(description?.memberViews.map((m) => m.memberId) ?? []);
    const owner = new Map<string, string>();
    for (const p of this.processes) {
      if ((p.status !== "member" && p.status !== "silent") || !members.has(p.memberId)) continue;
      for (const tp of p.owned) {
        expect(owner.get(tp), `${tp} owned by ${owner.get(tp)} and ${p.memberId}`).toBeUndefined();
        owner.set(tp, p.memberId);
      }
    }
    const assigned = new Map<string, string>();
    for (const m of description?.memberViews ?? []) {
      for (const { topic, partition } of m.assigned) {
        const tp = `${topic}/${partition}`;
        expect(assigned.get(tp), `${tp} assigned to ${assigned.get(tp)} and ${m.memberId}`).toBeUndefined();
        assigned.set(tp, m.memberId);
      }
    }
  }
}

async function play(world: World, a: Action): Promise<void> {
  if (a.kind === "join") {
    const p: Process = { instanceId: a.isStatic ? `i${world.processes.length}` : "", assignor: a.assignor, subscription: a.topics, memberId: "", epoch: 0, owned: new Set(), revoking: new Set(), positions: new Map(), status: "out", lastBeatMs: 0 };
    world.processes.push(p);
    world.join(p);
    return;
  }
  if (a.kind === "grow") {
    world.topics.set(a.topic, (world.topics.partitionCount(a.topic) ?? 0) + a.by);
    world.coordinator.topicsChanged(world.now);
    return;
  }
  if (a.kind === "advance") {
    // Healthy processes heartbeat on their own as time passes; silent and
    // crashed ones do not, so only they reach their session timeout.
    for (let left = a.ms; left > 0; left -= 1_000) {
      world.now += Math.min(left, 1_000);
      world.coordinator.tick(world.now);
      for (const p of world.processes) if (p.status === "member") await world.beat(p, false);
    }
    return;
  }
  if (a.kind === "round") {
    for (const p of world.processes) if (p.status === "member") await world.beat(p, false);
    return;
  }
  const p = world.pick(a.who);
  if (p === undefined) return;
  const live = p.status === "member" || p.status === "silent";
  switch (a.kind) {
    case "beat":
    case "beat-lost":
      // A silent process sends nothing until it wakes.
      if (p.status === "member") await world.beat(p, a.kind === "beat-lost");
      return;
    case "leave":
    case "static-leave":
      if (p.status !== "member" || (a.kind === "static-leave" && p.instanceId === "")) return;
      // PW-GROUP-006: commit, then leave.
      await world.commit(p);
      world.coordinator.heartbeat(request({ memberId: p.memberId, memberEpoch: a.kind === "leave" ? -1 : -2, instanceId: p.instanceId }), world.now);
      p.status = a.kind === "leave" ? "out" : "departed";
      p.owned = new Set();
      p.revoking = new Set();
      return;
    case "rejoin":
      if (!live) world.join(p);
      return;
    case "crash":
      if (live) {
        p.status = "crashed";
        p.owned = new Set();
        p.revoking = new Set();
      }
      return;
    case "silence":
      if (p.status === "member") p.status = "silent";
      return;
    case "wake":
      if (p.status === "silent") await world.beat(p, false);
      return;
    case "commit":
      // A silent process is a zombie that may still commit; the broker must refuse it once it is out.
      if (live) await world.commit(p);
      return;
    case "subscribe":
      if (p.status === "member") p.subscription = a.topics;
      return;
    case "process":
      if (live) for (const tp of p.owned) p.positions.set(tp, (p.positions.get(tp) ?? 0n) + BigInt(a.records));
      return;
  }
}

/** No more events: live members heartbeat until the group is stable, then the assignment must be complete. */
async function converge(world: World): Promise<void> {
  for (const p of world.processes) if (p.status === "silent") p.status = "member";
  for (let round = 0; round < 200; round++) {
    world.now += 1_000;
    world.coordinator.tick(world.now);
    for (const p of world.processes) if (p.status === "member") await world.beat(p, false);
    world.checkOwnership();
    // Crashed and reserved members are gone once a session timeout has passed.
    if (round > SESSION_MS / 1_000 && world.coordinator.describe("g")?.state !== GroupState.RECONCILING) break;
  }
  const d = world.coordinator.describe("g");
  const live = world.processes.filter((p) => p.status === "member");
  expect((d?.memberViews ?? []).map((m) => m.memberId).sort()).toEqual(live.map((p) => p.memberId).sort());
  if (live.length === 0) return;
  expect(d?.state).toBe(GroupState.STABLE);
  const everything = new Set<string>();
  for (const p of live) for (const topic of p.subscription) for (let i = 0; i < (world.topics.partitionCount(topic) ?? 0); i++) everything.add(`${topic}/${i}`);
  const owned = live.flatMap((p) => [...p.owned]);
  expect(owned.sort()).toEqual([...everything].sort());
  for (const m of d?.memberViews ?? []) expect(m.assigned.sorted()).toEqual(m.target.sorted());
}

test("PW-GROUP-003, PW-GROUP-005, PW-GROUP-011, PW-GROUP-020..025, PW-GROUP-041: random joins, leaves, crashes, silences, lost responses, Subscription changes, growth and commits keep one owner per partition and commits monotonic, and converge", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 10, maxLength: 80, size: "max" }), async (actions) => {
      const world = new World();
      for (const a of actions) {
        await play(world, a);
        world.checkOwnership();
      }
      await converge(world);
    }),
    { numRuns: 150 },
  );
}, 120_000);
