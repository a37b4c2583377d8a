import type { FileHandle } from "node:fs/promises";
import { BATCH_HEADER_SIZE, BATCH_LENGTH_PREFIX, batchSizeAt } from "@polywire/wasm-codec";
import type { DiskSegment } from "./disk-segment.js";
import { StorageError } from "./errors.js";
import { walkBatches } from "./log-walk.js";
import type { StoredBatches } from "./partition-engine.js";
import { segmentIndexFor, type SegmentList } from "./segment-list.js";
import type { TimestampOffset } from "./storage.js";
import { firstRecordAtOrAfter } from "./timestamp-search.js";

/**
 * The disk engine's reads: stored bytes straight from the segment files,
 * found through the sparse indexes and a short walk. A read marks each
 * segment it uses, so that retention or close waits for it before the file
 * goes.
 */

/** Chunk size of log walks finding a batch near an index entry. */
const LOCATE_CHUNK = 64 << 10;

/**
 * Whole batches from the one holding `offset` (in [log start, high
 * watermark)) on, never past the high watermark as of the call: the
 * segment list and the active segment's size are taken before anything is
 * awaited (PW-LOG-011, PW-LOG-012, PW-LOG-013).
 */
export async function readBatches(segments: SegmentList, offset: number, maxBytes: number): Promise<StoredBatches> {
  const all = segments.all;
  const active = segments.active;
  const activeEnd = active.size;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let i = segmentIndexFor(all, offset); i < all.length; i++) {
    const segment = all[i] as DiskSegment;
    const end = segment === active ? activeEnd : segment.size;
    const first = chunks.length === 0;
    const budget = maxBytes - size;
    if (!first && budget < BATCH_HEADER_SIZE) break;
    if (segment.retiring) {
      if (first) throw new StorageError("OFFSET_OUT_OF_RANGE", `offset ${offset} was removed by retention while being read`);
      break;
    }
    segment.beginRead();
    let chunk: Uint8Array;
    let start = 0;
    try {
      if (first) start = await locate(segment, offset, end);
      chunk = await segment.useLog((handle) => readWholeBatches(handle, segment.logPath, start, end, budget, first));
    } finally {
      await segment.endRead();
    }
    if (chunk.byteLength > 0) {
      chunks.push(chunk);
      size += chunk.byteLength;
    }
    if (start + chunk.byteLength < end) break;
  }
  return { chunks, size };
}

/** File position of the batch containing `offset`: the sparse index, then a short walk. */
async function locate(segment: DiskSegment, offset: number, end: number): Promise<number> {
  await segment.loadIndexes();
  const from = segment.index.lookup(offset - segment.baseOffset);
  let found = -1;
  await segment.useLog((handle) =>
    walkBatches(handle, from, end, { wantBytes: false, chunkSize: LOCATE_CHUNK }, (batch, position) => {
      if (batch.baseOffset + batch.recordCount > offset) {
        found = position;
        return false;
      }
      return true;
    }),
  );
  if (found < 0) throw new StorageError("STORAGE", `offset ${offset} not found in segment ${segment.logPath}`);
  return found;
}

/**
 * The first record stamped at or after `timestampMs` (PW-LOG-021): the
 * first segment whose max timestamp reaches it, its time index to skip the
 * batches below it, then a walk to the first batch that reaches it.
 */
export async function findTimestamp(segments: SegmentList, timestampMs: number): Promise<TimestampOffset | null> {
  for (const segment of segments.all) {
    segment.beginRead();
    try {
      await segment.loadIndexes();
      if (segment.maxTimestamp < timestampMs) continue;
      const after = segment.times.lastBelow(timestampMs);
      const from = after < 0 ? 0 : segment.index.lookup(after);
      let found: Uint8Array | null = null;
      await segment.useLog((handle) =>
        walkBatches(handle, from, segment.size, { wantBytes: true, chunkSize: LOCATE_CHUNK }, (batch, _p, _v, _a, whole) => {
          if (batch.maxTimestamp < timestampMs) return true;
          found = (whole as Uint8Array).slice();
          return false;
        }),
      );
      if (found !== null) return firstRecordAtOrAfter(found, timestampMs);
    } finally {
      await segment.endRead();
    }
  }
  return null;
}

/**
 * Reads whole batches from `start` (a batch boundary) up to `end`: at most
 * `budget` bytes, except that with `atLeastOne` the first batch is returned
 * whole even when larger (PW-LOG-013).
 */
async function readWholeBatches(handle: FileHandle, path: string, start: number, end: number, budget: number, atLeastOne: boolean): Promise<Uint8Array> {
  const available = end - start;
  const want = Math.min(available, Math.max(budget, atLeastOne ? BATCH_HEADER_SIZE : 0));
  if (want <= 0) return new Uint8Array(0);
  const buffer = Buffer.allocUnsafe(want);
  const { bytesRead } = await handle.read(buffer, 0, want, start);
  const view = new DataView(buffer.buffer, buffer.byteOffset, bytesRead);
  let cut = 0;
  while (cut + BATCH_LENGTH_PREFIX <= bytesRead) {
    const size = batchSizeAt(view, cut);
    if (cut + size > bytesRead) break;
    cut += size;
  }
  if (cut === 0 && atLeastOne && bytesRead >= BATCH_LENGTH_PREFIX) {
    const size = batchSizeAt(view, 0);
    // The length comes from the file: a damaged one must not size a buffer past what the segment holds.
    if (size > available) throw new StorageError("STORAGE", `a batch at ${start} in ${path} claims ${size} bytes, the segment holds ${available} from there`);
    const whole = Buffer.allocUnsafe(size);
    const { bytesRead: got } = await handle.read(whole, 0, size, start);
    if (got !== size) throw new StorageError("STORAGE", `short read of ${got} of ${size} bytes in ${path}`);
    return whole;
  }
  return buffer.subarray(0, cut);
}
