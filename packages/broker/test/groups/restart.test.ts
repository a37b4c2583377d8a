import { describe, expect, it } from "vitest";
import { Broker } from "../../src/index.js";
import { tempDir } from "../helpers.js";
import { GroupWire, ok, partitionsOf, sleep } from "./wire.js";

const GROUPS = { heartbeatIntervalMs: 500, reconcileHeartbeatIntervalMs: 100, sessionTimeoutMs: 10_000 };

function start(dir: string): Promise<Broker> {
  return Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "disk", dir }, topics: [{ name: "t", partitions: 2 }], groups: GROUPS });
}

describe("group membership across a broker restart (PW-GROUP-028)", () => {
  it("PW-GROUP-028 PW-GROUP-009 PW-GROUP-024: a group that had members when the broker stopped gets no partition for twice the heartbeat interval, then gets them all; groups without members then, and new ones, at once", { timeout: 30_000 }, async () => {
    const dir = tempDir("groups-restart");
    const wires: GroupWire[] = [];
    const connect = async (broker: Broker): Promise<GroupWire> => {
      const { wire } = await GroupWire.connect(broker.urls[0] as string);
      wires.push(wire);
      return wire;
    };
    try {
      let broker = await start(dir.path);
      // A fresh data directory: no group is held back.
      const first = await connect(broker);
      const busy = ok(await first.heartbeat({ groupId: "busy", memberEpoch: 0, subscription: { topics: ["t"] } }));
      expect(partitionsOf(busy.assignment?.partitions)).toEqual(["t:0,1"]);
      const quiet = ok(await first.heartbeat({ groupId: "quiet", memberEpoch: 0, subscription: { topics: ["t"] } }));
      ok(await first.heartbeat({ groupId: "quiet", memberId: quiet.memberId, memberEpoch: -1 }));
      await broker.close();

      broker = await start(dir.path);
      const restartedAt = Date.now();
      try {
        const second = await connect(broker);
        // The member from before the restart, reconnected, is unknown (PW-GROUP-009)...
        expect(await (await connect(broker)).heartbeat({ groupId: "busy", memberId: busy.memberId, memberEpoch: busy.memberEpoch })).toMatchObject({ ok: false, code: "UNKNOWN_MEMBER_ID" });
        // ...and a new member of its group waits, heartbeating at the short interval, until the grace is over.
        const joined = ok(await second.heartbeat({ groupId: "busy", memberEpoch: 0, subscription: { topics: ["t"] } }));
        expect(partitionsOf(joined.assignment?.partitions)).toEqual([]);
        expect(joined.heartbeatIntervalMs).toBe(100);
        let assigned: string[] = [];
        let at = 0;
        while (assigned.length === 0 && Date.now() - restartedAt < 10_000) {
          await sleep(100);
          const beat = ok(await second.heartbeat({ groupId: "busy", memberId: joined.memberId, memberEpoch: joined.memberEpoch, owned: { partitions: [] } }));
          if (beat.assignment !== undefined) assigned = partitionsOf(beat.assignment.partitions);
          at = Date.now();
        }
        expect(assigned).toEqual(["t:0,1"]);
        expect(at - restartedAt).toBeGreaterThanOrEqual(2 * GROUPS.heartbeatIntervalMs);
        // The group whose members had all left, and a new group, are not held back.
        const third = await connect(broker);
        const calm = ok(await third.heartbeat({ groupId: "quiet", memberEpoch: 0, subscription: { topics: ["t"] } }));
        expect(partitionsOf(calm.assignment?.partitions)).toEqual(["t:0,1"]);
        const fresh = ok(await third.heartbeat({ groupId: "fresh", memberEpoch: 0, subscription: { topics: ["t"] } }));
        expect(partitionsOf(fresh.assignment?.partitions)).toEqual(["t:0,1"]);
      } finally {
        await broker.close();
      }
    } finally {
      for (const wire of wires) wire.close();
      dir.remove();
    }
  });
});
