import { rm, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { BATCH_CRC_START, crc32c } from "@polywire/wasm-codec";
import type { DiskSegment } from "./disk-segment.js";
import type { FilePool } from "./file-pool.js";
import { walkBatches } from "./log-walk.js";
import { OffsetIndex, TimeIndex } from "./segment-index.js";

const RECOVERY_CHUNK = 1 << 20;
const PROBE_CHUNK = 64 << 10;

/** What recovery did to the active segment. */
export interface RecoveryReport {
  /** Bytes cut from the end of the log (a torn or corrupt tail). */
  readonly truncatedBytes: number;
  /** Position recovery started validating from. */
  readonly validatedFrom: number;
  /** When the log file was created (0 where the file system does not say), for `segment.ms`. */
  readonly birthtimeMs: number;
}

/** True when a whole, CRC-valid batch with base offset `expected` starts at `position`. */
async function validBatchAt(handle: FileHandle, position: number, expected: number, fileSize: number): Promise<boolean> {
  let valid = false;
  await walkBatches(handle, position, fileSize, { wantBytes: true, chunkSize: PROBE_CHUNK }, (batch, _p, _v, _a, whole) => {
    valid = batch.baseOffset === expected && whole !== null && crc32c(whole.subarray(BATCH_CRC_START)) === batch.crc;
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
 * kept. Index files are then brought up to date: rewritten when recovery
 * dropped or rebuilt entries, else only the entries the walk added are
 * appended (none after a clean shutdown), so a clean start writes nothing.
 */
export async function recoverActiveSegment(segment: DiskSegment, pool: FilePool, clean: boolean, files: PartitionFiles): Promise<RecoveryReport> {
  // Read before the log is opened: the log's descriptor is held through the
  // walk, and a holder never asks the pool for a second one. Index files
  // the directory listing did not show are not looked for.
  const read = (path: string): Promise<Uint8Array> => (files.indexes.has(basename(path)) ? pool.readOptional(path) : Promise.resolve(new Uint8Array(0)));
  const offsetBytes = await read(segment.indexPath);
  const timeBytes = await read(segment.timeIndexPath);
  const recovered = await segment.useLog((handle) => recoverLog(segment, handle, offsetBytes, timeBytes, clean));
  if (recovered.rewrite) await segment.rewriteIndexes();
  else await segment.flushActiveIndexes(segment.index.length, segment.times.length);
  return recovered.report;
}

async function recoverLog(
  segment: DiskSegment,
  handle: FileHandle,
  offsetBytes: Uint8Array,
  timeBytes: Uint8Array,
  clean: boolean,
): Promise<{ report: RecoveryReport; rewrite: boolean }> {
  const info = await handle.stat();
  const fileSize = info.size;
  const decodedOffsets = OffsetIndex.decode(offsetBytes, fileSize);
  const decodedTimes = TimeIndex.decode(timeBytes, Number.MAX_SAFE_INTEGER);
  const offsets = decodedOffsets.index;
  const times = decodedTimes.index;
  const onDisk = { offsets: offsets.length, times: times.length };
  if (!clean) {
    while (offsets.length > 0) {
      const last = offsets.length - 1;
      if (await validBatchAt(handle, offsets.positionAt(last), segment.baseOffset + offsets.relativeAt(last), fileSize)) break;
      offsets.length = last;
    }
  }
  // Files whose entries were all kept, with nothing after them, only need the walk's new entries appended.
  let rewrite = !decodedOffsets.intact || !decodedTimes.intact || offsets.length < onDisk.offsets;

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
  segment.resetIndexes(offsets, times, start, onDisk);
  segment.size = start;
  segment.endOffset = expected;

  let timeEntryConfirmed = lastTimeRelative < 0;
  const result = await walkBatches(handle, start, fileSize, { wantBytes: !clean, chunkSize: RECOVERY_CHUNK }, (batch, position, _v, _a, whole) => {
    if (batch.baseOffset !== expected || batch.recordCount < 1) return false;
    if (whole !== null && crc32c(whole.subarray(BATCH_CRC_START)) !== batch.crc) return false;
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
    rewrite = true;
  }
  if (end < fileSize) {
    await handle.truncate(end);
    rewrite = true;
  }
  // The walk's index entries may only reach the files once the data they point at is durable.
  if (!clean || end < fileSize) await handle.datasync();
  return { report: { truncatedBytes: fileSize - end, validatedFrom: start, birthtimeMs: info.birthtimeMs }, rewrite };
}

const FILE_NAME = /^(\d{20})\.(log|index|timeindex|snapshot)$/;

/** A partition directory's segment and snapshot files, by base offset. */
export interface PartitionFiles {
  /** Base offsets of `.log` files, ascending. */
  readonly logs: number[];
  /** Offsets of `.snapshot` files, descending. */
  readonly snapshots: number[];
  /** Names of the index files of those logs. */
  readonly indexes: ReadonlySet<string>;
}

/**
 * Lists a partition directory (none yet: an empty partition) and removes
 * what an interrupted write left: `.tmp` files, and index files whose log
 * is gone.
 */
export async function scanPartition(pool: FilePool, directory: string): Promise<PartitionFiles> {
  let names: string[];
  try {
    names = await pool.readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { logs: [], snapshots: [], indexes: new Set() };
    throw error;
  }
  const logs: number[] = [];
  const snapshots: number[] = [];
  const others = new Map<number, string[]>();
  for (const name of names) {
    if (name.endsWith(".tmp")) {
      await rm(join(directory, name), { force: true });
      continue;
    }
    const match = FILE_NAME.exec(name);
    if (match === null) continue;
    const base = Number(match[1]);
    if (match[2] === "log") logs.push(base);
    else if (match[2] === "snapshot") snapshots.push(base);
    else others.set(base, [...(others.get(base) ?? []), name]);
  }
  logs.sort((a, b) => a - b);
  const indexes = new Set<string>();
  for (const [base, names] of others) {
    for (const name of names) {
      if (logs.includes(base)) indexes.add(name);
      else await rm(join(directory, name), { force: true });
    }
  }
  return { logs, snapshots: snapshots.sort((a, b) => b - a), indexes };
}
