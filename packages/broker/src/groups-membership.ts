import type { OffsetLog, OffsetLogEntry } from "./groups/index.js";

/**
 * Which groups have members, recorded durably in the offset log, so that a
 * restarted broker, which rebuilds membership from heartbeats, knows whose
 * partitions members from before the restart may still own and holds them
 * back for a while (PW-GROUP-028). One entry when a group gets its first
 * member, one when it has none any more.
 */
export class MembershipRecord {
  readonly #log: OffsetLog;
  readonly #marked: Set<string>;
  // Groups whose "present" entry is being written, with its write.
  readonly #writing = new Map<string, Promise<void>>();

  /** The groups that had members when the broker stopped, from the log's entries before the restart. */
  static recovered(entries: Iterable<OffsetLogEntry>): Set<string> {
    const had = new Set<string>();
    for (const e of entries) {
      if (e.kind === "members") {
        if (e.present) had.add(e.groupId);
        else had.delete(e.groupId);
      } else if (e.kind === "delete-group") had.delete(e.groupId);
    }
    return had;
  }

  /** `marked`: groups recorded as having members already (those from before a restart). */
  constructor(log: OffsetLog, marked: Iterable<string>) {
    this.#log = log;
    this.#marked = new Set(marked);
  }

  /**
   * Records that the group has members. Resolves once the record is durable,
   * at once when it was recorded before; a failed write is retried by the
   * next call.
   */
  present(groupId: string): Promise<void> {
    const writing = this.#writing.get(groupId);
    if (writing !== undefined) return writing;
    if (this.#marked.has(groupId)) return Promise.resolve();
    this.#marked.add(groupId);
    const write = this.#log.append({ kind: "members", groupId, present: true }).then(
      () => {
        this.#writing.delete(groupId);
      },
      (cause: unknown) => {
        this.#writing.delete(groupId);
        this.#marked.delete(groupId);
        throw cause;
      },
    );
    this.#writing.set(groupId, write);
    return write;
  }

  /** Records that the group has no members any more; nothing when it was not recorded as having some. */
  absent(groupId: string): Promise<void> {
    if (!this.#marked.has(groupId) || this.#writing.has(groupId)) return Promise.resolve();
    this.#marked.delete(groupId);
    return this.#log.append({ kind: "members", groupId, present: false });
  }

  /** Groups recorded as having members. */
  marked(): string[] {
    return [...this.#marked];
  }

  /** What a compacted log keeps of this record: one entry per group with members. */
  entries(): OffsetLogEntry[] {
    return [...this.#marked].map((groupId) => ({ kind: "members", groupId, present: true }));
  }
}
