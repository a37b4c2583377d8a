import type { TopicSettings } from "./config.js";
import type { StorageError } from "./errors.js";
import type { PartitionEngine, StoredBatches } from "./partition-engine.js";
import { ProducerStateTable } from "./producer-state.js";
import type { AppendHeader, AppendResult, PartitionStats, TimestampOffset } from "./storage.js";
import { firstRecordAtOrAfter } from "./timestamp-search.js";
import { DataWaiters } from "./waiters.js";

// Bytes of a batch's buffer outside the batch that storing the view may keep alive.
const RETAINED_SLACK = 4096;

/** A segment of the memory engine: batches with their base offsets and max timestamps. */
interface MemorySegment {
  readonly baseOffset: number;
  readonly batches: Uint8Array[];
  readonly bases: number[];
  readonly maxTimestamps: number[];
  bytes: number;
  endOffset: number;
  maxTimestamp: number;
  createdMs: number;
}

function newSegment(baseOffset: number): MemorySegment {
  return { baseOffset, batches: [], bases: [], maxTimestamps: [], bytes: 0, endOffset: baseOffset, maxTimestamp: -Infinity, createdMs: 0 };
}

/** Index of the last of `count` ascending values (`valueAt`) at or below `target`; 0 if none. */
function lastAtOrBelow(count: number, valueAt: (i: number) => number, target: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (valueAt(mid) <= target) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * A partition of the memory engine. It keeps the disk engine's segment
 * structure (rolls by `segment.bytes` and `segment.ms`, retention deletes
 * whole head segments) so both engines behave alike. A batch is placed
 * synchronously, so it is readable before `place` returns; durability
 * requests resolve at once because there is no stable storage to reach.
 */
export class MemoryPartition implements PartitionEngine {
  readonly topic: string;
  readonly partition: number;
  readonly producers: ProducerStateTable;
  readonly failure: StorageError | null = null;
  #settings: TopicSettings;
  #segments: MemorySegment[] = [newSegment(0)];
  #hw = 0;
  readonly #waiters = new DataWaiters();

  constructor(topic: string, partition: number, settings: TopicSettings, idempotenceWindow: number) {
    this.topic = topic;
    this.partition = partition;
    this.#settings = settings;
    this.producers = new ProducerStateTable(idempotenceWindow);
  }

  get nextOffset(): number {
    return this.#hw;
  }

  get #active(): MemorySegment {
    return this.#segments[this.#segments.length - 1] as MemorySegment;
  }

  logStart(): number {
    return (this.#segments[0] as MemorySegment).baseOffset;
  }

  highWatermark(): number {
    return this.#hw;
  }

  configure(settings: TopicSettings): void {
    this.#settings = settings;
  }

  place(batch: Uint8Array, header: AppendHeader, baseOffset: number, appendTimeMs: number): Promise<AppendResult> {
    let active = this.#active;
    if (active.bytes > 0 && (active.bytes + batch.byteLength > this.#settings.segmentBytes || appendTimeMs - active.createdMs >= this.#settings.segmentMs)) {
      active = newSegment(baseOffset);
      this.#segments = [...this.#segments, active];
    }
    if (active.bytes === 0) active.createdMs = appendTimeMs;
    // A view into a much larger buffer is copied, so it does not keep that
    // buffer alive; a batch as a frame decoder hands it out (a view past the
    // frame's small message section) is kept as it is: copying every batch
    // doubled the broker's allocation and its garbage collection.
    active.batches.push(batch.byteLength + RETAINED_SLACK >= batch.buffer.byteLength ? batch : batch.slice());
    active.bases.push(baseOffset);
    active.maxTimestamps.push(header.maxTimestamp);
    active.bytes += batch.byteLength;
    active.maxTimestamp = Math.max(active.maxTimestamp, header.maxTimestamp);
    this.#hw = baseOffset + header.recordCount;
    active.endOffset = this.#hw;
    if (header.producerId >= 0n) this.producers.record(header.producerId, header.producerEpoch, header.baseSequence, header.recordCount, baseOffset);
    this.#waiters.advance(this.#hw);
    return Promise.resolve({ baseOffset: BigInt(baseOffset), appendTimeMs, logStartOffset: BigInt(this.logStart()), duplicate: false });
  }

  read(offset: number, maxBytes: number): Promise<StoredBatches> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const segments = this.#segments;
    let s = lastAtOrBelow(segments.length, (i) => (segments[i] as MemorySegment).baseOffset, offset);
    const bases = (segments[s] as MemorySegment).bases;
    let b = lastAtOrBelow(bases.length, (i) => bases[i] as number, offset);
    for (; s < segments.length; s++, b = 0) {
      const segment = segments[s] as MemorySegment;
      for (; b < segment.batches.length; b++) {
        const batch = segment.batches[b] as Uint8Array;
        if (chunks.length > 0 && size + batch.byteLength > maxBytes) return Promise.resolve({ chunks, size });
        chunks.push(batch);
        size += batch.byteLength;
      }
    }
    return Promise.resolve({ chunks, size });
  }

  offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    for (const segment of this.#segments) {
      if (segment.maxTimestamp < timestampMs) continue;
      for (let i = 0; i < segment.batches.length; i++) {
        if ((segment.maxTimestamps[i] as number) >= timestampMs) {
          return Promise.resolve(firstRecordAtOrAfter(segment.batches[i] as Uint8Array, timestampMs));
        }
      }
    }
    return Promise.resolve(null);
  }

  waitFor(offset: number, signal?: AbortSignal): Promise<boolean> {
    return this.#waiters.wait(offset, signal);
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  stats(): PartitionStats {
    return { logStartOffset: BigInt(this.logStart()), highWatermark: BigInt(this.#hw), sizeBytes: this.#sizeBytes(), segments: this.#segments.length };
  }

  #sizeBytes(): number {
    let size = 0;
    for (const segment of this.#segments) size += segment.bytes;
    return size;
  }

  applyRetention(nowMs: number): Promise<void> {
    const { retentionMs, retentionBytes } = this.#settings;
    if (retentionMs > 0) {
      const expired = (segment: MemorySegment): boolean => segment.maxTimestamp < nowMs - retentionMs;
      this.#dropHead(expired);
      const active = this.#active;
      if (this.#segments.length === 1 && active.bytes > 0 && expired(active)) {
        this.#segments = [...this.#segments, newSegment(this.#hw)];
        this.#dropHead(expired);
      }
    }
    if (retentionBytes > 0) {
      let total = this.#sizeBytes();
      this.#dropHead((segment) => {
        if (total - segment.bytes < retentionBytes) return false;
        total -= segment.bytes;
        return true;
      });
    }
    return Promise.resolve();
  }

  #dropHead(expendable: (segment: MemorySegment) => boolean): void {
    let drop = 0;
    while (drop < this.#segments.length - 1 && expendable(this.#segments[drop] as MemorySegment)) drop++;
    if (drop > 0) this.#segments = this.#segments.slice(drop);
  }

  close(): Promise<void> {
    this.#waiters.closeAll();
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    this.#waiters.closeAll();
    return Promise.resolve();
  }
}
