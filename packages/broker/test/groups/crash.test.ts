import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnBroker, tempDir, type BrokerProcess } from "../helpers.js";

const PARTITIONS = 4;

describe("committed offsets under SIGKILL (PW-GROUP-040)", () => {
  it("PW-GROUP-040 PW-GROUP-009 PW-GROUP-028: every acknowledged commit survives SIGKILL of the broker process; the old member is unknown after the restart, and its group's partitions wait out the grace", { timeout: 90_000 }, async () => {
    const dir = tempDir("groups-crash");
    const children: BrokerProcess[] = [];
    try {
      // fsync never for records: commits are made durable on their own, whatever the topic's policy.
      // A short heartbeat interval, so that the grace after the restart (PW-GROUP-028) is short too.
      const config = join(dir.path, "broker.json");
      writeFileSync(config, JSON.stringify({ groups: { heartbeatIntervalMs: 400, reconcileHeartbeatIntervalMs: 100 } }));
      const args = ["--config", config, "--listen", "tcp://127.0.0.1:0", "--data-dir", join(dir.path, "data"), "--topic", `t:${PARTITIONS}`, "--fsync", "never", "--http-port", "off"];
      const first = await spawnBroker(args);
      children.push(first);
      const conn = await Connection.connect(first.urls[0] as string, { features: [Feature.LOG, Feature.GROUPS] });
      const joined = (await conn.call(FrameKind.GROUP_HEARTBEAT_REQUEST, { groupId: "g", memberEpoch: 0, subscription: { topics: ["t"] } })).message;
      // A manual-assignment group beside the member's (PW-GROUP-042).
      await conn.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: "manual", memberEpoch: -1, offsets: [{ topic: "t", partition: 0, offset: 99n, metadata: "by hand" }] });

      // Pipelined commits of rising offsets while the process is killed; only acknowledged ones count.
      const acked = new Array<bigint>(PARTITIONS).fill(-1n);
      const sent = Array.from({ length: PARTITIONS }, () => new Set<bigint>());
      const killAt = 80;
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 400; i++) {
        const partition = i % PARTITIONS;
        const offset = BigInt(i);
        sent[partition]?.add(offset);
        writes.push(conn.call(FrameKind.OFFSET_COMMIT_REQUEST, { groupId: "g", memberId: joined.memberId, memberEpoch: joined.memberEpoch, offsets: [{ topic: "t", partition, offset, metadata: `m${i}` }] }).then(
          (r) => {
            expect(r.message.results[0]?.errorCode).toBe(ErrorCode.UNSPECIFIED);
            if (offset > (acked[partition] as bigint)) acked[partition] = offset;
          },
          () => undefined,
        ));
        if (i === killAt) {
          await writes[writes.length - 1];
          first.child.kill("SIGKILL");
        }
      }
      await Promise.all(writes);
      expect(await first.exited).toBe("SIGKILL");
      expect(acked.every((o) => o >= 0n)).toBe(true);

      const second = await spawnBroker(args);
      children.push(second);
      await using reader = await Connection.connect(second.urls[0] as string, { features: [Feature.LOG, Feature.GROUPS] });
      const fetched = (await reader.call(FrameKind.OFFSET_FETCH_REQUEST, { groupId: "g" })).message.offsets;
      expect(fetched.map((o) => o.partition)).toEqual([0, 1, 2, 3]);
      for (const o of fetched) {
        // At least the last acknowledged commit; a later one may have landed before the kill, but only one that was sent.
        expect(o.offset).toBeGreaterThanOrEqual(acked[o.partition] as bigint);
        expect(sent[o.partition]?.has(o.offset)).toBe(true);
        expect(o.metadata).toBe(`m${o.offset}`);
      }
      const manual = (await reader.call(FrameKind.OFFSET_FETCH_REQUEST, { groupId: "manual" })).message.offsets;
      expect(manual).toMatchObject([{ topic: "t", partition: 0, offset: 99n, metadata: "by hand" }]);
      // Membership is rebuilt from heartbeats: a new member of the group that had one gets nothing
      // during the grace (PW-GROUP-028), in which the member of the killed process, which heartbeats
      // every 400 ms, is told it is unknown and stops (PW-GROUP-009, PW-GROUP-011).
      const rejoined = (await reader.call(FrameKind.GROUP_HEARTBEAT_REQUEST, { groupId: "g", memberEpoch: 0, subscription: { topics: ["t"] } })).message;
      expect(rejoined.assignment?.partitions ?? []).toEqual([]);
      await expect(reader.call(FrameKind.GROUP_HEARTBEAT_REQUEST, { groupId: "g", memberId: joined.memberId, memberEpoch: joined.memberEpoch })).rejects.toMatchObject({ code: "UNKNOWN_MEMBER_ID" });
      let assigned: number[] = [];
      for (let i = 0; i < 100 && assigned.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const beat = (await reader.call(FrameKind.GROUP_HEARTBEAT_REQUEST, { groupId: "g", memberId: rejoined.memberId, memberEpoch: rejoined.memberEpoch, owned: { partitions: [] } })).message;
        assigned = beat.assignment?.partitions[0]?.partitions ?? assigned;
      }
      expect(assigned).toEqual([0, 1, 2, 3]);
    } finally {
      for (const child of children) {
        child.child.kill("SIGKILL");
        await child.exited;
      }
      dir.remove();
    }
  });
});
