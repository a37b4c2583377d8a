import { rm } from "node:fs/promises";
import { join } from "node:path";
import { readProducerFields } from "./batch-layout.js";
import { segmentName, type DiskSegment } from "./disk-segment.js";
import type { FilePool } from "./file-pool.js";
import { walkBatches } from "./log-walk.js";
import { ProducerStateTable } from "./producer-state.js";

const REPLAY_CHUNK = 1 << 20;
/** Log bytes replayed in one read: below this, replaying is cheaper than reading a snapshot. */
export const CHEAP_REPLAY_BYTES = REPLAY_CHUNK;
/** Producer-state snapshots kept per partition. */
const SNAPSHOTS_KEPT = 2;

function snapshotPath(directory: string, offset: number): string {
  return join(directory, `${segmentName(offset)}.snapshot`);
}

/**
 * A disk partition's `<offset>.snapshot` files: its idempotent-producer
 * state as of an offset (every batch below it), written at each segment
 * roll and at close, so that recovery replays only the log after the
 * newest one (PW-IDEM-006). The newest {@link SNAPSHOTS_KEPT} are kept.
 */
export class ProducerSnapshots {
  readonly #directory: string;
  readonly #pool: FilePool;
  /** Offset of the newest snapshot on disk, -1 for none. */
  #at: number;
  /** Offsets of the snapshot files, descending. */
  #offsets: number[];

  constructor(directory: string, pool: FilePool, at = -1, offsets: number[] = []) {
    this.#directory = directory;
    this.#pool = pool;
    this.#at = at;
    this.#offsets = offsets;
  }

  /** Offset of the newest snapshot on disk, -1 for none. */
  get at(): number {
    return this.#at;
  }

  /**
   * Writes the state as of `offset` at a segment roll: atomically, which
   * also makes the new segment's directory entry durable.
   */
  async writeAtRoll(offset: number, state: Uint8Array): Promise<void> {
    await this.#pool.writeFileAtomic(snapshotPath(this.#directory, offset), state);
    this.#note(offset);
  }

  /**
   * Writes the state as of `offset` at close, neither fsynced nor renamed
   * into place: a snapshot only saves replaying the log, so one lost or
   * torn in a power loss (refused by its CRC) costs a longer replay, never
   * a wrong state.
   */
  async writeAtClose(offset: number, state: Uint8Array): Promise<void> {
    await this.#pool.writeFile(snapshotPath(this.#directory, offset), state);
    this.#note(offset);
    await this.prune();
  }

  /** Deletes all but the newest {@link SNAPSHOTS_KEPT}. */
  async prune(): Promise<void> {
    for (const offset of this.#offsets.splice(SNAPSHOTS_KEPT)) {
      await rm(snapshotPath(this.#directory, offset), { force: true });
    }
  }

  #note(offset: number): void {
    this.#at = offset;
    if (!this.#offsets.includes(offset)) this.#offsets = [offset, ...this.#offsets].sort((a, b) => b - a);
  }
}

/**
 * Rebuilds idempotent-producer state (PW-IDEM-006): the newest intact
 * snapshot at or below the high watermark, then every later batch's
 * producer fields replayed from the log. Snapshots past the high watermark
 * are deleted. Resolves with the state and the snapshots left.
 */
export async function recoverProducers(
  pool: FilePool,
  directory: string,
  window: number,
  segments: readonly DiskSegment[],
  snapshots: readonly number[],
): Promise<{ state: ProducerStateTable; snapshots: ProducerSnapshots }> {
  const logStart = (segments[0] as DiskSegment).baseOffset;
  const hw = (segments[segments.length - 1] as DiskSegment).endOffset;
  let table: ProducerStateTable | null = null;
  let snapshotAt = -1;
  let from = logStart;
  for (const offset of snapshots) {
    const path = snapshotPath(directory, offset);
    if (offset > hw || table !== null) {
      if (offset > hw) await rm(path, { force: true });
      continue;
    }
    table = ProducerStateTable.decode(await pool.readOptional(path), window);
    if (table !== null) {
      from = Math.max(offset, logStart);
      snapshotAt = offset;
    }
  }
  const state = table ?? new ProducerStateTable(window);
  for (const segment of segments) {
    if (segment.endOffset <= from) continue;
    let position = 0;
    if (segment.baseOffset < from) {
      await segment.loadIndexes();
      position = segment.index.lookup(from - segment.baseOffset);
    }
    await segment.useLog((handle) =>
      walkBatches(handle, position, segment.size, { wantBytes: false, chunkSize: REPLAY_CHUNK }, (batch, _p, view, at) => {
        if (batch.baseOffset >= from) {
          const fields = readProducerFields(view, at);
          if (fields.producerId >= 0n) state.record(fields.producerId, fields.producerEpoch, fields.baseSequence, batch.recordCount, batch.baseOffset);
        }
        return true;
      }),
    );
  }
  const kept = snapshots.filter((offset) => offset <= hw);
  return { state, snapshots: new ProducerSnapshots(directory, pool, snapshotAt, kept) };
}
