/**
 * The sparse indexes of one segment, held in memory and mirrored to the
 * `.index` and `.timeindex` files. Entries are appended in log order, so
 * both are sorted and searched by bisection.
 */

/** `.index` entry: u32 offset relative to the segment base, u32 file position. */
export const OFFSET_ENTRY_SIZE = 8;
/** `.timeindex` entry: i64 running max timestamp, u32 relative offset of the batch that reached it. */
export const TIME_ENTRY_SIZE = 12;

// Every index starts on these, never written (capacity 0): a partition with
// few or no entries holds no arrays of its own, which counts with 100 000
// partitions.
const NO_U32 = new Uint32Array(0);
const NO_F64 = new Float64Array(0);

/** Capacity after `length` entries filled `capacity`. */
function grown(capacity: number): number {
  return Math.max(16, capacity * 2);
}

/** Relative offset → file position of the batch starting there, every `indexIntervalBytes` or so. */
export class OffsetIndex {
  #rel = NO_U32;
  #pos = NO_U32;
  length = 0;

  add(relativeOffset: number, position: number): void {
    if (this.length === this.#rel.length) {
      const rel = new Uint32Array(grown(this.#rel.length));
      rel.set(this.#rel.subarray(0, this.length));
      this.#rel = rel;
      const pos = new Uint32Array(rel.length);
      pos.set(this.#pos.subarray(0, this.length));
      this.#pos = pos;
    }
    this.#rel[this.length] = relativeOffset;
    this.#pos[this.length] = position;
    this.length++;
  }

  relativeAt(i: number): number {
    return this.#rel[i] as number;
  }

  positionAt(i: number): number {
    return this.#pos[i] as number;
  }

  /** Position of the last indexed batch starting at or before `relativeOffset`; 0 (segment start) if none. */
  lookup(relativeOffset: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#rel[mid] as number) <= relativeOffset) {
        found = this.#pos[mid] as number;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Drops entries at or past `position` (after a truncation). */
  truncateAtPosition(position: number): void {
    while (this.length > 0 && (this.#pos[this.length - 1] as number) >= position) this.length--;
  }

  /** Big-endian bytes of entries [from, to). */
  encode(from: number, to: number): Uint8Array {
    const bytes = new Uint8Array((to - from) * OFFSET_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    for (let i = from; i < to; i++) {
      view.setUint32((i - from) * OFFSET_ENTRY_SIZE, this.#rel[i] as number);
      view.setUint32((i - from) * OFFSET_ENTRY_SIZE + 4, this.#pos[i] as number);
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
 * Running max timestamp → relative offset of the batch where it was reached,
 * recorded sparsely. Each entry's timestamp is the exact max of every batch
 * up to and including its batch, so every batch before an entry whose
 * timestamp is below a target is below the target too.
 */
export class TimeIndex {
  #ts = NO_F64;
  #rel = NO_U32;
  length = 0;

  add(timestamp: number, relativeOffset: number): void {
    if (this.length === this.#ts.length) {
      const ts = new Float64Array(grown(this.#ts.length));
      ts.set(this.#ts.subarray(0, this.length));
      this.#ts = ts;
      const rel = new Uint32Array(ts.length);
      rel.set(this.#rel.subarray(0, this.length));
      this.#rel = rel;
    }
    this.#ts[this.length] = timestamp;
    this.#rel[this.length] = relativeOffset;
    this.length++;
  }

  timestampAt(i: number): number {
    return this.#ts[i] as number;
  }

  relativeAt(i: number): number {
    return this.#rel[i] as number;
  }

  /** Largest timestamp recorded, -Infinity if none. */
  get lastTimestamp(): number {
    return this.length === 0 ? -Infinity : (this.#ts[this.length - 1] as number);
  }

  /** Relative offset of the last entry whose timestamp is below `timestamp`, or -1: a search for it may start after that batch. */
  lastBelow(timestamp: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ts[mid] as number) < timestamp) {
        found = this.#rel[mid] as number;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Drops entries for batches at or past `relativeOffset`. */
  truncateAtRelative(relativeOffset: number): void {
    while (this.length > 0 && (this.#rel[this.length - 1] as number) >= relativeOffset) this.length--;
  }

  encode(from: number, to: number): Uint8Array {
    const bytes = new Uint8Array((to - from) * TIME_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    for (let i = from; i < to; i++) {
      view.setBigInt64((i - from) * TIME_ENTRY_SIZE, BigInt(this.#ts[i] as number));
      view.setUint32((i - from) * TIME_ENTRY_SIZE + 8, this.#rel[i] as number);
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
