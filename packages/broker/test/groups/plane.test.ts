import { ErrorCode, Feature } from "@polywire/proto/session";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Broker, BrokerConfigError, brokerOptionsFromConfig } from "../../src/index.js";
import { GroupWire, ok, partitionsOf } from "./wire.js";

// The groups plane of a real broker over TCP: requests as raw frames, answers as the broker writes them.
let broker: Broker;
let url: string;
const open: GroupWire[] = [];

async function member(clientId?: string): Promise<GroupWire> {
  const { wire, features } = await GroupWire.connect(url, clientId);
  expect(features).toContain(Feature.GROUPS);
  open.push(wire);
  return wire;
}

beforeAll(async () => {
  broker = await Broker.start({
    listeners: ["tcp://127.0.0.1:0"],
    storage: { engine: "memory" },
    topics: [{ name: "orders", partitions: 4 }, { name: "small", partitions: 2 }],
    groups: { heartbeatIntervalMs: 3_000, reconcileHeartbeatIntervalMs: 100 },
  });
  url = broker.urls[0] as string;
});

afterEach(() => {
  for (const wire of open.splice(0)) wire.close();
});

afterAll(async () => {
  await broker.close();
});

describe("the groups plane on the wire (§8)", () => {
  it("PW-GROUP-002 PW-GROUP-013 PW-GROUP-004: a join gets a member id, an epoch, the configured heartbeat interval and every partition", async () => {
    const wire = await member();
    const joined = ok(await wire.heartbeat({ groupId: "g-join", memberEpoch: 0, subscription: { topics: ["orders"] } }));
    expect(joined.memberId).not.toBe("");
    expect(joined.memberEpoch).toBeGreaterThan(0);
    expect(joined.heartbeatIntervalMs).toBe(3_000);
    expect(partitionsOf(joined.assignment?.partitions)).toEqual(["orders:0,1,2,3"]);
    // Nothing changed: no assignment in the next response (PW-GROUP-013).
    const again = ok(await wire.heartbeat({ groupId: "g-join", memberId: joined.memberId, memberEpoch: joined.memberEpoch }));
    expect(again.assignment).toBeUndefined();
    const left = ok(await wire.heartbeat({ groupId: "g-join", memberId: joined.memberId, memberEpoch: -1 }));
    expect(left.memberEpoch).toBe(-1);
  });

  it("PW-GROUP-016 PW-GROUP-001 PW-GROUP-009: a request that fails as a whole is answered by an Error frame; the connection stays", async () => {
    const wire = await member();
    expect(await wire.heartbeat({ groupId: "", memberEpoch: 0, subscription: { topics: ["orders"] } })).toMatchObject({ ok: false, code: "INVALID_ARGUMENT" });
    expect(await wire.heartbeat({ groupId: "g-err", memberId: "nobody", memberEpoch: 3 })).toMatchObject({ ok: false, code: "UNKNOWN_MEMBER_ID" });
    expect(await wire.commit({ groupId: "", memberEpoch: -1 })).toMatchObject({ ok: false, code: "INVALID_ARGUMENT" });
    expect(await wire.fetch({ groupId: "" })).toMatchObject({ ok: false, code: "INVALID_ARGUMENT" });
    expect(ok(await wire.fetch({ groupId: "g-err", partitions: [{ topic: "orders", partitions: [0] }] })).offsets[0]).toMatchObject({ offset: -1n, commitTimeMs: -1n });
  });

  it("PW-GROUP-022 PW-GROUP-020 PW-GROUP-021: a second member gets partitions only after the first reported them released", async () => {
    const a = await member("a");
    const b = await member("b");
    const ja = ok(await a.heartbeat({ groupId: "g-two", memberEpoch: 0, subscription: { topics: ["orders"] } }));
    const jb = ok(await b.heartbeat({ groupId: "g-two", memberEpoch: 0, subscription: { topics: ["orders"] } }));
    // A still owns all four, so B's first assignment is empty, and B is told to come back soon.
    expect(partitionsOf(jb.assignment?.partitions)).toEqual([]);
    expect(jb.heartbeatIntervalMs).toBe(100);
    const revoke = ok(await a.heartbeat({ groupId: "g-two", memberId: ja.memberId, memberEpoch: ja.memberEpoch }));
    const keep = revoke.assignment?.partitions ?? [];
    expect(keep[0]?.partitions.length).toBe(2);
    const released = ok(await a.heartbeat({ groupId: "g-two", memberId: ja.memberId, memberEpoch: revoke.memberEpoch, owned: { partitions: keep } }));
    expect(released.memberEpoch).toBeGreaterThan(ja.memberEpoch);
    const given = ok(await b.heartbeat({ groupId: "g-two", memberId: jb.memberId, memberEpoch: jb.memberEpoch, owned: { partitions: [] } }));
    const mine = given.assignment?.partitions[0]?.partitions ?? [];
    expect([...mine, ...(keep[0]?.partitions ?? [])].sort()).toEqual([0, 1, 2, 3]);
  });

  it("PW-GROUP-041 PW-GROUP-043 PW-GROUP-044 PW-GROUP-045: commits are fenced by member epoch, validated one by one and fetched back with their time", async () => {
    const wire = await member();
    const joined = ok(await wire.heartbeat({ groupId: "g-commit", memberEpoch: 0, subscription: { topics: ["small"] } }));
    expect(await wire.commit({ groupId: "g-commit", memberId: joined.memberId, memberEpoch: joined.memberEpoch - 1, offsets: [] })).toMatchObject({ ok: false, code: "STALE_MEMBER_EPOCH" });
    expect(await wire.commit({ groupId: "g-commit", memberId: joined.memberId, memberEpoch: joined.memberEpoch + 1, offsets: [] })).toMatchObject({ ok: false, code: "FENCED_MEMBER_EPOCH" });
    const before = Date.now();
    const committed = ok(await wire.commit({
      groupId: "g-commit",
      memberId: joined.memberId,
      memberEpoch: joined.memberEpoch,
      offsets: [{ topic: "small", partition: 1, offset: 42n, metadata: "m" }, { topic: "small", partition: 9, offset: 1n }, { topic: "small", partition: 0, offset: -5n }],
    }));
    expect(committed.results.map((r) => ErrorCode[r.errorCode])).toEqual(["UNSPECIFIED", "UNKNOWN_PARTITION", "INVALID_COMMIT_OFFSET"]);
    const fetched = ok(await wire.fetch({ groupId: "g-commit" })).offsets;
    expect(fetched).toHaveLength(1);
    expect(fetched[0]).toMatchObject({ topic: "small", partition: 1, offset: 42n, metadata: "m" });
    expect(Number(fetched[0]?.commitTimeMs)).toBeGreaterThanOrEqual(before);
  });

  it("PW-GROUP-003: a subscribed topic that grows bumps the group epoch and the member gets the new partitions", async () => {
    await broker.createTopic("growing", { partitions: 1 });
    const wire = await member();
    const joined = ok(await wire.heartbeat({ groupId: "g-grow", memberEpoch: 0, subscription: { topics: ["growing"] } }));
    expect(partitionsOf(joined.assignment?.partitions)).toEqual(["growing:0"]);
    await broker.storage.alterTopic("growing", { partitions: 3 });
    const next = ok(await wire.heartbeat({ groupId: "g-grow", memberId: joined.memberId, memberEpoch: joined.memberEpoch }));
    expect(next.memberEpoch).toBeGreaterThan(joined.memberEpoch);
    expect(partitionsOf(next.assignment?.partitions)).toEqual(["growing:0,1,2"]);
  });

  it("PW-GROUP-046: deleting a topic deletes every group's commits of it; a topic of the same name starts without them", async () => {
    await broker.createTopic("doomed", { partitions: 1 });
    const wire = await member();
    ok(await wire.commit({ groupId: "g-doomed", memberEpoch: -1, offsets: [{ topic: "doomed", partition: 0, offset: 7n }, { topic: "small", partition: 0, offset: 3n }] }));
    await broker.storage.deleteTopic("doomed");
    await broker.createTopic("doomed", { partitions: 1 });
    // The deletion's entry is written after the topic is gone; the fetch comes after it on the same connection.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const offsets = ok(await wire.fetch({ groupId: "g-doomed" })).offsets;
    expect(offsets.map((o) => `${o.topic}:${o.partition}=${o.offset}`)).toEqual(["small:0=3"]);
  });

  it("PW-SESS-006: a broker started with groups: false grants no FEATURE_GROUPS", async () => {
    await using plain = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, groups: false });
    const { wire, features } = await GroupWire.connect(plain.urls[0] as string);
    open.push(wire);
    expect(features).not.toContain(Feature.GROUPS);
    expect(await wire.heartbeat({ groupId: "g", memberEpoch: 0, subscription: { topics: ["t"] } })).toMatchObject({ ok: false, code: "FEATURE_NOT_NEGOTIATED" });
  });

  it("PW-GROUP-004 PW-GROUP-005: group settings come from BrokerOptions or a config file; a bad one is a BrokerConfigError naming its key", async () => {
    expect(brokerOptionsFromConfig({ groups: { sessionTimeoutMs: 9_000, heartbeatIntervalMs: 1_000 } }, "/")).toMatchObject({ groups: { sessionTimeoutMs: 9_000, heartbeatIntervalMs: 1_000 } });
    expect(brokerOptionsFromConfig({ groups: false }, "/")).toMatchObject({ groups: false });
    expect(() => brokerOptionsFromConfig({ groups: { sessionTimeout: 1 } }, "/")).toThrow(BrokerConfigError);
    const bad = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, groups: { heartbeatIntervalMs: 50_000 } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BrokerConfigError);
    expect((bad as BrokerConfigError).key).toBe("groups.heartbeatIntervalMs");
    await using configured = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "c", partitions: 1 }], ...brokerOptionsFromConfig({ groups: { heartbeatIntervalMs: 1_234 } }, "/") });
    const { wire } = await GroupWire.connect(configured.urls[0] as string);
    open.push(wire);
    expect(ok(await wire.heartbeat({ groupId: "cfg", memberEpoch: 0, subscription: { topics: ["c"] } })).heartbeatIntervalMs).toBe(1_234);
  });
});
