import { readFile } from "node:fs/promises";
import { crc32c } from "@polywire/wasm-codec";
import { CRC_START } from "./batch-layout.js";
import type { DiskSegment } from "./disk-segment.js";
import { walkBatches } from "./log-walk.js";
import { OffsetIndex, TimeIndex } from "./segment-index.js";

const RECOVERY_CHUNK = 1 << 20;
const PROBE_CHUNK = 64 << 10;

async function readOptional(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Uint8Array(0);
    throw error;
  }
}

/** What recovery did to the active segment. */
export interface RecoveryReport {
  /** Bytes cut from the end of the log (a torn or corrupt tail). */
  readonly truncatedBytes: number;
  /** Position recovery started validating from. */
  readonly validatedFrom: number;
}

/** True when a whole, CRC-valid batch with base offset `expected` starts at `position`. */
async function validBatchAt(segment: DiskSegment, position: number, expected: number, fileSize: number): Promise<boolean> {
  let valid = false;
  await walkBatches(await segment.file(), position, fileSize, { wantBytes: true, chunkSize: PROBE_CHUNK }, (batch, _p, _v, _a, whole) => {
    valid = batch.baseOffset === expected && whole !== null && crc32c(whole.subarray(CRC_START)) === batch.crc;
    return false;
  });
  return valid;
}

/**
 * Recovers the active (last) segment of a partition on open. Index entries
 * reach the index files only after the data they point at was fsynced, so
 * the last entry that still points at a valid batch is a safe place to
 * resume; from there every batch is checked for structure, offset
 * continuity and (after an unclean shutdown) CRC, and the log is cut at the
 * first one that fails: a torn or corrupt tail is dropped, the valid prefix
 * kept. Indexes are then rebuilt for the walked part and rewritten.
 */
export async function recoverActiveSegment(segment: DiskSegment, clean: boolean): Promise<RecoveryReport> {
  const handle = await segment.file();
  const fileSize = (await handle.stat()).size;
  const offsets = OffsetIndex.decode(await readOptional(segment.indexPath), fileSize).index;
  const times = TimeIndex.decode(await readOptional(segment.timeIndexPath), Number.MAX_SAFE_INTEGER).index;
  if (!clean) {
    while (offsets.length > 0) {
      const last = offsets.length - 1;
      if (await validBatchAt(segment, offsets.positionAt(last), segment.baseOffset + offsets.relativeAt(last), fileSize)) break;
      offsets.length = last;
    }
  }

  // Resume where the time index's last entry can be checked: every batch
  // before its batch is covered by its running max.
  let start = 0;
  let expected = segment.baseOffset;
  const lastTimeRelative = times.length > 0 ? times.relativeAt(times.length - 1) : -1;
  if (lastTimeRelative >= 0) {
    for (let i = offsets.length - 1; i >= 0; i--) {
      if (offsets.relativeAt(i) <= lastTimeRelative) {
        start = offsets.positionAt(i);
        expected = segment.baseOffset + offsets.relativeAt(i);
        break;
      }
    }
  }
  segment.resetIndexes(offsets, times, start);
  segment.size = start;
  segment.endOffset = expected;

  let timeEntryConfirmed = lastTimeRelative < 0;
  const result = await walkBatches(handle, start, fileSize, { wantBytes: !clean, chunkSize: RECOVERY_CHUNK }, (batch, position, _v, _a, whole) => {
    if (batch.baseOffset !== expected || batch.recordCount < 1) return false;
    if (whole !== null && crc32c(whole.subarray(CRC_START)) !== batch.crc) return false;
    if (batch.baseOffset - segment.baseOffset === lastTimeRelative) {
      timeEntryConfirmed = batch.maxTimestamp === times.timestampAt(times.length - 1);
    }
    segment.noteBatch(position, batch.baseOffset, batch.size, batch.recordCount, batch.maxTimestamp);
    expected = batch.baseOffset + batch.recordCount;
    return true;
  });

  let end = result.end;
  const lastOffsetPosition = offsets.length > 0 ? offsets.positionAt(offsets.length - 1) : 0;
  if (!timeEntryConfirmed || (offsets.length > 0 && end <= lastOffsetPosition)) {
    // The walk could not confirm what the indexes claim (damage before the
    // resume point, or a stale time entry): rebuild both from the start.
    segment.resetIndexes(new OffsetIndex(), new TimeIndex(), 0);
    segment.size = 0;
    segment.endOffset = segment.baseOffset;
    let next = segment.baseOffset;
    const rebuilt = await walkBatches(handle, 0, end, { wantBytes: false, chunkSize: RECOVERY_CHUNK }, (batch, position) => {
      if (batch.baseOffset !== next) return false;
      segment.noteBatch(position, batch.baseOffset, batch.size, batch.recordCount, batch.maxTimestamp);
      next = batch.baseOffset + batch.recordCount;
      return true;
    });
    end = rebuilt.end;
  }
  if (end < fileSize) await handle.truncate(end);
  if (!clean || end < fileSize) await handle.datasync();
  await segment.rewriteIndexes();
  return { truncatedBytes: fileSize - end, validatedFrom: start };
}
