import type { DiskSegment } from "./disk-segment.js";

/**
 * A disk partition's segments, oldest first, the last one active: what the
 * partition (retention), its writer (rolls) and its reads share. The list
 * is replaced, never changed in place, so a read walking a captured list
 * is not disturbed by a roll or by retention.
 */
export class SegmentList {
  #segments: readonly DiskSegment[];

  constructor(segments: readonly DiskSegment[]) {
    this.#segments = segments;
  }

  get all(): readonly DiskSegment[] {
    return this.#segments;
  }

  get active(): DiskSegment {
    return this.#segments[this.#segments.length - 1] as DiskSegment;
  }

  get head(): DiskSegment {
    return this.#segments[0] as DiskSegment;
  }

  get length(): number {
    return this.#segments.length;
  }

  /** The first offset still stored. */
  get logStart(): number {
    return this.head.baseOffset;
  }

  /**
   * Everything below is written and readable: the active segment's end,
   * which the writer advances for each write it completes (a new active
   * segment starts where the previous one ended).
   */
  get highWatermark(): number {
    return this.active.endOffset;
  }

  /** Bytes of every segment. */
  get sizeBytes(): number {
    let size = 0;
    for (const segment of this.#segments) size += segment.size;
    return size;
  }

  /** Makes `segment` the active one (a roll). */
  push(segment: DiskSegment): void {
    this.#segments = [...this.#segments, segment];
  }

  /** Drops the head segment (retention); the caller removes its files. */
  dropHead(): void {
    this.#segments = this.#segments.slice(1);
  }
}

/** Index in `segments` of the one holding `offset`: the last whose base is at or below it. */
export function segmentIndexFor(segments: readonly DiskSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((segments[mid] as DiskSegment).baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
