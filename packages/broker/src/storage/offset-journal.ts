import type { OffsetLogEntry, StoredOffset } from "../groups/offset-book.js";
import { StorageError } from "./errors.js";
import type { Journal } from "./journal.js";
import type { GroupOffsetLog } from "./storage.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A journal record. The first two forms are those `group-offsets.log` has
 * always held, so data directories written before the groups plane open
 * unchanged; a topic's deletion (PW-GROUP-046) is the third, whether a
 * group has members (PW-GROUP-028) the fourth.
 */
type Row = [topic: string, partition: number, offset: string, metadata: string, time: number];
type Record_ = { g: string; c: Row[] } | { g: string; d: 1 } | { t: string; d: 1 } | { m: string; p: 0 | 1 };

/** Journals above this size are compacted once they have doubled since the last compaction. */
const COMPACT_MIN_BYTES = 1 << 20;

function encode(entry: OffsetLogEntry): Uint8Array {
  let record: Record_;
  switch (entry.kind) {
    case "commit":
      record = { g: entry.groupId, c: entry.offsets.map((o) => [o.topic, o.partition, o.offset.toString(), o.metadata, o.commitTimeMs]) };
      break;
    case "delete-group":
      record = { g: entry.groupId, d: 1 };
      break;
    case "delete-topic":
      record = { t: entry.topic, d: 1 };
      break;
    case "members":
      record = { m: entry.groupId, p: entry.present ? 1 : 0 };
      break;
  }
  return encoder.encode(JSON.stringify(record));
}

function damaged(why: string, cause?: unknown): StorageError {
  return new StorageError("STORAGE", `group offset journal: ${why}`, cause === undefined ? undefined : { cause });
}

function isRow(row: unknown): row is Row {
  return Array.isArray(row) && row.length === 5 && typeof row[0] === "string" && Number.isSafeInteger(row[1]) && (row[1] as number) >= 0
    && typeof row[2] === "string" && /^(0|[1-9][0-9]*)$/.test(row[2]) && typeof row[3] === "string" && Number.isSafeInteger(row[4]);
}

/** Decodes one record; a record of another shape is damage the storage refuses to guess about. */
function decode(payload: Uint8Array): OffsetLogEntry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(payload));
  } catch (cause) {
    throw damaged("a record is not JSON", cause);
  }
  const r = parsed as Partial<{ g: unknown; t: unknown; c: unknown; d: unknown; m: unknown; p: unknown }>;
  if (typeof r !== "object" || r === null) throw damaged("a record is not an object");
  if (typeof r.g === "string" && r.d === 1) return { kind: "delete-group", groupId: r.g };
  if (typeof r.t === "string" && r.d === 1) return { kind: "delete-topic", topic: r.t };
  if (typeof r.m === "string" && (r.p === 0 || r.p === 1)) return { kind: "members", groupId: r.m, present: r.p === 1 };
  if (typeof r.g === "string" && Array.isArray(r.c) && r.c.every(isRow)) {
    const offsets: StoredOffset[] = (r.c as Row[]).map(([topic, partition, offset, metadata, commitTimeMs]) => ({ topic, partition, offset: BigInt(offset), metadata, commitTimeMs }));
    return { kind: "commit", groupId: r.g, offsets };
  }
  throw damaged("a record has an unknown shape");
}

/**
 * The disk engine's {@link GroupOffsetLog}: every change to committed
 * offsets appended to `group-offsets.log` and fsynced before it is
 * acknowledged (PW-GROUP-040). The groups plane's OffsetBook holds the
 * offsets themselves; this file only keeps the changes to replay them, and
 * is rewritten from the book's snapshot when it has doubled since it was
 * last rewritten.
 */
export class JournalOffsetLog implements GroupOffsetLog {
  readonly #journal: Journal;
  readonly #recovered: readonly OffsetLogEntry[];
  #snapshot: (() => readonly OffsetLogEntry[]) | null = null;
  #compacted: number;
  #compacting: Promise<void> | null = null;
  #broken: unknown = null;

  /** Decodes `records` (the journal's valid prefix); throws STORAGE on a record it cannot read. */
  constructor(journal: Journal, records: readonly Uint8Array[]) {
    this.#journal = journal;
    this.#recovered = records.map(decode);
    this.#compacted = journal.size;
  }

  recovered(): readonly OffsetLogEntry[] {
    return this.#recovered;
  }

  compactWith(snapshot: () => readonly OffsetLogEntry[]): void {
    this.#snapshot = snapshot;
  }

  async append(entry: OffsetLogEntry): Promise<void> {
    if (this.#broken !== null) throw damaged("compaction failed; commits are refused until restart", this.#broken);
    try {
      await this.#journal.append(encode(entry));
    } catch (cause) {
      throw new StorageError("STORAGE", "cannot write the group offset journal", { cause });
    }
    const size = this.#journal.size;
    const snapshot = this.#snapshot;
    if (snapshot !== null && this.#compacting === null && size > COMPACT_MIN_BYTES && size > 2 * this.#compacted) {
      // The snapshot is taken after every earlier append is written, so it reflects them (Journal.compact).
      this.#compacting = this.#journal.compact(() => snapshot().map(encode)).then(
        () => {
          this.#compacted = this.#journal.size;
          this.#compacting = null;
        },
        (cause: unknown) => {
          this.#broken = cause;
          this.#compacting = null;
        },
      );
    }
  }

  /** Resolves when a compaction under way is done. */
  async settle(): Promise<void> {
    await this.#compacting;
  }
}

/** Memory storage's {@link GroupOffsetLog}: the groups plane's book is the only copy; nothing outlives the process. */
export class MemoryGroupOffsetLog implements GroupOffsetLog {
  recovered(): readonly OffsetLogEntry[] {
    return [];
  }

  compactWith(): void {}

  append(): Promise<void> {
    return Promise.resolve();
  }
}
