import { pairs, type CommitValue, type HistoryEvent, type PollValue, type SendValue } from "./history.js";

/**
 * The anomalies the checker looks for, after Jepsen's Kafka checker:
 * - `lost-write`: an acknowledged value missing from the final read;
 * - `duplicate`: one value at several offsets;
 * - `inconsistent-offset`: one offset read with different values, or a value found somewhere other than where its ack said;
 * - `phantom`: a value read that no one sent, or whose send definitely failed;
 * - `non-monotonic-send`: one process's sequential sends to a partition acknowledged at decreasing offsets;
 * - `non-monotonic-poll`: one process's polls of a partition going back;
 * - `skipped-offset`: one process's polls of a partition jumping over an offset;
 * - `commit-backwards`: a group's committed offset read lower than one acknowledged before.
 */
export type AnomalyType = "lost-write" | "duplicate" | "inconsistent-offset" | "phantom" | "non-monotonic-send" | "non-monotonic-poll" | "skipped-offset" | "commit-backwards";

/** The clause each anomaly shows broken. */
export const ANOMALY_CLAUSES: Readonly<Record<AnomalyType, string>> = {
  "lost-write": "PW-LOG-031",
  duplicate: "PW-IDEM-003",
  "inconsistent-offset": "PW-LOG-031",
  phantom: "PW-LOG-001",
  "non-monotonic-send": "PW-LOG-002",
  "non-monotonic-poll": "PW-LOG-011",
  "skipped-offset": "PW-LOG-030",
  "commit-backwards": "PW-GROUP-040",
};

/** One anomaly found. */
export interface Anomaly {
  readonly type: AnomalyType;
  readonly clause: string;
  readonly message: string;
}

/** What the target's declarations allow (derived from the features it grants and the workload it ran). */
export interface CheckOptions {
  /** Duplicates are expected (plain producers retrying after a lost connection: at-least-once). */
  readonly duplicatesAllowed: boolean;
}

/** Counts of a checked history, for the report. */
export interface HistoryStats {
  readonly sends: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly polls: number;
  readonly acknowledgedValues: number;
  readonly finalValues: number;
}

/** Checks a log-plane history; returns every anomaly found (not only the first) and counts. */
export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions): { anomalies: Anomaly[]; stats: HistoryStats } {
  const anomalies: Anomaly[] = [];
  const add = (type: AnomalyType, message: string): void => {
    if (anomalies.filter((a) => a.type === type).length < 10) anomalies.push({ type, clause: ANOMALY_CLAUSES[type], message });
  };
  const ops = pairs(events);
  const sends = ops.filter((o) => o.invoke.f === "send");
  const polls = ops.filter((o) => o.invoke.f === "poll" && o.complete?.type === "ok");
  const sendOf = new Map<string, { status: string; partition: number; offset: bigint | undefined; process: number }>();
  for (const { invoke, complete } of sends) {
    const v = invoke.value as SendValue;
    const status = complete?.type ?? "info";
    const base = (complete?.value as SendValue | undefined)?.offset;
    v.values.forEach((value, i) => sendOf.set(value, { status, partition: v.partition, offset: status === "ok" && base !== undefined ? base + BigInt(i) : undefined, process: invoke.process }));
  }

  // Every observation of (partition, offset) → value.
  const atOffset = new Map<string, string>();
  const offsetsOfValue = new Map<string, Set<string>>();
  const finalValues = new Set<string>();
  for (const { complete } of polls) {
    const value = complete?.value as PollValue;
    for (const [partition, offset, v] of value.records ?? []) {
      const key = `${partition}/${offset}`;
      const seen = atOffset.get(key);
      if (seen !== undefined && seen !== v) add("inconsistent-offset", `offset ${key} was read as ${seen} and as ${v}`);
      atOffset.set(key, v);
      const set = offsetsOfValue.get(v) ?? new Set<string>();
      set.add(key);
      offsetsOfValue.set(v, set);
      if (value.final === true) finalValues.add(v);
      const sent = sendOf.get(v);
      if (sent === undefined) add("phantom", `${v} was read at ${key} but never sent`);
      else if (sent.status === "fail") add("phantom", `${v} was read at ${key} but its send definitely failed`);
    }
  }
  for (const [value, where] of offsetsOfValue) {
    if (where.size > 1 && !options.duplicatesAllowed) add("duplicate", `${value} is stored at ${[...where].join(", ")}`);
  }
  for (const [value, sent] of sendOf) {
    if (sent.status !== "ok" || sent.offset === undefined) continue;
    const key = `${sent.partition}/${sent.offset}`;
    const there = atOffset.get(key);
    if (!finalValues.has(value)) add("lost-write", `${value} was acknowledged at ${key} but is not in the final read${there === undefined ? "" : ` (${key} holds ${there})`}`);
    else if (there !== value) add("inconsistent-offset", `${value} was acknowledged at ${key}, which holds ${there ?? "nothing"}`);
  }

  // Per process and partition: sequential sends at increasing offsets.
  const lastSend = new Map<string, bigint>();
  for (const { invoke, complete } of sends) {
    if (complete?.type !== "ok") continue;
    const v = invoke.value as SendValue;
    const base = (complete.value as SendValue).offset as bigint;
    const key = `${invoke.process}/${v.partition}`;
    const last = lastSend.get(key);
    if (last !== undefined && base <= last) add("non-monotonic-send", `process ${invoke.process} sent to partition ${v.partition} at ${last}, then at ${base}`);
    lastSend.set(key, base + BigInt(v.values.length) - 1n);
  }

  // Per process and partition: polls move forward without skipping.
  const position = new Map<string, bigint>();
  for (const { invoke, complete } of polls) {
    const asked = invoke.value as PollValue;
    if ((complete?.value as PollValue).final === true) continue;
    const byPartition = new Map<number, bigint[]>();
    for (const [partition, offset] of (complete?.value as PollValue).records ?? []) {
      const from = asked.from.get(partition) ?? 0n;
      if (offset < from) continue;
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), offset]);
    }
    for (const [partition, offsets] of byPartition) {
      const key = `${invoke.process}/${partition}`;
      let last = position.get(key);
      for (const offset of offsets) {
        if (last !== undefined && offset <= last) add("non-monotonic-poll", `process ${invoke.process} read partition ${partition} at ${last}, then at ${offset}`);
        else if (last !== undefined && offset > last + 1n) add("skipped-offset", `process ${invoke.process} read partition ${partition} at ${last}, then at ${offset}, skipping ${offset - last - 1n}`);
        last = offset;
      }
      if (last !== undefined) position.set(key, last);
    }
  }

  // Consumer groups: a committed offset read never goes below one acknowledged before the read began.
  const acknowledged: Array<{ value: CommitValue; at: number }> = [];
  for (const { invoke, complete } of ops) {
    if (invoke.f === "commit" && complete?.type === "ok") acknowledged.push({ value: invoke.value as CommitValue, at: complete.index });
  }
  for (const { invoke, complete } of ops) {
    if (invoke.f !== "committed" || complete?.type !== "ok") continue;
    const read = complete.value as CommitValue;
    const floor = acknowledged.filter((a) => a.at < invoke.index && a.value.group === read.group && a.value.partition === read.partition).reduce((m, a) => (a.value.offset > m ? a.value.offset : m), -1n);
    if (read.offset < floor) add("commit-backwards", `group ${read.group} partition ${read.partition}: committed offset read as ${read.offset} after ${floor} was acknowledged`);
  }

  const count = (t: string): number => sends.filter((s) => (s.complete?.type ?? "info") === t).length;
  return {
    anomalies,
    stats: {
      sends: { ok: count("ok"), fail: count("fail"), info: count("info") },
      polls: polls.length,
      acknowledgedValues: [...sendOf.values()].filter((s) => s.status === "ok").length,
      finalValues: finalValues.size,
    },
  };
}
