import { describe, expect, test } from "vitest";
import { Client, failed, ok, request, setup, shown } from "./harness.js";

describe("static membership (PW-GROUP-007, PW-GROUP-008)", () => {
  test("PW-GROUP-007: -2 is answered with -2, keeps the assignment reserved and the group epoch unchanged", () => {
    const { coordinator } = setup({ t: 4 });
    const a = new Client(coordinator, { subscription: ["t"], instanceId: "host-a" });
    const b = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    b.join(0);
    a.beat(1);
    b.beat(1);
    a.beat(2);
    b.beat(2);
    const epoch = coordinator.describe("g")?.groupEpoch;
    const r = a.leave(3, -2);
    expect(r.memberEpoch).toBe(-2);
    expect(r.memberId).toBe(a.memberId);
    expect(coordinator.describe("g")?.groupEpoch).toBe(epoch);
    for (const tp of a.owned) expect(coordinator.holder("g", "t", Number(tp.split("/")[1]))).toBe(a.memberId);
    // b gets nothing of the reserved partitions.
    expect(shown(b.beat(4))).toBeNull();
  });

  test("PW-GROUP-007, PW-GROUP-018: -2 without an instance_id fails with INVALID_ARGUMENT; a heartbeat with another instance_id than the member's too", () => {
    const { coordinator } = setup({ t: 1 });
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: -2 }), 1), "INVALID_ARGUMENT");
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch, instanceId: "x" }), 1), "INVALID_ARGUMENT");
    ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch }), 1));
  });

  test("PW-GROUP-007: a reserved member nobody takes over within the session timeout is removed for good, as PW-GROUP-005 says", () => {
    const { coordinator } = setup({ t: 2 }, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    const a = new Client(coordinator, { subscription: ["t"], instanceId: "host-a" });
    const b = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    b.join(0);
    a.beat(1);
    b.beat(1);
    a.leave(2, -2);
    const epoch = coordinator.describe("g")?.groupEpoch ?? 0;
    b.beat(9_000);
    // Reserved from t=2: removed at 2 + 10,000.
    coordinator.tick(10_001);
    expect(coordinator.describe("g")?.members).toBe(2);
    coordinator.tick(10_002);
    expect(coordinator.describe("g")?.members).toBe(1);
    expect(coordinator.describe("g")?.groupEpoch).toBe(epoch + 1);
    expect(shown(b.beat(10_003))).toEqual(["t/0", "t/1"]);
    // The instance id is free again: a new join is a new member.
    const again = new Client(coordinator, { subscription: ["t"], instanceId: "host-a" });
    again.join(10_004);
    expect(again.memberId).not.toBe(a.memberId);
  });

  test("PW-GROUP-008: a join with the instance_id of a reserved member takes it over: same member id, epoch above 0, the reserved assignment, no epoch bump", () => {
    const { coordinator } = setup({ t: 4 });
    const a = new Client(coordinator, { subscription: ["t"], instanceId: "host-a" });
    const b = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    b.join(0);
    for (let now = 1; now < 4; now++) {
      a.beat(now);
      b.beat(now);
    }
    const reserved = [...a.owned];
    a.leave(4, -2);
    const epoch = coordinator.describe("g")?.groupEpoch;
    const next = new Client(coordinator, { subscription: ["t"], instanceId: "host-a" });
    const r = next.join(5);
    expect(r.memberId).toBe(a.memberId);
    expect(r.memberEpoch).toBeGreaterThan(0);
    expect(shown(r)).toEqual(reserved);
    expect(coordinator.describe("g")?.groupEpoch).toBe(epoch);
    // It carries on as the same member.
    expect(next.beat(6).assignment).toBeUndefined();
  });

  test("PW-GROUP-008: a join with the instance_id of a member still active fails with UNRELEASED_INSTANCE_ID", () => {
    const { coordinator } = setup({ t: 1 });
    new Client(coordinator, { subscription: ["t"], instanceId: "host-a" }).join(0);
    failed(coordinator.heartbeat(request({ subscription: ["t"], instanceId: "host-a" }), 1), "UNRELEASED_INSTANCE_ID");
  });

  test("PW-GROUP-007: the old incarnation heartbeating after -2 is fenced and removed; its reserved partitions are free", () => {
    const { coordinator } = setup({ t: 2 });
    const a = new Client(coordinator, { subscription: ["t"], instanceId: "host-a" });
    a.join(0);
    const epoch = a.epoch;
    a.leave(1, -2);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: epoch, instanceId: "host-a", owned: a.owned }), 2), "FENCED_MEMBER_EPOCH");
    expect(coordinator.holder("g", "t", 0)).toBeUndefined();
  });

  test("PW-GROUP-007, PW-GROUP-022: partitions a member was still revoking when it left with -2 are free at once", () => {
    const { coordinator } = setup({ t: 2 });
    const a = new Client(coordinator, { subscription: ["t"], instanceId: "host-a" });
    a.join(0);
    const b = new Client(coordinator, { subscription: ["t"] });
    b.join(1);
    // a is told to give up t/1, then leaves with -2 without reporting.
    expect(shown(ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch, instanceId: "host-a" }), 2)))).toEqual(["t/0"]);
    expect(coordinator.holder("g", "t", 1)).toBe(a.memberId);
    a.leave(3, -2);
    expect(coordinator.holder("g", "t", 1)).toBeUndefined();
    expect(coordinator.holder("g", "t", 0)).toBe(a.memberId);
    expect(shown(b.beat(4))).toEqual(["t/1"]);
  });
});
