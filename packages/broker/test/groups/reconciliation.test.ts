import { describe, expect, test } from "vitest";
import { GroupState } from "@polywire/proto/admin";
import { Client, failed, ok, request, setup, shown } from "./harness.js";

/** a owns t/0..t/3; b joins. */
function twoMembers(config = {}) {
  const s = setup({ t: 4 }, config);
  const a = new Client(s.coordinator, { subscription: ["t"] });
  a.join(0);
  const b = new Client(s.coordinator, { subscription: ["t"] });
  const joined = b.join(1);
  return { ...s, a, b, joined };
}

describe("incremental reconciliation (§8.2)", () => {
  test("PW-GROUP-020: the owner first gets its assignment minus what it must give up, at an unchanged member epoch", () => {
    const { a, joined } = twoMembers();
    // b's target is free of nobody: it gets nothing yet.
    expect(shown(joined)).toEqual([]);
    const epoch = a.epoch;
    const r = a.beat(2);
    expect(shown(r)).toEqual(["t/0", "t/1"]);
    expect(r.memberEpoch).toBe(epoch);
  });

  test("PW-GROUP-021: once owned holds nothing outside the target, the epoch advances to the group epoch", () => {
    const { coordinator, a } = twoMembers();
    a.beat(2);
    const r = a.beat(3);
    expect(r.memberEpoch).toBe(coordinator.describe("g")?.groupEpoch);
    expect(r.assignment).toBeUndefined();
  });

  test("PW-GROUP-022: a partition goes to its new owner only after the old owner reported it released, then at the new owner's next heartbeat (PW-GROUP-024)", () => {
    const { coordinator, a, b } = twoMembers();
    expect(shown(b.beat(2))).toBeNull();
    a.beat(3); // told to revoke t/2, t/3
    expect(coordinator.holder("g", "t", 2)).toBe(a.memberId);
    expect(shown(b.beat(4))).toBeNull();
    a.beat(5); // reports owned t/0, t/1
    expect(coordinator.holder("g", "t", 2)).toBeUndefined();
    const r = b.beat(6);
    expect(shown(r)).toEqual(["t/2", "t/3"]);
    expect(coordinator.describe("g")?.state).toBe(GroupState.STABLE);
  });

  test("PW-GROUP-022, PW-GROUP-026: an omitted owned releases nothing, and claims of partitions never given are ignored", () => {
    const { coordinator, a, b } = twoMembers();
    a.beat(2);
    ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch }), 3));
    expect(coordinator.holder("g", "t", 2)).toBe(a.memberId);
    // b claims t/2, which it was never given: a still holds it; nothing changes.
    ok(coordinator.heartbeat(request({ memberId: b.memberId, memberEpoch: b.epoch, owned: ["t/2"] }), 4));
    expect(coordinator.holder("g", "t", 2)).toBe(a.memberId);
    a.beat(5);
    b.beat(6);
    expect(b.owned).toEqual(["t/2", "t/3"]);
  });

  test("PW-GROUP-022: a partition being revoked that a newer target gives back stays with its member; nobody else gets it meanwhile", () => {
    const { coordinator, a, b } = twoMembers();
    a.beat(2); // a must give up t/2, t/3
    b.leave(3); // the target gives them back to a
    expect(coordinator.holder("g", "t", 2)).toBe(a.memberId);
    const r = a.beat(4);
    expect(shown(r)).toEqual(["t/0", "t/1", "t/2", "t/3"]);
    expect(r.memberEpoch).toBe(coordinator.describe("g")?.groupEpoch);
  });

  test("PW-GROUP-023: a member still holding revoked partitions after its rebalance timeout is removed; its next heartbeat gets UNKNOWN_MEMBER_ID", () => {
    const { coordinator, a, b } = twoMembers({ sessionTimeoutMs: 60_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    // The revocation is sent at t=2: the deadline is 2 + 5,000.
    const beatA = (now: number) => ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch, rebalanceTimeoutMs: 5_000, owned: a.owned }), now));
    expect(shown(beatA(2))).toEqual(["t/0", "t/1"]);
    // a keeps heartbeating but never lets go of t/2, t/3.
    for (let now = 1_000; now <= 5_000; now += 1_000) {
      beatA(now);
      b.beat(now);
    }
    coordinator.tick(5_001);
    expect(coordinator.describe("g")?.members).toBe(2);
    coordinator.tick(5_002);
    expect(coordinator.describe("g")?.members).toBe(1);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch, owned: a.owned }), 5_003), "UNKNOWN_MEMBER_ID");
    expect(shown(b.beat(5_004))).toEqual(["t/0", "t/1", "t/2", "t/3"]);
  });

  test("PW-GROUP-023: rebalance_timeout_ms 0 means the default; a larger value than the broker's maximum is capped", () => {
    const { coordinator, a } = twoMembers({ defaultRebalanceTimeoutMs: 3_000, maxRebalanceTimeoutMs: 4_000, sessionTimeoutMs: 60_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch, owned: a.owned }), 10));
    coordinator.tick(3_009);
    expect(coordinator.describe("g")?.members).toBe(2);
    coordinator.tick(3_010);
    expect(coordinator.describe("g")?.members).toBe(1);

    const other = twoMembers({ defaultRebalanceTimeoutMs: 3_000, maxRebalanceTimeoutMs: 4_000, sessionTimeoutMs: 60_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    ok(other.coordinator.heartbeat(request({ memberId: other.a.memberId, memberEpoch: other.a.epoch, rebalanceTimeoutMs: 3_600_000, owned: other.a.owned }), 10));
    other.coordinator.tick(4_009);
    expect(other.coordinator.describe("g")?.members).toBe(2);
    other.coordinator.tick(4_010);
    expect(other.coordinator.describe("g")?.members).toBe(1);
  });

  test("PW-GROUP-025: EMPTY without members, RECONCILING while a member is not on its target, STABLE when all are, DEAD while being deleted", async () => {
    const { coordinator, a, b } = twoMembers();
    const state = () => coordinator.describe("g")?.state;
    expect(state()).toBe(GroupState.RECONCILING);
    a.beat(2);
    a.beat(3);
    expect(state()).toBe(GroupState.RECONCILING);
    b.beat(4);
    expect(state()).toBe(GroupState.STABLE);
    a.leave(5);
    expect(state()).toBe(GroupState.RECONCILING);
    b.beat(6);
    expect(state()).toBe(GroupState.STABLE);
    b.leave(7);
    expect(state()).toBe(GroupState.EMPTY);
    // A commit keeps the empty group; deleting it goes through DEAD.
    ok(await coordinator.commit(commitRequest(), 8));
    const deleting = coordinator.deleteGroup("g");
    expect(state()).toBe(GroupState.DEAD);
    ok(await deleting);
    expect(state()).toBeUndefined();
  });

  test("a member with reconciliation under way is told to heartbeat at the short interval, and at the normal one once settled", () => {
    const { a, b, joined } = twoMembers();
    expect(joined.heartbeatIntervalMs).toBe(250);
    expect(a.beat(2).heartbeatIntervalMs).toBe(250);
    expect(a.beat(3).heartbeatIntervalMs).toBe(5000);
    expect(b.beat(4).heartbeatIntervalMs).toBe(5000);
  });
});

function commitRequest() {
  return { $typeName: "polywire.v1.OffsetCommitRequest" as const, groupId: "g", memberId: "", memberEpoch: -1, offsets: [{ $typeName: "polywire.v1.CommitOffset" as const, topic: "t", partition: 0, offset: 5n, metadata: "" }] };
}
