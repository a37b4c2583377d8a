import { Code } from "@connectrpc/connect";
import { GroupState, ResetTarget } from "@polywire/proto/admin";
import { Assignor } from "@polywire/proto/groups";
import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../../src/index.js";
import { ADMIN_VARIANTS, adminClients, connectFailure, type AdminClients } from "../admin-clients.js";
import { tempDir } from "../helpers.js";
import { GroupWire, ok } from "./wire.js";

// GroupService (§11.4) over the real admin HTTP server, Connect JSON over HTTP/1.1 and gRPC over h2c.
describe.each([ADMIN_VARIANTS[1], ADMIN_VARIANTS[4]].map((v) => v as (typeof ADMIN_VARIANTS)[number]))("GroupService over $name", (variant) => {
  let broker: Broker;
  let admin: AdminClients;
  let conn: Connection;
  let dir: { path: string; remove(): void };
  const wires: GroupWire[] = [];

  async function produce(topic: string, partition: number, count: number): Promise<void> {
    const batch = encodeBatch(Array.from({ length: count }, (_, i) => ({ value: new TextEncoder().encode(`v${i}`), timestamp: 1_000 + i })));
    await conn.call(FrameKind.PRODUCE_REQUEST, { topic, partition, acks: Acks.ALL }, batch);
  }

  async function member(groupId: string, topics: string[]): Promise<{ wire: GroupWire; memberId: string; memberEpoch: number }> {
    const { wire } = await GroupWire.connect(broker.urls[0] as string, "admin-test-client");
    wires.push(wire);
    const joined = ok(await wire.heartbeat({ groupId, memberEpoch: 0, subscription: { topics }, assignor: Assignor.RANGE }));
    return { wire, memberId: joined.memberId, memberEpoch: joined.memberEpoch };
  }

  beforeAll(async () => {
    await init();
    dir = tempDir("groups-admin");
    broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "disk", dir: dir.path }, http: { port: 0 }, topics: [{ name: "events", partitions: 3 }, { name: "other", partitions: 1 }] });
    admin = adminClients(broker.httpUrl as string, variant);
    conn = await Connection.connect(broker.urls[0] as string);
    await produce("events", 0, 10);
    await produce("events", 1, 4);
  });

  afterAll(async () => {
    for (const wire of wires) wire.close();
    admin?.close();
    await conn?.close();
    await broker?.close();
    dir?.remove();
  });

  it("PW-ADMIN-030 PW-ADMIN-031 PW-ADMIN-032 PW-GROUP-025: list and describe show state, epoch, assignor, members and per-partition lag", async () => {
    const group = `live-${variant.name.length}`;
    const m = await member(group, ["events"]);
    ok(await m.wire.commit({ groupId: group, memberId: m.memberId, memberEpoch: m.memberEpoch, offsets: [{ topic: "events", partition: 0, offset: 6n }, { topic: "events", partition: 1, offset: 9n }] }));
    const listed = (await admin.groups.listGroups({})).groups.find((g) => g.groupId === group);
    expect(listed).toMatchObject({ state: GroupState.STABLE, members: 1 });
    const described = await admin.groups.describeGroup({ groupId: group });
    expect(described).toMatchObject({ groupId: group, state: GroupState.STABLE, groupEpoch: m.memberEpoch, assignor: Assignor.RANGE });
    expect(described.members).toHaveLength(1);
    expect(described.members[0]).toMatchObject({ memberId: m.memberId, clientId: "admin-test-client", memberEpoch: m.memberEpoch, subscribedTopics: ["events"] });
    expect(described.members[0]?.assigned).toMatchObject([{ topic: "events", partitions: [0, 1, 2] }]);
    expect(described.members[0]?.target).toMatchObject([{ topic: "events", partitions: [0, 1, 2] }]);
    // Committed 6 of 10: lag 4; committed above the high watermark of 4: lag 0; no commit: -1.
    expect(described.lag.map((l) => [l.topic, l.partition, l.committedOffset, l.highWatermark, l.lag, l.memberId])).toEqual([
      ["events", 0, 6n, 10n, 4n, m.memberId],
      ["events", 1, 9n, 4n, 0n, m.memberId],
      ["events", 2, -1n, 0n, -1n, m.memberId],
    ]);
    await connectFailure(admin.groups.describeGroup({ groupId: "never-was" }), Code.NotFound);
  });

  it("PW-ADMIN-033 PW-ADMIN-035: reset and delete refuse a group with members (GROUP_NOT_EMPTY), an unknown group, and an unspecified target", async () => {
    const group = `busy-${variant.name.length}`;
    await member(group, ["other"]);
    const busy = await connectFailure(admin.groups.resetGroupOffsets({ groupId: group, target: ResetTarget.EARLIEST }), Code.FailedPrecondition);
    expect(busy.rawMessage).toContain("ERROR_CODE_GROUP_NOT_EMPTY");
    expect((await connectFailure(admin.groups.deleteGroup({ groupId: group }), Code.FailedPrecondition)).rawMessage).toContain("ERROR_CODE_GROUP_NOT_EMPTY");
    await connectFailure(admin.groups.resetGroupOffsets({ groupId: "nobody-here", target: ResetTarget.LATEST }), Code.NotFound);
    await connectFailure(admin.groups.resetGroupOffsets({ groupId: "nobody-here", target: ResetTarget.UNSPECIFIED }), Code.InvalidArgument);
    await connectFailure(admin.groups.resetGroupOffsets({ groupId: "nobody-here", target: ResetTarget.LATEST, partitions: [{ topic: "events", partitions: [7] }] }), Code.NotFound);
    await connectFailure(admin.groups.resetGroupOffsets({ groupId: "nobody-here", target: ResetTarget.LATEST, partitions: [{ topic: "events", partitions: [1, 1] }] }), Code.InvalidArgument);
    await connectFailure(admin.groups.deleteGroup({ groupId: "nobody-here" }), Code.NotFound);
  });

  it("PW-ADMIN-034: reset to earliest, latest, a timestamp and a clamped offset; dry runs change nothing; listed partitions create the group", async () => {
    const group = `reset-${variant.name.length}`;
    const partitions = [{ topic: "events", partitions: [1, 0] }];
    const reset = async (target: ResetTarget, value = 0n, dryRun = false): Promise<bigint[]> =>
      (await admin.groups.resetGroupOffsets({ groupId: group, partitions, target, value, dryRun })).offsets.map((o) => o.committedOffset);
    // Dry run on a group that does not exist: offsets computed, nothing committed, no group made.
    expect(await reset(ResetTarget.LATEST, 0n, true)).toEqual([10n, 4n]);
    await connectFailure(admin.groups.describeGroup({ groupId: group }), Code.NotFound);
    expect(await reset(ResetTarget.LATEST)).toEqual([10n, 4n]);
    expect((await admin.groups.describeGroup({ groupId: group })).state).toBe(GroupState.EMPTY);
    expect(await reset(ResetTarget.EARLIEST)).toEqual([0n, 0n]);
    // Records of timestamps 1000.. : the first at or after 1003; none that recent in partition 1 beyond its 4 → high watermark.
    expect(await reset(ResetTarget.TIMESTAMP, 1_003n)).toEqual([3n, 3n]);
    expect(await reset(ResetTarget.TIMESTAMP, 1_007n)).toEqual([7n, 4n]);
    expect(await reset(ResetTarget.OFFSET, 8n)).toEqual([8n, 4n]);
    expect(await reset(ResetTarget.OFFSET, -3n, true)).toEqual([0n, 0n]);
    // The committed offsets are the last non-dry reset's, and the order is topic then partition.
    const all = await admin.groups.resetGroupOffsets({ groupId: group, target: ResetTarget.EARLIEST, dryRun: true });
    expect(all.offsets.map((o) => [o.partition, o.committedOffset])).toEqual([[0, 0n], [1, 0n]]);
    const { wire } = await GroupWire.connect(broker.urls[0] as string);
    wires.push(wire);
    const fetched = ok(await wire.fetch({ groupId: group })).offsets;
    expect(fetched.map((o) => [o.partition, o.offset])).toEqual([[0, 8n], [1, 4n]]);
    await admin.groups.deleteGroup({ groupId: group });
    await connectFailure(admin.groups.describeGroup({ groupId: group }), Code.NotFound);
    expect((await admin.groups.listGroups({})).groups.map((g) => g.groupId)).not.toContain(group);
  });
});

describe("GroupService without the groups plane", () => {
  it("PW-ADMIN-029: every GroupService RPC is unimplemented and says so", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, groups: false });
    const admin = adminClients(broker.httpUrl as string, ADMIN_VARIANTS[0] as (typeof ADMIN_VARIANTS)[number]);
    try {
      for (const call of [
        admin.groups.listGroups({}),
        admin.groups.describeGroup({ groupId: "g" }),
        admin.groups.resetGroupOffsets({ groupId: "g", target: ResetTarget.EARLIEST }),
        admin.groups.deleteGroup({ groupId: "g" }),
      ]) {
        expect((await connectFailure(call, Code.Unimplemented)).rawMessage).toBe("consumer groups are not available on this broker");
      }
    } finally {
      admin.close();
    }
  });
});
