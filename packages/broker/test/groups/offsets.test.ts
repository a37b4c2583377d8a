import { create } from "@bufbuild/protobuf";
import { OffsetCommitRequestSchema, OffsetFetchRequestSchema } from "@polywire/proto/groups";
import { ErrorCode } from "@polywire/proto/session";
import { describe, expect, test } from "vitest";
import { MemoryOffsetLog, type OffsetLog, type OffsetLogEntry } from "../../src/groups/index.js";
import { Client, failed, ok, request, setup, wire } from "./harness.js";

type Offset = [topic: string, partition: number, offset: bigint, metadata?: string];

function commit(groupId: string, memberId: string, memberEpoch: number, offsets: Offset[]) {
  return create(OffsetCommitRequestSchema, { groupId, memberId, memberEpoch, offsets: offsets.map(([topic, partition, offset, metadata]) => ({ topic, partition, offset, metadata: metadata ?? "" })) });
}

function fetch(groupId: string, tps: string[] = []) {
  return create(OffsetFetchRequestSchema, { groupId, partitions: wire(tps) });
}

/** [topic, partition, offset, metadata, error, time] rows of a fetch, for toEqual. */
function rows(setupResult: ReturnType<typeof setup>, groupId: string, tps: string[] = []) {
  return ok(setupResult.coordinator.fetch(fetch(groupId, tps))).offsets.map((o) => [o.topic, o.partition, o.offset, o.metadata, o.errorCode, o.commitTimeMs]);
}

/** An offset log whose appends are acknowledged (or failed) when the test says. */
class GatedLog implements OffsetLog {
  readonly pending: { entry: OffsetLogEntry; resolve: () => void; reject: (e: Error) => void }[] = [];

  append(entry: OffsetLogEntry): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ entry, resolve, reject }));
  }
}

describe("committed offsets (§8.4)", () => {
  test("PW-GROUP-040, PW-GROUP-045: a commit is stored with its metadata and the broker time, and replaying the log after a restart gives it back", async () => {
    const s = setup({ t: 2 });
    ok(await s.coordinator.commit(commit("g", "", -1, [["t", 0, 42n, "m"]]), 1_700_000_000_123));
    expect(rows(s, "g", ["t/0"])).toEqual([["t", 0, 42n, "m", ErrorCode.UNSPECIFIED, 1_700_000_000_123n]]);
    const restarted = setup({ t: 2 }, {}, { replay: s.log.entries(), nowMs: 5 });
    expect(rows(restarted, "g", ["t/0"])).toEqual([["t", 0, 42n, "m", ErrorCode.UNSPECIFIED, 1_700_000_000_123n]]);
    expect(restarted.coordinator.list().map((g) => g.groupId)).toEqual(["g"]);
  });

  test("PW-GROUP-040: a commit is answered, and visible, only once its log entry is durable; a failed write stores nothing and fails with STORAGE", async () => {
    const log = new GatedLog();
    const s = setup({ t: 2 }, {}, { log });
    const first = s.coordinator.commit(commit("g", "", -1, [["t", 0, 1n]]), 1);
    await Promise.resolve();
    expect(rows(s, "g", ["t/0"])[0]?.[2]).toBe(-1n);
    log.pending[0]?.resolve();
    ok(await first);
    expect(rows(s, "g", ["t/0"])[0]?.[2]).toBe(1n);
    const second = s.coordinator.commit(commit("g", "", -1, [["t", 0, 2n]]), 2);
    log.pending[1]?.reject(new Error("disk full"));
    failed(await second, "STORAGE");
    expect(rows(s, "g", ["t/0"])[0]?.[2]).toBe(1n);
  });

  test("PW-GROUP-040: commits apply in the order they were made even when the log acknowledges them out of order", async () => {
    const log = new GatedLog();
    const s = setup({ t: 1 }, {}, { log });
    const older = s.coordinator.commit(commit("g", "", -1, [["t", 0, 10n]]), 1);
    const newer = s.coordinator.commit(commit("g", "", -1, [["t", 0, 20n]]), 2);
    log.pending[1]?.resolve();
    log.pending[0]?.resolve();
    ok(await older);
    ok(await newer);
    expect(rows(s, "g", ["t/0"])[0]?.[2]).toBe(20n);
  });

  test("PW-GROUP-041: a member commits with its current epoch; unknown member, lower and higher epochs fail the whole request", async () => {
    const s = setup({ t: 2 });
    const a = new Client(s.coordinator, { subscription: ["t"] });
    a.join(0);
    s.topics.set("t", 3);
    a.beat(1); // epoch 2
    expect(a.epoch).toBe(2);
    ok(await s.coordinator.commit(commit("g", a.memberId, 2, [["t", 0, 5n]]), 2));
    failed(await s.coordinator.commit(commit("g", "nobody", 2, [["t", 0, 6n]]), 3), "UNKNOWN_MEMBER_ID");
    failed(await s.coordinator.commit(commit("g", a.memberId, 1, [["t", 0, 6n]]), 3), "STALE_MEMBER_EPOCH");
    failed(await s.coordinator.commit(commit("g", a.memberId, 3, [["t", 0, 6n]]), 3), "FENCED_MEMBER_EPOCH");
    expect(rows(s, "g", ["t/0"])[0]?.[2]).toBe(5n);
  });

  test("PW-GROUP-020, PW-GROUP-041: a member asked to revoke commits them at its unchanged epoch before reporting; a removed member's commit fails", async () => {
    const s = setup({ t: 2 }, { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    const a = new Client(s.coordinator, { subscription: ["t"] });
    a.join(0);
    new Client(s.coordinator, { subscription: ["t"] }).join(1);
    const epoch = a.epoch;
    a.beat(2); // told to revoke t/1
    ok(await s.coordinator.commit(commit("g", a.memberId, epoch, [["t", 1, 7n]]), 3));
    s.coordinator.tick(20_000);
    failed(await s.coordinator.commit(commit("g", a.memberId, epoch, [["t", 1, 8n]]), 20_001), "UNKNOWN_MEMBER_ID");
    expect(rows(s, "g", ["t/1"])[0]?.[2]).toBe(7n);
  });

  test("PW-GROUP-007, PW-GROUP-041: a static member reserved with -2 cannot commit (its old process is gone); its new incarnation can", async () => {
    const s = setup({ t: 1 });
    const a = new Client(s.coordinator, { subscription: ["t"], instanceId: "i" });
    a.join(0);
    a.leave(1, -2);
    failed(await s.coordinator.commit(commit("g", a.memberId, a.epoch, [["t", 0, 1n]]), 2), "FENCED_MEMBER_EPOCH");
    const next = new Client(s.coordinator, { subscription: ["t"], instanceId: "i" });
    next.join(3);
    ok(await s.coordinator.commit(commit("g", next.memberId, next.epoch, [["t", 0, 1n]]), 4));
  });

  test("PW-GROUP-042, PW-GROUP-047: a manual-assignment commit (empty member_id, epoch -1) is accepted only while the group has no members, and creates the group", async () => {
    const s = setup({ t: 1 });
    ok(await s.coordinator.commit(commit("manual", "", -1, [["t", 0, 3n]]), 1));
    expect(s.coordinator.list().map((g) => g.groupId)).toEqual(["manual"]);
    new Client(s.coordinator, { groupId: "manual", subscription: ["t"] }).join(2);
    failed(await s.coordinator.commit(commit("manual", "", -1, [["t", 0, 4n]]), 3), "UNKNOWN_MEMBER_ID");
    failed(await s.coordinator.commit(commit("other", "", 0, [["t", 0, 4n]]), 3), "INVALID_ARGUMENT");
    failed(await s.coordinator.commit(commit("", "", -1, [["t", 0, 4n]]), 3), "INVALID_ARGUMENT");
    expect(rows(s, "manual", ["t/0"])[0]?.[2]).toBe(3n);
  });

  test("PW-GROUP-043: each offset is validated and stored on its own, one result per offset in request order", async () => {
    const s = setup({ t: 2 });
    const response = ok(
      await s.coordinator.commit(
        commit("g", "", -1, [
          ["t", 1, 9n],
          ["missing", 0, 1n],
          ["t", 2, 1n],
          ["bad name", 0, 1n],
          ["t", 0, -1n],
          ["t", 0, 1n, "é".repeat(2049)], // 4,098 bytes
          ["t", 0, 1_000_000n, "é".repeat(2048)], // exactly 4,096 bytes; above any high watermark
        ]),
        1,
      ),
    );
    expect(response.results.map((r) => [r.topic, r.partition, r.errorCode])).toEqual([
      ["t", 1, ErrorCode.UNSPECIFIED],
      ["missing", 0, ErrorCode.UNKNOWN_TOPIC],
      ["t", 2, ErrorCode.UNKNOWN_PARTITION],
      ["bad name", 0, ErrorCode.INVALID_TOPIC],
      ["t", 0, ErrorCode.INVALID_COMMIT_OFFSET],
      ["t", 0, ErrorCode.INVALID_COMMIT_OFFSET],
      ["t", 0, ErrorCode.UNSPECIFIED],
    ]);
    expect(rows(s, "g", ["t/0", "t/1"]).map((r) => r[2])).toEqual([1_000_000n, 9n]);
  });

  test("PW-GROUP-044, PW-GROUP-047: one answer per requested partition in request order, or every committed one ordered; -1 where nothing is committed", async () => {
    const s = setup({ b: 2, a: 1, B: 1 });
    ok(await s.coordinator.commit(commit("g", "", -1, [["b", 1, 4n], ["a", 0, 2n], ["B", 0, 1n], ["b", 0, 3n]]), 7));
    const none = [-1n, "", ErrorCode.UNSPECIFIED, -1n];
    // Requested as b: [1, 0], missing: [0], a: [0, 3].
    expect(rows(s, "g", ["b/1", "b/0", "missing/0", "a/0", "a/3"]).map((r) => [r[0], r[1], r[2], r[4]])).toEqual([
      ["b", 1, 4n, ErrorCode.UNSPECIFIED],
      ["b", 0, 3n, ErrorCode.UNSPECIFIED],
      ["missing", 0, -1n, ErrorCode.UNKNOWN_TOPIC],
      ["a", 0, 2n, ErrorCode.UNSPECIFIED],
      ["a", 3, -1n, ErrorCode.UNKNOWN_PARTITION],
    ]);
    expect(rows(s, "g").map((r) => `${r[0]}/${r[1]}`)).toEqual(["B/0", "a/0", "b/0", "b/1"]);
    expect(rows(s, "nobody", ["a/0"])).toEqual([["a", 0, ...none]]);
    expect(rows(s, "nobody")).toEqual([]);
    failed(s.coordinator.fetch(fetch("g", ["a/0", "a/0"])), "INVALID_ARGUMENT");
    failed(s.coordinator.fetch(fetch("")), "INVALID_ARGUMENT");
    expect(ok(s.coordinator.fetch(fetch("g"))).errorCode).toBe(ErrorCode.UNSPECIFIED);
  });

  test("PW-GROUP-046: deleting a topic deletes its committed offsets in every group, durably", async () => {
    const s = setup({ t: 1, u: 1 });
    ok(await s.coordinator.commit(commit("g1", "", -1, [["t", 0, 1n], ["u", 0, 1n]]), 1));
    ok(await s.coordinator.commit(commit("g2", "", -1, [["t", 0, 2n]]), 1));
    s.topics.delete("t");
    await s.coordinator.topicDeleted("t", 2);
    s.topics.set("t", 1);
    expect(rows(s, "g1").map((r) => r[0])).toEqual(["u"]);
    expect(rows(s, "g2")).toEqual([]);
    const restarted = setup({ t: 1, u: 1 }, {}, { replay: s.log.entries() });
    expect(rows(restarted, "g1", ["t/0"])[0]?.[2]).toBe(-1n);
    // g2 has neither members nor offsets left: it is gone.
    s.coordinator.tick(3);
    expect(s.coordinator.list().map((g) => g.groupId)).toEqual(["g1"]);
  });

  test("PW-GROUP-046: offsets of a group empty for longer than the retention expire, counted from its last commit or from when it emptied", async () => {
    const day = 86_400_000;
    const s = setup({ t: 1 }, { offsetRetentionMs: day, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, reconcileHeartbeatIntervalMs: 100 });
    ok(await s.coordinator.commit(commit("idle", "", -1, [["t", 0, 1n]]), 0));
    const a = new Client(s.coordinator, { groupId: "busy", subscription: ["t"] });
    a.join(0);
    ok(await s.coordinator.commit(commit("busy", a.memberId, a.epoch, [["t", 0, 1n]]), 0));
    a.beat(5_000);
    a.leave(5_001);
    await s.coordinator.expireOffsets(day);
    expect(rows(s, "idle")).toHaveLength(1);
    await s.coordinator.expireOffsets(day + 1);
    expect(rows(s, "idle")).toEqual([]);
    expect(rows(s, "busy")).toHaveLength(1);
    await s.coordinator.expireOffsets(5_001 + day);
    expect(rows(s, "busy")).toHaveLength(1);
    await s.coordinator.expireOffsets(5_001 + day + 1);
    expect(rows(s, "busy")).toEqual([]);
    expect(s.coordinator.list()).toEqual([]);
    // After a restart the clock starts again: replayed groups count as empty from then.
    const t0 = setup({ t: 1 }, { offsetRetentionMs: day }, { replay: [{ kind: "commit", groupId: "old", offsets: [{ topic: "t", partition: 0, offset: 1n, metadata: "", commitTimeMs: 0 }] }], nowMs: 10 * day });
    await t0.coordinator.expireOffsets(10 * day + 1);
    expect(rows(t0, "old")).toHaveLength(1);
  });

  test("the offset log's compacted snapshot replays to the same offsets", async () => {
    const s = setup({ t: 3, u: 1 });
    ok(await s.coordinator.commit(commit("g", "", -1, [["t", 0, 1n], ["t", 1, 2n]]), 1));
    ok(await s.coordinator.commit(commit("g", "", -1, [["t", 0, 5n], ["u", 0, 1n]]), 2));
    ok(await s.coordinator.commit(commit("h", "", -1, [["t", 2, 9n]]), 3));
    s.topics.delete("u");
    await s.coordinator.topicDeleted("u", 4);
    const fromSnapshot = setup({ t: 3 }, {}, { replay: s.coordinator.offsetSnapshot() });
    for (const g of ["g", "h"]) expect(rows(fromSnapshot, g)).toEqual(rows(s, g));
  });

  test("PW-ADMIN-035, PW-GROUP-025, PW-GROUP-027: deleting a group needs it empty and known; while DEAD, joins and commits fail with UNKNOWN_GROUP; a failed write leaves it as it was", async () => {
    const log = new GatedLog();
    const s = setup({ t: 1 }, {}, { log });
    failed(await s.coordinator.deleteGroup("g"), "UNKNOWN_GROUP");
    const a = new Client(s.coordinator, { subscription: ["t"] });
    a.join(0);
    failed(await s.coordinator.deleteGroup("g"), "GROUP_NOT_EMPTY");
    a.leave(1);
    const done = s.coordinator.commit(commit("g", "", -1, [["t", 0, 1n]]), 2);
    log.pending[0]?.resolve();
    ok(await done);
    const failing = s.coordinator.deleteGroup("g");
    failed(s.coordinator.heartbeat(request({ subscription: ["t"] }), 3), "UNKNOWN_GROUP");
    failed(await s.coordinator.commit(commit("g", "", -1, [["t", 0, 2n]]), 3), "UNKNOWN_GROUP");
    log.pending[1]?.reject(new Error("disk gone"));
    failed(await failing, "STORAGE");
    expect(rows(s, "g", ["t/0"])[0]?.[2]).toBe(1n);
    const deleting = s.coordinator.deleteGroup("g");
    log.pending[2]?.resolve();
    ok(await deleting);
    expect(rows(s, "g")).toEqual([]);
    expect(s.coordinator.describe("g")).toBeUndefined();
    // The id is free again: a join creates the group anew.
    new Client(s.coordinator, { subscription: ["t"] }).join(4);
    expect(s.coordinator.describe("g")?.groupEpoch).toBe(1);
  });
});

test("MemoryOffsetLog keeps every entry in order", async () => {
  const log = new MemoryOffsetLog();
  await log.append({ kind: "delete-topic", topic: "a" });
  await log.append({ kind: "delete-group", groupId: "g" });
  expect(log.entries().map((e) => e.kind)).toEqual(["delete-topic", "delete-group"]);
});
