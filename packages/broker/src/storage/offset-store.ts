import { StorageError } from "./errors.js";
import type { CommittedOffset, OffsetCommit, OffsetStore, TopicPartition } from "./storage.js";
import type { Journal } from "./journal.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A journal record: a group's commits, or the group's deletion. */
type Entry = { g: string; c: [topic: string, partition: number, offset: string, metadata: string, time: number][] } | { g: string; d: 1 };

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

/** Journals above this size are compacted once they are mostly superseded records. */
const COMPACT_MIN_BYTES = 1 << 20;

/**
 * Committed group offsets in memory, optionally journaled to a
 * {@link Journal} for durability. Commits update memory at once and
 * resolve once journaled; opening replays the journal.
 */
export class GroupOffsetStore implements OffsetStore {
  readonly #table = new Map<string, Map<string, CommittedOffset>>();
  #liveEntries = 0;
  #compacting: Promise<void> | null = null;
  #broken: unknown = null;
  readonly #journal: Journal | null;

  private constructor(journal: Journal | null) {
    this.#journal = journal;
  }

  /** An offset store without a journal (memory storage). */
  static inMemory(): GroupOffsetStore {
    return new GroupOffsetStore(null);
  }

  /** An offset store that replays `records` and journals to `journal`. */
  static journaled(journal: Journal, records: readonly Uint8Array[]): GroupOffsetStore {
    const store = new GroupOffsetStore(journal);
    for (const record of records) {
      let entry: Entry;
      try {
        entry = JSON.parse(decoder.decode(record)) as Entry;
      } catch (cause) {
        throw new StorageError("STORAGE", "group offset journal holds a record that is not JSON", { cause });
      }
      store.#apply(entry);
    }
    return store;
  }

  commit(groupId: string, offsets: readonly OffsetCommit[]): Promise<void> {
    const now = Date.now();
    const entry: Entry = { g: groupId, c: [] };
    for (const o of offsets) {
      if (!Number.isInteger(o.partition) || o.partition < 0 || o.offset < -1n || o.offset > BigInt(Number.MAX_SAFE_INTEGER)) {
        return Promise.reject(new StorageError("INVALID_ARGUMENT", `invalid offset commit ${o.topic}/${o.partition} at ${o.offset}`));
      }
      entry.c.push([o.topic, o.partition, o.offset.toString(), o.metadata ?? "", now]);
    }
    this.#apply(entry);
    return this.#write(entry);
  }

  fetch(groupId: string, partitions?: readonly TopicPartition[]): CommittedOffset[] {
    const group = this.#table.get(groupId);
    if (group === undefined) return [];
    if (partitions === undefined) {
      return [...group.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    }
    const out: CommittedOffset[] = [];
    for (const p of partitions) {
      const found = group.get(key(p.topic, p.partition));
      if (found !== undefined) out.push(found);
    }
    return out;
  }

  groups(): string[] {
    return [...this.#table.keys()].sort();
  }

  deleteGroup(groupId: string): Promise<void> {
    const entry: Entry = { g: groupId, d: 1 };
    this.#apply(entry);
    return this.#write(entry);
  }

  /** Resolves when every started commit and compaction is done. */
  async settle(): Promise<void> {
    await this.#compacting;
  }

  #apply(entry: Entry): void {
    if ("d" in entry) {
      this.#liveEntries -= this.#table.get(entry.g)?.size ?? 0;
      this.#table.delete(entry.g);
      return;
    }
    let group = this.#table.get(entry.g);
    if (group === undefined) {
      group = new Map();
      this.#table.set(entry.g, group);
    }
    for (const [topic, partition, offset, metadata, commitTimeMs] of entry.c) {
      const k = key(topic, partition);
      if (!group.has(k)) this.#liveEntries++;
      group.set(k, { topic, partition, offset: BigInt(offset), metadata, commitTimeMs });
    }
  }

  async #write(entry: Entry): Promise<void> {
    const journal = this.#journal;
    if (journal === null) return;
    if (this.#broken !== null) throw new StorageError("STORAGE", "group offset journal failed to compact", { cause: this.#broken });
    try {
      await journal.append(encoder.encode(JSON.stringify(entry)));
    } catch (cause) {
      throw new StorageError("STORAGE", "cannot write the group offset journal", { cause });
    }
    if (this.#compacting === null && journal.size > COMPACT_MIN_BYTES && journal.size > this.#liveEntries * 256) {
      this.#compacting = journal.compact(() => this.#snapshot()).then(
        () => {
          this.#compacting = null;
        },
        (cause: unknown) => {
          this.#broken = cause;
          this.#compacting = null;
        },
      );
    }
  }

  /** One record per group holding its current offsets. */
  #snapshot(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [g, group] of this.#table) {
      const entry: Entry = { g, c: [...group.values()].map((o) => [o.topic, o.partition, o.offset.toString(), o.metadata, o.commitTimeMs]) };
      out.push(encoder.encode(JSON.stringify(entry)));
    }
    return out;
  }
}
