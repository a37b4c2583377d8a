import { describe, expect, it } from "vitest";
import { MemoryOffsetLog, type OffsetLog, type OffsetLogEntry } from "../../src/groups/index.js";
import { MembershipRecord } from "../../src/groups-membership.js";

/** A log whose next `failures` appends fail, as a full disk would. */
class FailingLog implements OffsetLog {
  readonly entries: OffsetLogEntry[] = [];
  constructor(public failures: number) {}
  append(entry: OffsetLogEntry): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error("disk full"));
    }
    this.entries.push(entry);
    return Promise.resolve();
  }
}

describe("which groups have members, across restarts (PW-GROUP-028)", () => {
  it("PW-GROUP-028: one entry when a group gets members, one when it has none; replay gives the groups that had members; a deleted group had none", async () => {
    const log = new MemoryOffsetLog();
    const record = new MembershipRecord(log, []);
    await Promise.all([record.present("a"), record.present("a"), record.present("b"), record.present("c")]);
    await record.absent("b");
    await record.absent("never");
    expect(log.entries()).toEqual([
      { kind: "members", groupId: "a", present: true },
      { kind: "members", groupId: "b", present: true },
      { kind: "members", groupId: "c", present: true },
      { kind: "members", groupId: "b", present: false },
    ]);
    expect(record.marked().sort()).toEqual(["a", "c"]);
    // What compaction keeps says the same.
    expect(MembershipRecord.recovered(record.entries())).toEqual(new Set(["a", "c"]));
    expect(MembershipRecord.recovered([...log.entries(), { kind: "delete-group", groupId: "c" }])).toEqual(new Set(["a"]));
  });

  it("PW-GROUP-028: a failed write is reported and retried by the next heartbeat; nothing is recorded as present meanwhile", async () => {
    const log = new FailingLog(1);
    const record = new MembershipRecord(log, ["old"]);
    await expect(record.present("g")).rejects.toThrow("disk full");
    expect(record.marked()).toEqual(["old"]);
    await record.present("g");
    expect(log.entries).toEqual([{ kind: "members", groupId: "g", present: true }]);
    // A group recorded before the restart needs no new entry.
    await record.present("old");
    expect(log.entries).toHaveLength(1);
  });
});
