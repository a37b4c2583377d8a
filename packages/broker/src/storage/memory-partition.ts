import { setBaseOffset } from "@polywire/wasm-codec";
import { BATCH_HEADER_SIZE } from "./batch-layout.js";
import type { TopicSettings } from "./config.js";
import { StorageError } from "./errors.js";
import type { PartitionEngine } from "./partition-engine.js";
import { ProducerStateTable, type ActivityNote, type EpochLookup } from "./producer-state.js";
import type { AppendHeader, AppendOptions, AppendResult, PartitionStats, ReadResult, TimestampOffset } from "./storage.js";
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
 * whole head segments) so both engines behave alike; durability requests
 * resolve at once because there is no stable storage to reach.
 */
export class MemoryPartition implements PartitionEngine {
  private segments: MemorySegment[] = [newSegment(0)];
  private hw = 0;
  private readonly producers: ProducerStateTable;
  private readonly waiters = new DataWaiters();
  private state: "open" | "closed" | "deleted" = "open";

  constructor(
    readonly topic: string,
    readonly partition: number,
    private settings: TopicSettings,
    idempotenceWindow: number,
    private readonly epochs: EpochLookup,
    private readonly touch: ActivityNote,
  ) {
    this.producers = new ProducerStateTable(idempotenceWindow);
  }

  configure(settings: TopicSettings): void {
    this.settings = settings;
  }

  private get active(): MemorySegment {
    return this.segments[this.segments.length - 1] as MemorySegment;
  }

  private unavailable(): StorageError | null {
    if (this.state === "deleted") return new StorageError("UNKNOWN_TOPIC", `topic ${this.topic} was deleted`);
    if (this.state === "closed") return new StorageError("SHUTTING_DOWN", "storage is closed");
    return null;
  }

  append(batch: Uint8Array, header: AppendHeader, _options?: AppendOptions): Promise<AppendResult> {
    const unavailable = this.unavailable();
    if (unavailable !== null) return Promise.reject(unavailable);
    if (batch.byteLength > this.settings.maxMessageBytes) {
      return Promise.reject(new StorageError("BATCH_TOO_LARGE", `batch of ${batch.byteLength} bytes exceeds max.message.bytes ${this.settings.maxMessageBytes} of topic ${this.topic}`, { limit: this.settings.maxMessageBytes }));
    }
    if (batch.byteLength < BATCH_HEADER_SIZE || !Number.isInteger(header.recordCount) || header.recordCount < 1) {
      return Promise.reject(new StorageError("INVALID_ARGUMENT", "append needs a whole validated batch with at least one record"));
    }
    const now = Date.now();
    const idempotent = header.producerId >= 0n;
    if (idempotent) {
      let duplicateOf: number | null;
      try {
        duplicateOf = this.producers.check(header, this.epochs).duplicateOf;
      } catch (error) {
        return Promise.reject(error);
      }
      this.touch(header.producerId, now);
      if (duplicateOf !== null) {
        return Promise.resolve({ baseOffset: BigInt(duplicateOf), appendTimeMs: now, logStartOffset: this.logStartOffset(), duplicate: true });
      }
    }
    const baseOffset = this.hw;
    setBaseOffset(batch, BigInt(baseOffset));
    let active = this.active;
    if (active.bytes > 0 && (active.bytes + batch.byteLength > this.settings.segmentBytes || now - active.createdMs >= this.settings.segmentMs)) {
      active = newSegment(baseOffset);
      this.segments = [...this.segments, active];
    }
    if (active.bytes === 0) active.createdMs = now;
    // A view into a much larger buffer is copied, so it does not keep that
    // buffer alive; a batch as a frame decoder hands it out (a view past the
    // frame's small message section) is kept as it is: copying every batch
    // doubled the broker's allocation and its garbage collection.
    active.batches.push(batch.byteLength + RETAINED_SLACK >= batch.buffer.byteLength ? batch : batch.slice());
    active.bases.push(baseOffset);
    active.maxTimestamps.push(header.maxTimestamp);
    active.bytes += batch.byteLength;
    active.maxTimestamp = Math.max(active.maxTimestamp, header.maxTimestamp);
    this.hw = baseOffset + header.recordCount;
    active.endOffset = this.hw;
    if (idempotent) this.producers.record(header.producerId, header.producerEpoch, header.baseSequence, header.recordCount, baseOffset);
    this.waiters.advance(this.hw);
    return Promise.resolve({ baseOffset: BigInt(baseOffset), appendTimeMs: now, logStartOffset: this.logStartOffset(), duplicate: false });
  }

  read(offset: bigint, maxBytes: number): Promise<ReadResult> {
    const unavailable = this.unavailable();
    if (unavailable !== null) return Promise.reject(unavailable);
    const highWatermark = BigInt(this.hw);
    const logStartOffset = this.logStartOffset();
    if (offset < logStartOffset || offset > highWatermark) {
      return Promise.reject(new StorageError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside [${logStartOffset}, ${highWatermark}] of ${this.topic}/${this.partition}`));
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const target = Number(offset);
    if (target < this.hw) {
      const segments = this.segments;
      let s = lastAtOrBelow(segments.length, (i) => (segments[i] as MemorySegment).baseOffset, target);
      const bases = (segments[s] as MemorySegment).bases;
      let b = lastAtOrBelow(bases.length, (i) => bases[i] as number, target);
      for (; s < segments.length; s++, b = 0) {
        const segment = segments[s] as MemorySegment;
        for (; b < segment.batches.length; b++) {
          const batch = segment.batches[b] as Uint8Array;
          if (chunks.length > 0 && size + batch.byteLength > maxBytes) return Promise.resolve({ chunks, size, highWatermark, logStartOffset });
          chunks.push(batch);
          size += batch.byteLength;
        }
      }
    }
    return Promise.resolve({ chunks, size, highWatermark, logStartOffset });
  }

  logStartOffset(): bigint {
    return BigInt((this.segments[0] as MemorySegment).baseOffset);
  }

  highWatermark(): bigint {
    return BigInt(this.hw);
  }

  offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    const unavailable = this.unavailable();
    if (unavailable !== null) return Promise.reject(unavailable);
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestampMs) continue;
      for (let i = 0; i < segment.batches.length; i++) {
        if ((segment.maxTimestamps[i] as number) >= timestampMs) {
          return Promise.resolve(firstRecordAtOrAfter(segment.batches[i] as Uint8Array, timestampMs));
        }
      }
    }
    return Promise.resolve(null);
  }

  waitForData(offset: bigint, signal?: AbortSignal): Promise<boolean> {
    if (this.unavailable() !== null) return Promise.resolve(false);
    if (BigInt(this.hw) > offset) return Promise.resolve(true);
    return this.waiters.wait(offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(offset), signal);
  }

  sync(): Promise<void> {
    const unavailable = this.unavailable();
    return unavailable === null ? Promise.resolve() : Promise.reject(unavailable);
  }

  stats(): PartitionStats {
    let sizeBytes = 0;
    for (const segment of this.segments) sizeBytes += segment.bytes;
    return { logStartOffset: this.logStartOffset(), highWatermark: BigInt(this.hw), sizeBytes, segments: this.segments.length };
  }

  applyRetention(nowMs: number): Promise<void> {
    if (this.unavailable() !== null) return Promise.resolve();
    const { retentionMs, retentionBytes } = this.settings;
    if (retentionMs > 0) {
      const expired = (segment: MemorySegment): boolean => segment.maxTimestamp < nowMs - retentionMs;
      this.dropHead(expired);
      const active = this.active;
      if (this.segments.length === 1 && active.bytes > 0 && expired(active)) {
        this.segments = [...this.segments, newSegment(this.hw)];
        this.dropHead(expired);
      }
    }
    if (retentionBytes > 0) {
      let total = this.stats().sizeBytes;
      this.dropHead((segment) => {
        if (total - segment.bytes < retentionBytes) return false;
        total -= segment.bytes;
        return true;
      });
    }
    return Promise.resolve();
  }

  private dropHead(expendable: (segment: MemorySegment) => boolean): void {
    let drop = 0;
    while (drop < this.segments.length - 1 && expendable(this.segments[drop] as MemorySegment)) drop++;
    if (drop > 0) this.segments = this.segments.slice(drop);
  }

  forgetProducers(known: (producerId: bigint) => boolean): void {
    this.producers.retainKnown(known);
  }

  close(): Promise<void> {
    if (this.state === "open") this.state = "closed";
    this.waiters.closeAll();
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    this.state = "deleted";
    this.waiters.closeAll();
    return Promise.resolve();
  }
}
