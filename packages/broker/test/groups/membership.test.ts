import { describe, expect, test } from "vitest";
import { GroupState } from "@polywire/proto/admin";
import { Assignor } from "@polywire/proto/groups";
import { Client, failed, ok, request, setup, shown } from "./harness.js";

describe("membership and epochs (§8.1)", () => {
  test("PW-GROUP-001: an empty group_id fails as a whole with INVALID_ARGUMENT and creates nothing", () => {
    const { coordinator } = setup({ t: 2 });
    failed(coordinator.heartbeat(request({ groupId: "", subscription: ["t"] }), 0), "INVALID_ARGUMENT");
    expect(coordinator.list()).toEqual([]);
  });

  test("PW-GROUP-001: the first join creates the group; a heartbeat of another kind does not", () => {
    const { coordinator } = setup({ t: 2 });
    failed(coordinator.heartbeat(request({ memberId: "x", memberEpoch: 3 }), 0), "UNKNOWN_MEMBER_ID");
    expect(coordinator.describe("g")).toBeUndefined();
    ok(coordinator.heartbeat(request({ subscription: ["t"] }), 0));
    expect(coordinator.list()).toEqual([{ groupId: "g", state: GroupState.STABLE, members: 1, groupEpoch: 1 }]);
  });

  test("PW-GROUP-002: a join gets a new member id unique in the group, an epoch above 0, the heartbeat interval and an assignment", () => {
    const { coordinator } = setup({ t: 2 });
    const first = ok(coordinator.heartbeat(request({ subscription: ["t"] }), 0));
    const second = ok(coordinator.heartbeat(request({ subscription: ["missing"] }), 0));
    expect(first.memberId).not.toBe("");
    expect(second.memberId).not.toBe(first.memberId);
    expect(first.memberEpoch).toBeGreaterThan(0);
    expect(second.memberEpoch).toBeGreaterThan(0);
    expect(first.heartbeatIntervalMs).toBe(5000);
    expect(shown(first)).toEqual(["t/0", "t/1"]);
    // Possibly empty, but present.
    expect(shown(second)).toEqual([]);
  });

  test("PW-GROUP-002, PW-GROUP-018: a join without a subscription, with an empty one, or with a member_id fails with INVALID_ARGUMENT", () => {
    const { coordinator } = setup({ t: 2 });
    failed(coordinator.heartbeat(request({}), 0), "INVALID_ARGUMENT");
    failed(coordinator.heartbeat(request({ subscription: [] }), 0), "INVALID_ARGUMENT");
    failed(coordinator.heartbeat(request({ memberId: "mine", subscription: ["t"] }), 0), "INVALID_ARGUMENT");
    expect(coordinator.list()).toEqual([]);
  });

  test("PW-GROUP-003: the group epoch moves on join, Subscription change, partition growth, topic creation and deletion, and leave; not on a plain heartbeat", () => {
    const { coordinator, topics } = setup({ t: 2 });
    const epoch = () => coordinator.describe("g")?.groupEpoch;
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    expect(epoch()).toBe(1);
    a.beat(1);
    expect(epoch()).toBe(1);
    const b = new Client(coordinator, { subscription: ["t"] });
    b.join(2);
    expect(epoch()).toBe(2);
    b.beat(3, { subscription: ["t", "u"] });
    expect(epoch()).toBe(3);
    // The same Subscription again is no change.
    b.beat(4, { subscription: ["u", "t"] });
    expect(epoch()).toBe(3);
    topics.set("t", 4);
    coordinator.topicsChanged(5);
    expect(epoch()).toBe(4);
    topics.set("u", 1);
    coordinator.topicsChanged(6);
    expect(epoch()).toBe(5);
    // A change nobody subscribes to is no change.
    topics.set("other", 3);
    coordinator.topicsChanged(7);
    expect(epoch()).toBe(5);
    topics.delete("u");
    coordinator.topicsChanged(8);
    expect(epoch()).toBe(6);
    b.leave(9);
    expect(epoch()).toBe(7);
  });

  test("PW-GROUP-003: a partition count change is noticed on the next heartbeat even without topicsChanged", () => {
    const { coordinator, topics } = setup({ t: 1 });
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    topics.set("t", 3);
    expect(shown(a.beat(1))).toEqual(["t/0", "t/1", "t/2"]);
    expect(coordinator.describe("g")?.groupEpoch).toBe(2);
  });

  test("PW-GROUP-004: an omitted subscription or owned means unchanged, never empty", () => {
    const { coordinator } = setup({ t: 2 });
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    const r = ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch }), 1));
    expect(r.assignment).toBeUndefined();
    expect(coordinator.describe("g")?.memberViews[0]?.subscribedTopics).toEqual(["t"]);
    expect(coordinator.describe("g")?.groupEpoch).toBe(1);
    // b joins: a must give up t/1; a heartbeat omitting owned does not release it.
    const b = new Client(coordinator, { subscription: ["t"] });
    b.join(2);
    expect(shown(ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch }), 3)))).toEqual(["t/0"]);
    ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch }), 4));
    expect(coordinator.holder("g", "t", 1)).toBe(a.memberId);
    expect(shown(b.beat(5))).toBeNull();
  });

  test("PW-GROUP-005: a member silent for the session timeout is removed, its partitions free at once and the epoch bumped; one heartbeat earlier keeps it", () => {
    const { coordinator } = setup({ t: 2 }, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    const a = new Client(coordinator, { subscription: ["t"] });
    const b = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    b.join(0);
    a.beat(1);
    b.beat(2);
    a.beat(3);
    expect(coordinator.nextDeadline()).toBe(10_002);
    coordinator.tick(10_001);
    expect(coordinator.describe("g")?.members).toBe(2);
    b.beat(10_001);
    coordinator.tick(13_000);
    const d = coordinator.describe("g");
    expect(d?.memberViews.map((m) => m.memberId)).toEqual([b.memberId]);
    expect(coordinator.holder("g", "t", 0)).toBeUndefined();
    expect(shown(b.beat(13_001))).toEqual(["t/0", "t/1"]);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch, owned: a.owned }), 13_002), "UNKNOWN_MEMBER_ID");
  });

  test("PW-GROUP-005: expiry does not wait for a tick: a heartbeat of another member removes a silent one first", () => {
    const { coordinator } = setup({ t: 2 }, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    const a = new Client(coordinator, { subscription: ["t"] });
    const b = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    b.join(0);
    a.beat(1);
    b.beat(1);
    b.beat(9_000);
    expect(shown(b.beat(10_001))).toEqual(["t/0", "t/1"]);
    expect(coordinator.describe("g")?.members).toBe(1);
  });

  test("PW-GROUP-006: a leave (-1) is answered with -1, removes the member at once, frees its partitions and bumps the epoch", () => {
    const { coordinator } = setup({ t: 2 });
    const a = new Client(coordinator, { subscription: ["t"] });
    const b = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    b.join(0);
    a.beat(1);
    b.beat(1);
    const before = coordinator.describe("g")?.groupEpoch ?? 0;
    const r = a.leave(2);
    expect(r.memberEpoch).toBe(-1);
    expect(r.memberId).toBe(a.memberId);
    expect(coordinator.describe("g")?.groupEpoch).toBe(before + 1);
    expect(shown(b.beat(3))).toEqual(["t/0", "t/1"]);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: -1 }), 4), "UNKNOWN_MEMBER_ID");
  });

  test("PW-GROUP-009: a non-zero epoch with a member id the group never had, an empty one, or one that left fails with UNKNOWN_MEMBER_ID", () => {
    const { coordinator } = setup({ t: 2 });
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    failed(coordinator.heartbeat(request({ memberId: "never", memberEpoch: 1 }), 1), "UNKNOWN_MEMBER_ID");
    failed(coordinator.heartbeat(request({ memberId: "", memberEpoch: 1 }), 1), "UNKNOWN_MEMBER_ID");
    a.leave(2);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch }), 3), "UNKNOWN_MEMBER_ID");
  });

  test("PW-GROUP-010: the previous epoch is accepted when owned is within the assignment (a lost response), which is then sent again", () => {
    const { coordinator, topics } = setup({ t: 1 });
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    const old = a.epoch;
    topics.set("t", 2);
    // The response carrying epoch 2 and t/1 is lost.
    const lost = ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: old, owned: ["t/0"] }), 1));
    expect(lost.memberEpoch).toBe(old + 1);
    // Even without owned (unchanged: t/0, within the assignment), the missed assignment is sent again.
    const again = ok(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: old }), 2));
    expect(again.memberEpoch).toBe(old + 1);
    expect(shown(again)).toEqual(["t/0", "t/1"]);
  });

  test("PW-GROUP-010, PW-GROUP-011: any other epoch is fenced; the fenced member is removed, its partitions free, and it may rejoin", () => {
    const { coordinator } = setup({ t: 2 });
    const a = new Client(coordinator, { subscription: ["t"] });
    const b = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    b.join(0);
    a.beat(1);
    b.beat(1);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch + 5, owned: a.owned }), 2), "FENCED_MEMBER_EPOCH");
    expect(coordinator.holder("g", "t", 0)).toBeUndefined();
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: a.epoch, owned: a.owned }), 3), "UNKNOWN_MEMBER_ID");
    const again = new Client(coordinator, { subscription: ["t"] });
    again.join(4);
    expect(again.memberId).not.toBe(a.memberId);
  });

  test("PW-GROUP-010: the previous epoch with owned partitions outside the assignment is fenced", () => {
    const { coordinator } = setup({ t: 2 });
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    const b = new Client(coordinator, { subscription: ["t"] });
    b.join(1);
    // a revokes t/1 and reports it, advancing to the new epoch.
    a.beat(2);
    a.beat(3);
    expect(a.epoch).toBe(2);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: 1, owned: ["t/0", "t/1"] }), 4), "FENCED_MEMBER_EPOCH");
  });

  test("PW-GROUP-012: a join above the maximum group size fails with GROUP_MAX_SIZE_REACHED", () => {
    const { coordinator } = setup({ t: 2 }, { maxGroupSize: 2 });
    new Client(coordinator, { subscription: ["t"] }).join(0);
    new Client(coordinator, { subscription: ["t"] }).join(0);
    failed(coordinator.heartbeat(request({ subscription: ["t"] }), 0), "GROUP_MAX_SIZE_REACHED");
    // Another group is not affected.
    ok(coordinator.heartbeat(request({ groupId: "h", subscription: ["t"] }), 0));
  });

  test("PW-GROUP-017: joins that would take the broker above its groups or members fail with GROUP_MAX_SIZE_REACHED; an empty group without offsets makes room", () => {
    const { coordinator } = setup({ t: 2 }, { maxGroups: 2, maxMembers: 3 });
    const a = new Client(coordinator, { groupId: "g1", subscription: ["t"] });
    a.join(0);
    new Client(coordinator, { groupId: "g2", subscription: ["t"] }).join(0);
    failed(coordinator.heartbeat(request({ groupId: "g3", subscription: ["t"] }), 0), "GROUP_MAX_SIZE_REACHED");
    new Client(coordinator, { groupId: "g2", subscription: ["t"] }).join(0);
    failed(coordinator.heartbeat(request({ groupId: "g1", subscription: ["t"] }), 0), "GROUP_MAX_SIZE_REACHED");
    a.leave(1);
    ok(coordinator.heartbeat(request({ groupId: "g3", subscription: ["t"] }), 2));
  });

  test("PW-GROUP-013: success carries member_id, epoch and interval; the assignment only when it changed, whole and sorted", () => {
    const { coordinator, topics } = setup({ b: 2, a: 1, B: 1 });
    const c = new Client(coordinator, { subscription: ["b", "a", "B"] });
    const joined = c.join(0);
    // Topics ordered as bytes ('B' < 'a' < 'b'), partitions increasing.
    expect(joined.assignment?.partitions).toEqual([
      expect.objectContaining({ topic: "B", partitions: [0] }),
      expect.objectContaining({ topic: "a", partitions: [0] }),
      expect.objectContaining({ topic: "b", partitions: [0, 1] }),
    ]);
    const quiet = c.beat(1);
    expect(quiet.assignment).toBeUndefined();
    expect(quiet.memberId).toBe(c.memberId);
    expect(quiet.memberEpoch).toBe(c.epoch);
    expect(quiet.heartbeatIntervalMs).toBe(5000);
    // PW-GROUP-016: in v1 failures are Error frames; a response never carries one.
    expect(quiet.errorCode).toBe(0);
    expect(quiet.errorMessage).toBe("");
    topics.set("a", 2);
    // The whole set, not the difference.
    expect(shown(c.beat(2))).toEqual(["B/0", "a/0", "a/1", "b/0", "b/1"]);
  });

  test("PW-GROUP-014: a Subscription naming a missing topic is accepted and gets its partitions once it exists; a malformed name fails with INVALID_TOPIC", () => {
    const { coordinator, topics } = setup({});
    const c = new Client(coordinator, { subscription: ["later"] });
    expect(shown(c.join(0))).toEqual([]);
    topics.set("later", 2);
    coordinator.topicsChanged(1);
    expect(shown(c.beat(2))).toEqual(["later/0", "later/1"]);
    failed(coordinator.heartbeat(request({ subscription: ["bad name"] }), 3), "INVALID_TOPIC");
    failed(coordinator.heartbeat(request({ memberId: c.memberId, memberEpoch: c.epoch, subscription: [".."] }), 3), "INVALID_TOPIC");
  });

  test("PW-GROUP-015: an owned list naming a topic twice or a partition twice fails with INVALID_ARGUMENT", () => {
    const { coordinator } = setup({ t: 2 });
    const c = new Client(coordinator, { subscription: ["t"] });
    c.join(0);
    const twice = request({ memberId: c.memberId, memberEpoch: c.epoch });
    twice.owned = { $typeName: "polywire.v1.OwnedPartitions", partitions: [{ $typeName: "polywire.v1.TopicPartitions", topic: "t", partitions: [0] }, { $typeName: "polywire.v1.TopicPartitions", topic: "t", partitions: [1] }] };
    failed(coordinator.heartbeat(twice, 1), "INVALID_ARGUMENT");
    failed(coordinator.heartbeat(request({ memberId: c.memberId, memberEpoch: c.epoch, owned: ["t/0", "t/0"] }), 1), "INVALID_ARGUMENT");
  });

  test("PW-GROUP-018: member_epoch below -2 fails with INVALID_ARGUMENT and changes nothing", () => {
    const { coordinator } = setup({ t: 1 });
    const a = new Client(coordinator, { subscription: ["t"] });
    a.join(0);
    failed(coordinator.heartbeat(request({ memberId: a.memberId, memberEpoch: -3 }), 1), "INVALID_ARGUMENT");
    expect(coordinator.describe("g")?.members).toBe(1);
    expect(a.beat(2).assignment).toBeUndefined();
  });

  test("PW-GROUP-030: an unsupported assignor fails with UNSUPPORTED_ASSIGNOR; a change of the majority's assignor bumps the epoch and recomputes the target", () => {
    const { coordinator } = setup({ t: 4 });
    failed(coordinator.heartbeat(request({ subscription: ["t"], assignor: 9 as Assignor }), 0), "UNSUPPORTED_ASSIGNOR");
    const a = new Client(coordinator, { subscription: ["t"], assignor: Assignor.RANGE });
    const b = new Client(coordinator, { subscription: ["t"], assignor: Assignor.COOPERATIVE_STICKY });
    a.join(0);
    b.join(0);
    // A tie: RANGE has the lower enum value.
    expect(coordinator.describe("g")?.assignor).toBe(Assignor.RANGE);
    const epoch = coordinator.describe("g")?.groupEpoch ?? 0;
    a.beat(1, { assignor: Assignor.ROUND_ROBIN });
    expect(coordinator.describe("g")?.assignor).toBe(Assignor.ROUND_ROBIN);
    expect(coordinator.describe("g")?.groupEpoch).toBe(epoch + 1);
    // ROUND_ROBIN deals t/0 to m1 (a), t/1 to m2 (b), ...
    for (let now = 2; now < 6; now++) {
      a.beat(now, { assignor: Assignor.ROUND_ROBIN });
      b.beat(now);
    }
    expect(a.owned).toEqual(["t/0", "t/2"]);
    expect(b.owned).toEqual(["t/1", "t/3"]);
  });
});
