import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { Broker } from "../../src/index.js";
import { ADMIN_VARIANTS, adminClients } from "../admin-clients.js";
import { GroupWire, ok } from "./wire.js";

/** The value of one series in a Prometheus text exposition, or undefined when absent. */
function sample(body: string, series: string): number | undefined {
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("consumer-group metrics (PW-ADMIN-042, PW-ADMIN-045)", () => {
  it("PW-ADMIN-042 PW-ADMIN-045 PW-GROUP-003: /metrics shows groups by state, members, the group epoch, commits and lag, and forgets a deleted group", async () => {
    await init();
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, topics: [{ name: "m", partitions: 2 }] });
    const scrape = async (): Promise<string> => (await fetch(`${broker.httpUrl}/metrics`)).text();
    await using conn = await Connection.connect(broker.urls[0] as string);
    await conn.call(FrameKind.PRODUCE_REQUEST, { topic: "m", partition: 0, acks: Acks.ALL }, encodeBatch(Array.from({ length: 12 }, () => ({ value: new Uint8Array(1) }))));

    const { wire: a } = await GroupWire.connect(broker.urls[0] as string);
    const { wire: b } = await GroupWire.connect(broker.urls[0] as string);
    try {
      const ja = ok(await a.heartbeat({ groupId: "watched", memberEpoch: 0, subscription: { topics: ["m"] } }));
      let body = await scrape();
      expect(sample(body, 'polywire_groups{state="GROUP_STATE_STABLE"}')).toBe(1);
      expect(sample(body, 'polywire_group_members{group="watched"}')).toBe(1);
      expect(sample(body, 'polywire_group_epoch{group="watched"}')).toBe(ja.memberEpoch);
      // A second member is a rebalance: the epoch rises and the group reconciles until A releases.
      const jb = ok(await b.heartbeat({ groupId: "watched", memberEpoch: 0, subscription: { topics: ["m"] } }));
      body = await scrape();
      expect(sample(body, 'polywire_group_members{group="watched"}')).toBe(2);
      expect(sample(body, 'polywire_group_epoch{group="watched"}')).toBeGreaterThan(ja.memberEpoch);
      expect(sample(body, 'polywire_groups{state="GROUP_STATE_RECONCILING"}')).toBe(1);
      expect(sample(body, 'polywire_groups{state="GROUP_STATE_STABLE"}')).toBe(0);

      const before = sample(body, "polywire_offset_commits_total") ?? 0;
      ok(await a.commit({ groupId: "watched", memberId: ja.memberId, memberEpoch: ja.memberEpoch, offsets: [{ topic: "m", partition: 0, offset: 5n }, { topic: "m", partition: 1, offset: 0n }, { topic: "m", partition: 7, offset: 0n }] }));
      body = await scrape();
      expect(sample(body, "polywire_offset_commits_total")).toBe(before + 2);
      expect(sample(body, 'polywire_group_lag{group="watched",partition="0",topic="m"}')).toBe(7);
      expect(sample(body, 'polywire_group_lag{group="watched",partition="1",topic="m"}')).toBe(0);

      // Both leave, and the empty group is deleted: its series go with it.
      ok(await a.heartbeat({ groupId: "watched", memberId: ja.memberId, memberEpoch: -1 }));
      ok(await b.heartbeat({ groupId: "watched", memberId: jb.memberId, memberEpoch: -1 }));
      body = await scrape();
      expect(sample(body, 'polywire_group_members{group="watched"}')).toBe(0);
      expect(sample(body, 'polywire_groups{state="GROUP_STATE_EMPTY"}')).toBe(1);
      const admin = adminClients(broker.httpUrl as string, ADMIN_VARIANTS[0] as (typeof ADMIN_VARIANTS)[number]);
      try {
        await admin.groups.deleteGroup({ groupId: "watched" });
      } finally {
        admin.close();
      }
      body = await scrape();
      expect(body).not.toContain('group="watched"');
      expect(sample(body, 'polywire_groups{state="GROUP_STATE_EMPTY"}')).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  });
});
