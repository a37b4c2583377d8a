import { Feature } from "@polywire/proto/session";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../../src/index.js";
import { GroupWire, ok, partitionsOf } from "./wire.js";

// GroupNotice on a real broker over TCP. Heartbeat intervals are long (the
// defaults), so any answer that comes quickly came from a notice, not from a
// member heartbeating early on its own.
let broker: Broker;
let url: string;
const open: GroupWire[] = [];

async function member(notices = true): Promise<GroupWire> {
  const { wire, features } = await GroupWire.connect(url, "notice-test", notices ? [Feature.GROUP_NOTICE] : []);
  expect(features.includes(Feature.GROUP_NOTICE)).toBe(notices);
  open.push(wire);
  return wire;
}

async function join(wire: GroupWire, groupId: string): Promise<{ memberId: string; memberEpoch: number; assigned: string[] }> {
  const joined = ok(await wire.heartbeat({ groupId, memberEpoch: 0, subscription: { topics: ["orders"] } }));
  return { memberId: joined.memberId, memberEpoch: joined.memberEpoch, assigned: partitionsOf(joined.assignment?.partitions) };
}

beforeAll(async () => {
  broker = await Broker.start({
    listeners: ["tcp://127.0.0.1:0"],
    storage: { engine: "memory" },
    topics: [{ name: "orders", partitions: 4 }],
    groups: { heartbeatIntervalMs: 5_000, reconcileHeartbeatIntervalMs: 5_000 },
  });
  url = broker.urls[0] as string;
});

afterEach(() => {
  for (const wire of open.splice(0)) wire.close();
});

afterAll(async () => {
  await broker.close();
});

describe("GroupNotice (PW-GROUP-029)", () => {
  it("PW-GROUP-029: a join tells the owner at once that it has partitions to revoke, and the release tells the new owner", async () => {
    const a = await member();
    const first = await join(a, "g-join");
    expect(first.assigned).toEqual(["orders:0,1,2,3"]);
    const b = await member();
    const joinedAt = Date.now();
    const second = await join(b, "g-join");
    // Everything is A's until A releases (PW-GROUP-022).
    expect(second.assigned).toEqual([]);

    const toA = await a.notice(2_000);
    expect(toA).toEqual({ groupId: "g-join", memberId: first.memberId, atMs: expect.any(Number) });
    expect((toA?.atMs ?? Infinity) - joinedAt).toBeLessThan(1_000);
    // The notice carries no assignment; the heartbeat it prompts does (PW-GROUP-020).
    const revoking = ok(await a.heartbeat({ groupId: "g-join", memberId: first.memberId, memberEpoch: first.memberEpoch, owned: { partitions: [{ topic: "orders", partitions: [0, 1, 2, 3] }] } }));
    const kept = partitionsOf(revoking.assignment?.partitions);
    expect(kept).toHaveLength(1);
    const keptPartitions = revoking.assignment?.partitions[0]?.partitions ?? [];
    expect(keptPartitions).toHaveLength(2);

    const releasedAt = Date.now();
    ok(await a.heartbeat({ groupId: "g-join", memberId: first.memberId, memberEpoch: first.memberEpoch, owned: { partitions: [{ topic: "orders", partitions: [...keptPartitions] }] } }));
    const toB = await b.notice(2_000);
    expect(toB?.memberId).toBe(second.memberId);
    expect((toB?.atMs ?? Infinity) - releasedAt).toBeLessThan(1_000);
    const granted = ok(await b.heartbeat({ groupId: "g-join", memberId: second.memberId, memberEpoch: second.memberEpoch, owned: { partitions: [] } }));
    const given = granted.assignment?.partitions[0]?.partitions ?? [];
    expect([...given, ...keptPartitions].sort()).toEqual([0, 1, 2, 3]);
  });

  it("PW-GROUP-029: at most one notice between two heartbeats of the member, however many changes come", async () => {
    const a = await member();
    const first = await join(a, "g-once");
    const b = await member();
    const second = await join(b, "g-once");
    expect(await a.notice(2_000)).toBeDefined();
    // A third member changes the target again; A has not heartbeated since its notice.
    const c = await member();
    const third = await join(c, "g-once");
    expect(await a.notice(500)).toBeUndefined();
    // After a heartbeat, the next change that concerns A is news again: the others leave, so A's target is everything.
    const beat = ok(await a.heartbeat({ groupId: "g-once", memberId: first.memberId, memberEpoch: first.memberEpoch, owned: { partitions: [{ topic: "orders", partitions: [0, 1, 2, 3] }] } }));
    expect(beat.assignment?.partitions[0]?.partitions.length ?? 0).toBeLessThan(4);
    ok(await b.heartbeat({ groupId: "g-once", memberId: second.memberId, memberEpoch: -1 }));
    ok(await c.heartbeat({ groupId: "g-once", memberId: third.memberId, memberEpoch: -1 }));
    expect(await a.notice(2_000)).toBeDefined();
    // One notice for both leaves.
    expect(await a.notice(300)).toBeUndefined();
  });

  it("PW-GROUP-029: a leave tells the remaining member that partitions of its target are free", async () => {
    const a = await member();
    const first = await join(a, "g-leave");
    const b = await member();
    const second = await join(b, "g-leave");
    await a.notice(2_000);
    const beat = ok(await a.heartbeat({ groupId: "g-leave", memberId: first.memberId, memberEpoch: first.memberEpoch, owned: { partitions: [{ topic: "orders", partitions: [0, 1, 2, 3] }] } }));
    const kept = beat.assignment?.partitions[0]?.partitions ?? [];
    ok(await a.heartbeat({ groupId: "g-leave", memberId: first.memberId, memberEpoch: first.memberEpoch, owned: { partitions: [{ topic: "orders", partitions: [...kept] }] } }));
    // A's epoch advanced with that release (PW-GROUP-021); its news now is B leaving.
    await b.notice(2_000);
    ok(await b.heartbeat({ groupId: "g-leave", memberId: second.memberId, memberEpoch: second.memberEpoch, owned: { partitions: [] } }));
    ok(await b.heartbeat({ groupId: "g-leave", memberId: second.memberId, memberEpoch: -1 }));
    const toA = await a.notice(2_000);
    expect(toA?.memberId).toBe(first.memberId);
  });

  it("PW-GROUP-029: a session not granted FEATURE_GROUP_NOTICE gets no notice", async () => {
    const a = await member(false);
    await join(a, "g-plain");
    await join(await member(), "g-plain");
    expect(await a.notice(700)).toBeUndefined();
  });
});
