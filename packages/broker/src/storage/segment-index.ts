/**
 * The sparse indexes of one segment, held in memory and mirrored to the
 * `.index` and `.timeindex` files. Entries are appended in log order, so
 * both are sorted and searched by bisection.
 */
import { GrowableColumns } from "./growable-columns.js";

/** `.index` entry: u32 offset relative to the segment base, u32 file position. */
export const OFFSET_ENTRY_SIZE = 8;
/** `.timeindex` entry: i64 running max timestamp, u32 relative offset of the batch that reached it. */
export const TIME_ENTRY_SIZE = 12;

/** Rows of (relative offset, file position of the batch starting there), one every `indexIntervalBytes` or so. */
export class OffsetIndex extends GrowableColumns<Uint32Array, Uint32Array> {
  constructor() {
    super(Uint32Array, Uint32Array);
  }

  relativeAt(i: number): number {
    return this.first(i);
  }

  positionAt(i: number): number {
    return this.second(i);
  }

  /** Position of the last indexed batch starting at or before `relativeOffset`; 0 (segment start) if none. */
  lookup(relativeOffset: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.first(mid) <= relativeOffset) {
        found = this.second(mid);
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Big-endian bytes of entries [from, to). */
  encode(from: number, to: number): Uint8Array {
    const bytes = new Uint8Array((to - from) * OFFSET_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    for (let i = from; i < to; i++) {
      view.setUint32((i - from) * OFFSET_ENTRY_SIZE, this.first(i));
      view.setUint32((i - from) * OFFSET_ENTRY_SIZE + 4, this.second(i));
    }
    return bytes;
  }

  /**
   * Reads `.index` bytes, keeping the longest prefix that is plausible: both
   * columns strictly increasing and positions inside a log of `logSize`
   * bytes. A torn or zero-filled tail is dropped, never trusted.
   */
  static decode(bytes: Uint8Array, logSize: number): { index: OffsetIndex; intact: boolean } {
    const index = new OffsetIndex();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const whole = Math.floor(bytes.byteLength / OFFSET_ENTRY_SIZE);
    let lastRel = 0;
    let lastPos = 0;
    for (let i = 0; i < whole; i++) {
      const rel = view.getUint32(i * OFFSET_ENTRY_SIZE);
      const pos = view.getUint32(i * OFFSET_ENTRY_SIZE + 4);
      if (rel <= lastRel || pos <= lastPos || pos >= logSize) {
        return { index, intact: false };
      }
      index.add(rel, pos);
      lastRel = rel;
      lastPos = pos;
    }
    return { index, intact: whole * OFFSET_ENTRY_SIZE === bytes.byteLength };
  }
}

/**
 * Rows of (running max timestamp, relative offset of the batch where it was reached),
 * recorded sparsely. Each entry's timestamp is the exact max of every batch
 * up to and including its batch, so every batch before an entry whose
 * timestamp is below a target is below the target too.
 */
export class TimeIndex extends GrowableColumns<Float64Array, Uint32Array> {
  constructor() {
    super(Float64Array, Uint32Array);
  }

  timestampAt(i: number): number {
    return this.first(i);
  }

  relativeAt(i: number): number {
    return this.second(i);
  }

  /** Largest timestamp recorded, -Infinity if none. */
  get lastTimestamp(): number {
    return this.length === 0 ? -Infinity : this.first(this.length - 1);
  }

  /** Relative offset of the last entry whose timestamp is below `timestamp`, or -1: a search for it may start after that batch. */
  lastBelow(timestamp: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.first(mid) < timestamp) {
        found = this.second(mid);
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  encode(from: number, to: number): Uint8Array {
    const bytes = new Uint8Array((to - from) * TIME_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    for (let i = from; i < to; i++) {
      view.setBigInt64((i - from) * TIME_ENTRY_SIZE, BigInt(this.first(i)));
      view.setUint32((i - from) * TIME_ENTRY_SIZE + 8, this.second(i));
    }
    return bytes;
  }

  /** Reads `.timeindex` bytes, keeping the longest prefix with both columns increasing and offsets below `endRelative`. */
  static decode(bytes: Uint8Array, endRelative: number): { index: TimeIndex; intact: boolean } {
    const index = new TimeIndex();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const whole = Math.floor(bytes.byteLength / TIME_ENTRY_SIZE);
    for (let i = 0; i < whole; i++) {
      const ts = Number(view.getBigInt64(i * TIME_ENTRY_SIZE));
      const rel = view.getUint32(i * TIME_ENTRY_SIZE + 8);
      if ((i > 0 && (ts <= index.lastTimestamp || rel <= index.relativeAt(i - 1))) || rel >= endRelative) {
        return { index, intact: false };
      }
      index.add(ts, rel);
    }
    return { index, intact: whole * TIME_ENTRY_SIZE === bytes.byteLength };
  }
}
