import { compareBytes } from "./partition-set.js";

/** One committed position as stored (PW-GROUP-040, PW-GROUP-045). */
export interface StoredOffset {
  readonly topic: string;
  readonly partition: number;
  /** The offset of the next record the group will consume. */
  readonly offset: bigint;
  readonly metadata: string;
  /** Broker time of the commit, Unix milliseconds. */
  readonly commitTimeMs: number;
}

/**
 * A change to committed offsets, in the order it happened. Replaying every
 * entry in order rebuilds the offsets exactly.
 */
export type OffsetLogEntry =
  | { readonly kind: "commit"; readonly groupId: string; readonly offsets: readonly StoredOffset[] }
  /** A deleted group, or one whose offsets expired (PW-ADMIN-035, PW-GROUP-046). */
  | { readonly kind: "delete-group"; readonly groupId: string }
  /** A deleted topic: every group's offsets of it go (PW-GROUP-046). */
  | { readonly kind: "delete-topic"; readonly topic: string }
  /**
   * The group has members (`present`) or has none any more: what the groups
   * plane records so that after a restart it knows which groups' partitions
   * members from before may still own (PW-GROUP-028). The book ignores it.
   */
  | { readonly kind: "members"; readonly groupId: string; readonly present: boolean };

/**
 * Durable persistence of committed offsets, implemented by the storage
 * engine (the disk engine over its journal; memory storage keeps nothing).
 * `append` resolves once the entry would be replayed after a crash; entries
 * are replayed in the order they were appended.
 */
export interface OffsetLog {
  append(entry: OffsetLogEntry): Promise<void>;
}

/** An offset log that keeps entries in memory: memory storage, and replay in tests. */
export class MemoryOffsetLog implements OffsetLog {
  readonly #entries: OffsetLogEntry[] = [];

  append(entry: OffsetLogEntry): Promise<void> {
    this.#entries.push(entry);
    return Promise.resolve();
  }

  entries(): readonly OffsetLogEntry[] {
    return this.#entries;
  }
}

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

/**
 * Every group's committed offsets, in memory, made durable through an
 * {@link OffsetLog}. A change is applied in memory only once its entry is
 * durable, so nothing a reader sees can vanish in a crash; changes apply in
 * the order they were written even when the log acknowledges them in
 * another order, so the last commit of a partition wins.
 */
export class OffsetBook {
  readonly #log: OffsetLog;
  readonly #table = new Map<string, Map<string, StoredOffset>>();
  // Entries handed to the log and not yet applied (or failed), in write order.
  readonly #pending: OffsetLogEntry[] = [];
  #applied: Promise<void> = Promise.resolve();

  /** Rebuilds the offsets from `replay` (the log's entries in order) and writes new changes to `log`. */
  constructor(log: OffsetLog, replay: Iterable<OffsetLogEntry> = []) {
    this.#log = log;
    for (const entry of replay) this.#apply(entry);
  }

  /** Appends `entry`; resolves once it is durable and applied, rejects with the log's error (nothing applied). */
  write(entry: OffsetLogEntry): Promise<void> {
    this.#pending.push(entry);
    const durable = this.#log.append(entry);
    // Its failure is reported through `applied`; this only keeps a rejection
    // that comes before the chain reaches it from counting as unhandled.
    durable.catch(() => undefined);
    const applied = this.#applied.then(() => durable).then(() => this.#apply(entry));
    // A failed write must not stop later ones from applying; either way it is no longer pending.
    this.#applied = applied.then(
      () => { this.#pending.shift(); },
      () => { this.#pending.shift(); },
    );
    return applied;
  }

  get(groupId: string, topic: string, partition: number): StoredOffset | undefined {
    return this.#table.get(groupId)?.get(key(topic, partition));
  }

  /** The group's offsets ordered by topic as bytes, then partition (PW-GROUP-044). */
  all(groupId: string): StoredOffset[] {
    const group = this.#table.get(groupId);
    if (group === undefined) return [];
    return [...group.values()].sort((a, b) => compareBytes(a.topic, b.topic) || a.partition - b.partition);
  }

  has(groupId: string): boolean {
    return this.#table.has(groupId);
  }

  /** Ids of groups with at least one committed offset. */
  groups(): IterableIterator<string> {
    return this.#table.keys();
  }

  /** The time of the group's latest commit, or null without commits. */
  lastCommitMs(groupId: string): number | null {
    const group = this.#table.get(groupId);
    if (group === undefined) return null;
    let latest: number | null = null;
    for (const o of group.values()) if (latest === null || o.commitTimeMs > latest) latest = o.commitTimeMs;
    return latest;
  }

  /**
   * What a compacted log keeps: one commit entry per group holding its
   * applied offsets, then the entries written but not yet applied, in
   * order. A log may be compacted while writes are in flight (written to
   * the file, not yet acknowledged), so those must stay in it; replaying one
   * already reflected above changes nothing, as later entries follow it.
   */
  snapshot(): OffsetLogEntry[] {
    const applied: OffsetLogEntry[] = [...this.#table].map(([groupId, group]) => ({ kind: "commit", groupId, offsets: [...group.values()] }));
    return [...applied, ...this.#pending];
  }

  #apply(entry: OffsetLogEntry): void {
    switch (entry.kind) {
      case "commit": {
        if (entry.offsets.length === 0) break;
        let group = this.#table.get(entry.groupId);
        if (group === undefined) {
          group = new Map();
          this.#table.set(entry.groupId, group);
        }
        for (const o of entry.offsets) group.set(key(o.topic, o.partition), o);
        break;
      }
      case "delete-group":
        this.#table.delete(entry.groupId);
        break;
      case "delete-topic":
        for (const [groupId, group] of this.#table) {
          for (const [k, o] of group) if (o.topic === entry.topic) group.delete(k);
          if (group.size === 0) this.#table.delete(groupId);
        }
        break;
      case "members":
        break;
    }
  }
}
