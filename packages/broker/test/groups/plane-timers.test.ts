import { create } from "@bufbuild/protobuf";
import { GroupState } from "@polywire/proto/admin";
import { GroupHeartbeatRequestSchema, OffsetCommitRequestSchema } from "@polywire/proto/groups";
import { describe, expect, it } from "vitest";
import { GroupsPlane } from "../../src/groups-plane.js";
import { openMemoryStorage } from "../../src/storage/memory.js";
import type { Storage } from "../../src/storage/storage.js";
import { sleep } from "./wire.js";

// The plane's own timers, with nobody sending requests: only they can remove a member or expire offsets.
async function withPlane(config: ConstructorParameters<typeof GroupsPlane>[0]["config"], body: (plane: GroupsPlane, storage: Storage) => Promise<void>): Promise<void> {
  await using storage = await openMemoryStorage({ retentionCheckIntervalMs: 0 });
  await storage.createTopic("t", { partitions: 2 });
  const plane = new GroupsPlane({ storage, config });
  await plane.start();
  try {
    await body(plane, storage);
  } finally {
    await plane.close();
  }
}

function join(plane: GroupsPlane, groupId: string, instanceId = ""): { memberId: string; memberEpoch: number } {
  const outcome = plane.coordinator.heartbeat(create(GroupHeartbeatRequestSchema, { groupId, memberEpoch: 0, instanceId, subscription: { topics: ["t"] } }), Date.now());
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.value;
}

describe("the groups plane's timers", () => {
  it("PW-GROUP-005: a silent member is removed by the broker's timer at the session timeout, with no request to notice it", async () => {
    await withPlane({ sessionTimeoutMs: 1_200, heartbeatIntervalMs: 100, reconcileHeartbeatIntervalMs: 50 }, async (plane) => {
      // A member that joined on the coordinator directly, with no timer armed for it.
      join(plane, "g");
      // A heartbeat through the plane's route arms the timer, as a request from a client does.
      const routes = plane.routes();
      expect(routes.size).toBe(3);
      const [heartbeat] = [...routes.values()];
      await heartbeat?.handle({ message: create(GroupHeartbeatRequestSchema, { groupId: "g2", memberEpoch: 0, subscription: { topics: ["t"] } }), frame: undefined as never, session: { clientId: "c", features: new Set() } as never });
      expect(plane.coordinator.describe("g2")?.members).toBe(1);
      await sleep(300);
      expect(plane.coordinator.describe("g2")?.members).toBe(1);
      await sleep(1_500);
      // Both are gone: the timer's tick looks at every group.
      expect(plane.coordinator.describe("g2")).toBeUndefined();
      expect(plane.coordinator.describe("g")).toBeUndefined();
    });
  });

  it("PW-GROUP-007: a static member that left with -2 is removed for good by the timer when no one takes it over", async () => {
    await withPlane({ sessionTimeoutMs: 300, heartbeatIntervalMs: 100, reconcileHeartbeatIntervalMs: 50 }, async (plane) => {
      const [heartbeat] = [...plane.routes().values()];
      const session = { clientId: "c", features: new Set() } as never;
      const send = (init: Parameters<typeof create<typeof GroupHeartbeatRequestSchema>>[1]) => heartbeat?.handle({ message: create(GroupHeartbeatRequestSchema, init), frame: undefined as never, session });
      await send({ groupId: "s", memberEpoch: 0, instanceId: "i-1", subscription: { topics: ["t"] } });
      const memberId = plane.coordinator.describe("s")?.memberViews[0]?.memberId ?? "";
      await send({ groupId: "s", memberId, instanceId: "i-1", memberEpoch: -2 });
      expect(plane.coordinator.describe("s")?.members).toBe(1);
      await sleep(800);
      expect(plane.coordinator.describe("s")).toBeUndefined();
    });
  });

  it("PW-GROUP-046: the committed offsets of a group empty for longer than the retention expire on the plane's timer", async () => {
    await withPlane({ offsetRetentionMs: 200 }, async (plane) => {
      const commit = create(OffsetCommitRequestSchema, { groupId: "idle", memberEpoch: -1, offsets: [{ topic: "t", partition: 0, offset: 5n }] });
      expect((await plane.coordinator.commit(commit, Date.now())).ok).toBe(true);
      expect(plane.coordinator.describe("idle")?.state).toBe(GroupState.EMPTY);
      await sleep(900);
      expect(plane.coordinator.list().map((g) => g.groupId)).not.toContain("idle");
    });
  });

  it("close stops the timers: a member silent past its session timeout stays once the plane is closed", async () => {
    await using storage = await openMemoryStorage({ retentionCheckIntervalMs: 0 });
    await storage.createTopic("t", { partitions: 1 });
    const plane = new GroupsPlane({ storage, config: { sessionTimeoutMs: 200, heartbeatIntervalMs: 100, reconcileHeartbeatIntervalMs: 50 } });
    await plane.start();
    const [heartbeat] = [...plane.routes().values()];
    await heartbeat?.handle({ message: create(GroupHeartbeatRequestSchema, { groupId: "c", memberEpoch: 0, subscription: { topics: ["t"] } }), frame: undefined as never, session: { clientId: "c", features: new Set() } as never });
    await plane.close();
    await sleep(500);
    // Only describe's view: no timer ran, so the member was never removed.
    expect(plane.coordinator.list()).toEqual([{ groupId: "c", state: GroupState.STABLE, members: 1, groupEpoch: 1 }]);
  });
});
