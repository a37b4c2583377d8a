import { describe, expect, it } from "vitest";
import { checkHistory } from "../src/history/checker.js";
import { HistoryRecorder, type SendValue } from "../src/history/history.js";

/** A small history builder: sends and polls by process. */
function scenario(): {
  h: HistoryRecorder;
  send(process: number, partition: number, values: string[], outcome: "ok" | "fail" | "info", offset?: bigint): void;
  poll(process: number, from: Array<[number, bigint]>, records: Array<[number, bigint, string]>): void;
  final(records: Array<[number, bigint, string]>): void;
} {
  const h = new HistoryRecorder();
  return {
    h,
    send(process, partition, values, outcome, offset) {
      const inv = h.invoke(process, "send", { partition, values });
      h.complete(inv, outcome, outcome === "ok" ? ({ partition, values, offset: offset as bigint } satisfies SendValue) : inv.value);
    },
    poll(process, from, records) {
      const inv = h.invoke(process, "poll", { from: new Map(from) });
      h.complete(inv, "ok", { from: new Map(from), records });
    },
    final(records) {
      const inv = h.invoke(99, "poll", { from: new Map(), final: true });
      h.complete(inv, "ok", { from: new Map(), records, final: true });
    },
  };
}

describe("history checker", () => {
  it("PW-LOG-031: a clean history has no anomaly", () => {
    const s = scenario();
    s.send(0, 0, ["a", "b"], "ok", 0n);
    s.send(1, 0, ["c"], "ok", 2n);
    s.send(1, 0, ["lost-maybe"], "info");
    s.poll(2, [[0, 0n]], [[0, 0n, "a"], [0, 1n, "b"]]);
    s.poll(2, [[0, 2n]], [[0, 2n, "c"]]);
    s.final([[0, 0n, "a"], [0, 1n, "b"], [0, 2n, "c"]]);
    expect(checkHistory(s.h.events, { duplicatesAllowed: false }).anomalies).toEqual([]);
  });

  it("PW-LOG-031: an acknowledged value missing from the final read is a lost write", () => {
    const s = scenario();
    s.send(0, 0, ["a"], "ok", 0n);
    s.send(0, 0, ["b"], "ok", 1n);
    s.final([[0, 0n, "a"]]);
    const { anomalies } = checkHistory(s.h.events, { duplicatesAllowed: false });
    expect(anomalies.map((a) => [a.type, a.clause])).toContainEqual(["lost-write", "PW-LOG-031"]);
  });

  it("PW-IDEM-003: a value at two offsets is a duplicate unless duplicates are allowed", () => {
    const s = scenario();
    s.send(0, 1, ["a"], "ok", 0n);
    s.final([[1, 0n, "a"], [1, 1n, "a"]]);
    expect(checkHistory(s.h.events, { duplicatesAllowed: false }).anomalies.map((a) => a.type)).toEqual(["duplicate"]);
    expect(checkHistory(s.h.events, { duplicatesAllowed: true }).anomalies).toEqual([]);
  });

  it("PW-LOG-031: one offset read with two values, or a value away from its ack, is inconsistent", () => {
    const s = scenario();
    s.send(0, 0, ["a"], "ok", 0n);
    s.send(0, 0, ["b"], "ok", 0n);
    s.poll(1, [[0, 0n]], [[0, 0n, "a"]]);
    s.final([[0, 0n, "b"], [0, 1n, "a"]]);
    const types = checkHistory(s.h.events, { duplicatesAllowed: false }).anomalies.map((a) => a.type);
    expect(types).toContain("inconsistent-offset");
  });

  it("PW-LOG-001: a value read but never sent, or whose send definitely failed, is a phantom", () => {
    const s = scenario();
    s.send(0, 0, ["refused"], "fail");
    s.final([[0, 0n, "refused"], [0, 1n, "stranger"]]);
    const anomalies = checkHistory(s.h.events, { duplicatesAllowed: false }).anomalies;
    expect(anomalies.filter((a) => a.type === "phantom")).toHaveLength(2);
  });

  it("PW-LOG-002: sequential sends of one process acknowledged at decreasing offsets are non-monotonic", () => {
    const s = scenario();
    s.send(0, 0, ["a"], "ok", 5n);
    s.send(0, 0, ["b"], "ok", 3n);
    s.final([[0, 3n, "b"], [0, 5n, "a"]]);
    expect(checkHistory(s.h.events, { duplicatesAllowed: false }).anomalies.map((a) => a.type)).toContain("non-monotonic-send");
  });

  it("PW-LOG-011/PW-LOG-030: polls going back are non-monotonic, polls jumping ahead skip offsets; records below the requested offset are ignored", () => {
    const s = scenario();
    s.send(0, 0, ["a", "b", "c", "d"], "ok", 0n);
    s.poll(1, [[0, 0n]], [[0, 0n, "a"], [0, 1n, "b"]]);
    s.poll(1, [[0, 2n]], [[0, 0n, "a"], [0, 1n, "b"], [0, 3n, "d"]]);
    s.poll(2, [[0, 1n]], [[0, 1n, "b"]]);
    s.poll(2, [[0, 2n]], [[0, 1n, "b"]]);
    s.final([[0, 0n, "a"], [0, 1n, "b"], [0, 2n, "c"], [0, 3n, "d"]]);
    const types = checkHistory(s.h.events, { duplicatesAllowed: false }).anomalies.map((a) => a.type);
    expect(types).toContain("skipped-offset");
    expect(types).not.toContain("non-monotonic-poll");
  });

  it("PW-LOG-011: a poll returning an offset at or below one already read by the process is non-monotonic", () => {
    const s = scenario();
    s.send(0, 0, ["a", "b"], "ok", 0n);
    s.poll(1, [[0, 0n]], [[0, 0n, "a"], [0, 1n, "b"]]);
    s.poll(1, [[0, 1n]], [[0, 1n, "b"]]);
    s.final([[0, 0n, "a"], [0, 1n, "b"]]);
    expect(checkHistory(s.h.events, { duplicatesAllowed: false }).anomalies.map((a) => a.type)).toEqual(["non-monotonic-poll"]);
  });

  it("PW-GROUP-040: a committed offset read below one acknowledged before the read began goes backwards", () => {
    const h = new HistoryRecorder();
    const commit = h.invoke(0, "commit", { group: "g", partition: 0, offset: 10n });
    h.complete(commit, "ok");
    const read = h.invoke(1, "committed", { group: "g", partition: 0, offset: -1n });
    h.complete(read, "ok", { group: "g", partition: 0, offset: 7n });
    const concurrent = h.invoke(2, "committed", { group: "g", partition: 0, offset: -1n });
    const late = h.invoke(0, "commit", { group: "g", partition: 0, offset: 20n });
    h.complete(late, "ok");
    h.complete(concurrent, "ok", { group: "g", partition: 0, offset: 10n });
    const { anomalies } = checkHistory(h.events, { duplicatesAllowed: false });
    expect(anomalies.map((a) => [a.type, a.clause])).toEqual([["commit-backwards", "PW-GROUP-040"]]);
  });

  it("PW-LOG-008: sends are counted as acknowledged, failed, or indeterminate (timeouts, lost connections)", () => {
    const s = scenario();
    s.send(0, 0, ["a"], "ok", 0n);
    s.send(1, 0, ["b"], "fail");
    s.send(2, 0, ["c"], "info");
    s.final([[0, 0n, "a"]]);
    expect(checkHistory(s.h.events, { duplicatesAllowed: false }).stats.sends).toEqual({ ok: 1, fail: 1, info: 1 });
  });
});
