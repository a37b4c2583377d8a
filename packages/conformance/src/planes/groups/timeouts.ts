import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual, show } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { expectBrokerError } from "../expect.js";
import { groupId, heartbeat, heartbeatFails, Member } from "./io.js";

const SESSION_TIMEOUT_MS = 1_500;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const sessionTimeout: ConformanceCase = {
  id: "groups/session-timeout",
  title: "The broker gives the heartbeat interval it is configured with, removes a member silent for the session timeout and a static member away that long, and frees their partitions",
  plane: "groups",
  clauses: ["PW-GROUP-004", "PW-GROUP-005", "PW-GROUP-007"],
  features: [Feature.GROUPS],
  needs: ["variants"],
  timeoutMs: 30_000,
  async run(ctx) {
    const variant = await ctx.variant({ memory: true, groups: { sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 300, reconcileHeartbeatIntervalMs: 100 } });
    await variant.createTopic("timed", 2);
    const group = groupId(ctx, "session");
    const silent = new Member(await ctx.connectTo(variant.url), group);
    await silent.join(["timed"]);
    checkEqual("PW-GROUP-004", silent.last?.heartbeatIntervalMs, 300, "heartbeat_interval_ms of a member with nothing to reconcile, from a broker set to 300 ms");
    const away = new Member(await ctx.connectTo(variant.url), group);
    await away.join(["timed"], { instanceId: "away-1" });
    await heartbeat(away.session, { groupId: group, memberId: away.memberId, memberEpoch: -2, instanceId: "away-1" });
    const live = new Member(await ctx.connectTo(variant.url), group);
    await live.join(["timed"]);
    // The live member heartbeats on time; the others stay silent past the session timeout.
    const until = Date.now() + SESSION_TIMEOUT_MS * 2.5;
    while (Date.now() < until) {
      await live.ack();
      await sleep(Math.min(250, live.last?.heartbeatIntervalMs ?? 250));
    }
    await live.ack();
    await live.ack();
    checkEqual("PW-GROUP-005", live.partitions().sort(), ["timed:0", "timed:1"], "the live member's assignment after the others were silent for over twice the session timeout");
    await heartbeatFails(silent.session, "PW-GROUP-005", { groupId: group, memberId: silent.memberId, memberEpoch: silent.epoch }, ErrorCode.UNKNOWN_MEMBER_ID, "a heartbeat of the member silent past its session timeout");
    const back = new Member(await ctx.connectTo(variant.url), group);
    await back.join(["timed"], { instanceId: "away-1" });
    check("PW-GROUP-007", back.memberId !== away.memberId, `a static member away past the session timeout came back as ${back.memberId}: it should have been removed for good`);
  },
};

const rebalanceTimeout: ConformanceCase = {
  id: "groups/rebalance-timeout",
  title: "A member that does not release partitions it was asked to revoke within its rebalance timeout is removed: its next heartbeat gets UNKNOWN_MEMBER_ID and the other member gets the partitions",
  plane: "groups",
  clauses: ["PW-GROUP-023", "PW-GROUP-022"],
  features: [Feature.GROUPS],
  timeoutMs: 30_000,
  async run(ctx) {
    const topic = await ctx.topic(2);
    const group = groupId(ctx, "rebalance");
    const slow = new Member(await ctx.connect(), group);
    await slow.join([topic], { rebalanceTimeoutMs: 800 });
    const other = new Member(await ctx.connect(), group);
    await other.join([topic]);
    // The slow member hears it must revoke one partition, and keeps heartbeating without releasing it.
    await slow.beat({ rebalanceTimeoutMs: 800 });
    check("PW-GROUP-023", slow.partitions().length === 1, `the first member was asked to keep ${show(slow.partitions())}`);
    const until = Date.now() + 2_500;
    let removed = false;
    while (Date.now() < until && !removed) {
      await sleep(200);
      try {
        await heartbeat(slow.session, { groupId: group, memberId: slow.memberId, memberEpoch: slow.epoch, owned: { partitions: [{ topic, partitions: [0, 1] }] } });
      } catch {
        removed = true;
      }
    }
    await heartbeatFails(slow.session, "PW-GROUP-023", { groupId: group, memberId: slow.memberId, memberEpoch: slow.epoch }, ErrorCode.UNKNOWN_MEMBER_ID, "a heartbeat of the member that held revoked partitions past its 800 ms rebalance timeout");
    await other.ack();
    await other.ack();
    checkEqual("PW-GROUP-023", other.partitions().sort(), [`${topic}:0`, `${topic}:1`], "the other member's assignment after the slow one was removed");
  },
};

const limits: ConformanceCase = {
  id: "groups/limits",
  title: "A join beyond the maximum group size, the maximum member count or the maximum group count fails with GROUP_MAX_SIZE_REACHED, as does a manual commit that would create a group beyond the bound",
  plane: "groups",
  clauses: ["PW-GROUP-012", "PW-GROUP-017"],
  features: [Feature.GROUPS],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ memory: true, groups: { maxGroupSize: 2, maxMembers: 3, maxGroups: 2 } });
    await variant.createTopic("bounded", 1);
    const session = await ctx.connectTo(variant.url);
    const join = (group: string) => ({ groupId: group, memberEpoch: 0, subscription: { topics: ["bounded"] } });
    await heartbeat(session, join("g1"));
    await heartbeat(session, join("g1"));
    await heartbeatFails(session, "PW-GROUP-012", join("g1"), ErrorCode.GROUP_MAX_SIZE_REACHED, "a third join of a group of maximum size 2");
    await heartbeat(session, join("g2"));
    await heartbeatFails(session, "PW-GROUP-017", join("g2"), ErrorCode.GROUP_MAX_SIZE_REACHED, "a fourth member on a broker of at most 3 members");
    await heartbeatFails(session, "PW-GROUP-017", join("g3"), ErrorCode.GROUP_MAX_SIZE_REACHED, "a join creating a third group on a broker of at most 2");
    await expectBrokerError("PW-GROUP-017", session.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: "g3", memberEpoch: -1, offsets: [{ topic: "bounded", partition: 0, offset: 1n }] }), ErrorCode.GROUP_MAX_SIZE_REACHED, "a manual commit creating a third group on a broker of at most 2");
  },
};

/** §8.1 and §8.2 clauses that need time to pass or a configured broker. */
export const timeoutCases: readonly ConformanceCase[] = [sessionTimeout, rebalanceTimeout, limits];
