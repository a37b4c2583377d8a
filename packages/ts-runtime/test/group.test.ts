import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Broker } from "@polywire/broker";
import { FrameKind } from "@polywire/proto/session";
import { afterEach, describe, expect, it } from "vitest";
import { connect, PolywireError, Record, type Client, type GroupConsumer, type GroupConsumerOptions, type TopicPartition } from "../src/index.js";
import { FaultProxy } from "./fault-proxy.js";
import { startBroker, until } from "./harness.js";

// Short broker timings so that rebalances and expiries happen within a test;
// margins stay generous because the machine is shared.
const GROUPS = { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 200, reconcileHeartbeatIntervalMs: 50 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function startGroupBroker(topics: Array<{ name: string; partitions: number }>, listeners?: string[]): Promise<Broker> {
  const broker = await startBroker({ topics, groups: GROUPS, ...(listeners === undefined ? {} : { listeners }) });
  cleanups.push(() => broker.close());
  return broker;
}

async function client(broker: Broker): Promise<Client> {
  const c = await connect(broker.urls[0] as string, { retry: { initialDelayMs: 5, maxDelayMs: 50 } });
  cleanups.push(() => c.close());
  return c;
}

async function produce(c: Client, topic: string, partitions: number, perPartition: number): Promise<void> {
  const producer = c.producer({ lingerMs: 5 });
  const sends: Promise<unknown>[] = [];
  for (let p = 0; p < partitions; p++) for (let i = 0; i < perPartition; i++) sends.push(producer.send(Record.text(topic, `${p}-${i}`, { partition: p })));
  await producer.flush();
  await Promise.all(sends);
  await producer.close();
}

const key = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

/**
 * Watches every member's hooks: a partition assigned while another member
 * still holds it fails the test (PW-GROUP-022).
 */
class OwnershipChecker {
  readonly owner = new Map<string, string>();
  readonly violations: string[] = [];

  hooks(name: string): Pick<GroupConsumerOptions, "onAssigned" | "onRevoked" | "onLost"> {
    return {
      onAssigned: (parts) => {
        for (const tp of parts) {
          const holder = this.owner.get(key(tp));
          if (holder !== undefined && holder !== name) this.violations.push(`${key(tp)} assigned to ${name} while ${holder} owns it`);
          this.owner.set(key(tp), name);
        }
      },
      onRevoked: (parts) => this.#release(name, parts),
      onLost: (parts) => this.#release(name, parts),
    };
  }

  #release(name: string, parts: TopicPartition[]): void {
    for (const tp of parts) if (this.owner.get(key(tp)) === name) this.owner.delete(key(tp));
  }
}

/** Runs a member's `for await` loop, recording each record as "partition-offset", until the consumer closes. */
function drain(consumer: GroupConsumer, seen: string[], perRecord?: () => Promise<void>): Promise<void> {
  return (async () => {
    for await (const r of consumer) {
      seen.push(`${r.partition}-${r.offset}`);
      if (perRecord !== undefined) await perRecord();
    }
  })();
}

describe("group consumer: sharing partitions (PW-GROUP-002, PW-GROUP-020..022, PW-GROUP-034)", () => {
  it("PW-GROUP-022/PW-GROUP-034: three members joining one by one share six partitions, none owned twice, every record consumed once", { timeout: 60_000 }, async () => {
    const broker = await startGroupBroker([{ name: "share", partitions: 6 }]);
    const producerClient = await client(broker);
    const checker = new OwnershipChecker();
    const seen: string[] = [];
    const members: GroupConsumer[] = [];
    const loops: Promise<void>[] = [];
    const join = async (name: string): Promise<GroupConsumer> => {
      const c = (await client(broker)).consumer({ group: "g-share", topics: ["share"], autoOffsetReset: "earliest", maxWaitMs: 50, autoCommitIntervalMs: 100, ...checker.hooks(name) });
      members.push(c);
      // Slow enough that revocations find records in hand.
      loops.push(drain(c, seen, () => new Promise((r) => setTimeout(r, 1))));
      return c;
    };
    await join("a");
    await produce(producerClient, "share", 6, 100);
    await until(() => seen.length >= 100, 20_000, "the first member consuming");
    await join("b");
    await produce(producerClient, "share", 6, 100);
    await join("c");
    await produce(producerClient, "share", 6, 100);
    await until(() => seen.length >= 1_800, 40_000, "every record consumed");
    // PW-GROUP-034: balanced, 2 partitions each, once settled.
    await until(() => members.every((m) => m.assignment().length === 2), 20_000, "a balanced assignment");
    expect(checker.violations).toEqual([]);
    const all = members.flatMap((m) => m.assignment().map(key)).sort();
    expect(all).toEqual([0, 1, 2, 3, 4, 5].map((p) => `share/${p}`));
    // Synchronous commits before release: no record went to two members.
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(1_800);
    for (const m of members) await m.close();
    await Promise.all(loops);
  });

  it("PW-GROUP-006: a member that closes leaves at once and its partitions move to the other", { timeout: 30_000 }, async () => {
    const broker = await startGroupBroker([{ name: "leave", partitions: 4 }]);
    const a = (await client(broker)).consumer({ group: "g-leave", topics: ["leave"] });
    const b = (await client(broker)).consumer({ group: "g-leave", topics: ["leave"] });
    const loops = [drain(a, []), drain(b, [])];
    await until(() => a.assignment().length === 2 && b.assignment().length === 2, 15_000, "two members with two partitions");
    const closed = performance.now();
    await a.close();
    // Well inside the 2 s session timeout: the leave (epoch -1) freed them.
    await until(() => b.assignment().length === 4, 1_500, "the partitions of the member that left");
    expect(performance.now() - closed).toBeLessThan(1_500);
    await b.close();
    await Promise.all(loops);
  });
});

describe("group consumer: GroupNotice (PW-GROUP-029)", () => {
  it("PW-GROUP-029: with heartbeat intervals of 10 s, a join and a leave settle in round trips, not intervals", { timeout: 30_000 }, async () => {
    // Every interval is longer than the waits below: only notices can move the partitions in time.
    const broker = await startBroker({ topics: [{ name: "notice", partitions: 4 }], groups: { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 10_000, reconcileHeartbeatIntervalMs: 10_000 } });
    cleanups.push(() => broker.close());
    const checker = new OwnershipChecker();
    const a = (await client(broker)).consumer({ group: "g-notice", topics: ["notice"], ...checker.hooks("a") });
    const loops = [drain(a, [])];
    await until(() => a.assignment().length === 4, 5_000, "the first member's partitions");
    const joined = performance.now();
    const b = (await client(broker)).consumer({ group: "g-notice", topics: ["notice"], ...checker.hooks("b") });
    loops.push(drain(b, []));
    await until(() => a.assignment().length === 2 && b.assignment().length === 2, 3_000, "the join settled");
    expect(performance.now() - joined).toBeLessThan(3_000);
    const left = performance.now();
    await b.close();
    await until(() => a.assignment().length === 4, 3_000, "the leave settled");
    expect(performance.now() - left).toBeLessThan(3_000);
    expect(checker.violations).toEqual([]);
    await a.close();
    await Promise.all(loops);
  });
});

describe("group consumer: heartbeats never wait for the handler (PW-GROUP-004, PW-GROUP-005)", () => {
  it("PW-GROUP-004: a member whose handler awaits 3x the session timeout on one record keeps its partitions", { timeout: 60_000 }, async () => {
    const broker = await startGroupBroker([{ name: "busy", partitions: 4 }]);
    const lost: string[] = [];
    const busy = (await client(broker)).consumer({ group: "g-busy", topics: ["busy"], autoOffsetReset: "earliest", maxWaitMs: 50, onLost: (p) => lost.push(...p.map(key)) });
    const other = (await client(broker)).consumer({ group: "g-busy", topics: ["busy"], autoOffsetReset: "earliest", maxWaitMs: 50, onLost: (p) => lost.push(...p.map(key)) });
    await until(() => busy.assignment().length === 2 && other.assignment().length === 2, 15_000, "two members with two partitions");
    const mine = busy.assignment().map(key).sort();
    const epoch = busy.memberEpoch;
    const busySeen: string[] = [];
    const otherSeen: string[] = [];
    let blocked = false;
    const busyLoop = (async () => {
      for await (const r of busy) {
        busySeen.push(`${r.partition}-${r.offset}`);
        if (!blocked) {
          blocked = true;
          await new Promise((resolve) => setTimeout(resolve, 3 * GROUPS.sessionTimeoutMs));
        }
      }
    })();
    const otherLoop = drain(other, otherSeen);
    await produce(await client(broker), "busy", 4, 20);
    await until(() => otherSeen.length === 40, 15_000, "the other member's records flowing");
    // Still blocked: the handler holds its first record for 6 s.
    expect(busySeen.length).toBe(1);
    await until(() => busySeen.length === 40, 20_000, "the busy member resuming");
    expect(lost).toEqual([]);
    expect(busy.assignment().map(key).sort()).toEqual(mine);
    expect(busy.memberEpoch).toBe(epoch);
    await Promise.all([busy.close(), other.close()]);
    await Promise.all([busyLoop, otherLoop]);
  });
});

describe("group consumer: members that die or are expelled (PW-GROUP-005, PW-GROUP-011)", () => {
  it("PW-GROUP-005: a member process killed with SIGKILL loses its partitions to the survivor within the session timeout", { timeout: 60_000 }, async () => {
    const broker = await startGroupBroker([{ name: "kill", partitions: 4 }], ["tcp://127.0.0.1:0"]);
    const survivor = (await client(broker)).consumer({ group: "g-kill", topics: ["kill"] });
    const loop = drain(survivor, []);
    await until(() => survivor.assignment().length === 4, 10_000, "the first member's assignment");
    const script = fileURLToPath(new URL("./fixtures/group-member.mts", import.meta.url));
    const child = spawn(process.execPath, ["--no-warnings", "--conditions=@polywire/source", "--import", "tsx", script, broker.urls[0] as string, "g-kill", "kill"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    cleanups.push(async () => {
      child.kill("SIGKILL");
      await exited;
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await until(() => /"assigned":\[\d+,\d+\]/.test(out), 30_000, "the child member owning two partitions");
    await until(() => survivor.assignment().length === 2, 10_000, "the survivor giving two up");
    child.kill("SIGKILL");
    await exited;
    const killed = performance.now();
    await until(() => survivor.assignment().length === 4, GROUPS.sessionTimeoutMs + 3_000, "the killed member's partitions");
    const movedMs = performance.now() - killed;
    // Removed at the session timeout (PW-GROUP-005), handed over within a heartbeat after.
    expect(movedMs).toBeLessThan(GROUPS.sessionTimeoutMs + 3_000);
    await survivor.close();
    await loop;
  });

  it("PW-GROUP-011: a member expelled while its heartbeats were lost drops its partitions uncommitted and rejoins", { timeout: 60_000 }, async () => {
    const broker = await startGroupBroker([{ name: "expel", partitions: 2 }], ["tcp://127.0.0.1:0"]);
    const proxy = await FaultProxy.start(broker.urls[0] as string);
    cleanups.push(() => proxy.close());
    const c = await connect(proxy.url, { retry: { initialDelayMs: 5, maxDelayMs: 50 } });
    cleanups.push(() => c.close());
    const lost: Array<{ partitions: string[]; code: string }> = [];
    const member = c.consumer({ group: "g-expel", topics: ["expel"], onLost: (p, error) => lost.push({ partitions: p.map(key).sort(), code: error.code }) });
    const loop = drain(member, []);
    await until(() => member.assignment().length === 2, 10_000, "the assignment");
    const firstId = member.memberId;
    // Heartbeats vanish on the way: the broker removes the member at its session timeout.
    proxy.rule = (f) => (f.direction === "to-broker" && f.frame.kind === FrameKind.GROUP_HEARTBEAT_REQUEST ? "drop" : "forward");
    await until(() => (broker.groups?.describe("g-expel")?.members ?? 0) === 0, GROUPS.sessionTimeoutMs + 5_000, "the broker removing the member");
    proxy.rule = () => "forward";
    await until(() => lost.length === 1, 10_000, "the member learning it was expelled");
    expect(lost[0]).toEqual({ partitions: ["expel/0", "expel/1"], code: "UNKNOWN_MEMBER_ID" });
    await until(() => member.assignment().length === 2 && member.memberId !== firstId, 10_000, "the member rejoining");
    await member.close();
    await loop;
  });
});

describe("group consumer: static membership (PW-GROUP-007, PW-GROUP-008)", () => {
  it("PW-GROUP-008: a static member that leaves with -2 and returns gets its partitions back without a rebalance", { timeout: 30_000 }, async () => {
    const broker = await startGroupBroker([{ name: "static", partitions: 4 }]);
    const changes: string[] = [];
    const b = (await client(broker)).consumer({ group: "g-static", topics: ["static"], onAssigned: (p) => changes.push(`+${p.map(key).join(",")}`), onRevoked: (p) => changes.push(`-${p.map(key).join(",")}`) });
    const bLoop = drain(b, []);
    const a1 = (await client(broker)).consumer({ group: "g-static", topics: ["static"], groupInstanceId: "a" });
    const a1Loop = drain(a1, []);
    await until(() => a1.assignment().length === 2 && b.assignment().length === 2, 15_000, "two members with two partitions");
    const aParts = a1.assignment().map(key).sort();
    const aId = a1.memberId;
    const groupEpoch = broker.groups?.describe("g-static")?.groupEpoch;
    changes.length = 0;
    await a1.close();
    await a1Loop;
    const a2 = (await client(broker)).consumer({ group: "g-static", topics: ["static"], groupInstanceId: "a" });
    const a2Loop = drain(a2, []);
    await until(() => a2.assignment().length === 2, 5_000, "the static member's partitions back");
    expect(a2.assignment().map(key).sort()).toEqual(aParts);
    expect(a2.memberId).toBe(aId);
    // Wait past the session timeout: the reservation never expired, b never moved.
    await new Promise((resolve) => setTimeout(resolve, GROUPS.sessionTimeoutMs + 500));
    expect(changes).toEqual([]);
    expect(b.assignment().length).toBe(2);
    expect(broker.groups?.describe("g-static")?.groupEpoch).toBe(groupEpoch);
    await Promise.all([a2.close(), b.close()]);
    await Promise.all([a2Loop, bLoop]);
  });
});

describe("group consumer: committed offsets (PW-GROUP-040, PW-GROUP-041, PW-GROUP-044)", () => {
  it("PW-GROUP-040/PW-GROUP-044: offsets committed before close are where the next member starts", { timeout: 30_000 }, async () => {
    const broker = await startGroupBroker([{ name: "resume", partitions: 1 }]);
    const c = await client(broker);
    await produce(c, "resume", 1, 10);
    const first = c.consumer({ group: "g-resume", topics: ["resume"], autoOffsetReset: "earliest", autoCommit: false, maxWaitMs: 50 });
    const offsets: bigint[] = [];
    for await (const r of first) {
      offsets.push(r.offset);
      if (offsets.length === 4) break;
    }
    await first.commit();
    expect(first.committed({ topic: "resume", partition: 0 })).toBe(4n);
    await first.close();
    // Auto-commit on close, from a consumer that read three more.
    const second = c.consumer({ group: "g-resume", topics: ["resume"], autoOffsetReset: "earliest", maxWaitMs: 50 });
    for await (const r of second) {
      offsets.push(r.offset);
      if (offsets.length === 7) break;
    }
    await second.close();
    const third = c.consumer({ group: "g-resume", topics: ["resume"], autoOffsetReset: "earliest", maxWaitMs: 50 });
    for await (const r of third) {
      offsets.push(r.offset);
      if (offsets.length === 10) break;
    }
    await third.close();
    expect(offsets).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
  });

  it("PW-GROUP-041: a commit when not a member fails with UNKNOWN_MEMBER_ID and commits nothing", { timeout: 30_000 }, async () => {
    const broker = await startGroupBroker([{ name: "fence", partitions: 1 }]);
    const c = await client(broker);
    const consumer = c.consumer({ group: "g-fence", topics: ["fence"] });
    await until(() => consumer.assignment().length === 1, 10_000, "the assignment");
    await consumer.close();
    await expect(consumer.commit([{ topic: "fence", partition: 0, offset: 5n }])).rejects.toMatchObject({ code: "UNKNOWN_MEMBER_ID" });
    const reader = c.consumer({ group: "g-fence", topics: ["fence"], autoOffsetReset: "latest" });
    await until(() => reader.assignment().length === 1, 10_000, "the reader's assignment");
    expect(reader.committed({ topic: "fence", partition: 0 })).toBeUndefined();
    await reader.close();
  });

  it("PW-GROUP-002: a group consumer without topics is refused with INVALID_ARGUMENT", async () => {
    const broker = await startGroupBroker([]);
    const c = await client(broker);
    expect(() => c.consumer({ group: "g", topics: [] })).toThrow(PolywireError);
    expect(() => c.consumer({ group: "", topics: ["t"] })).toThrow(/PW-GROUP-001/);
  });
});
