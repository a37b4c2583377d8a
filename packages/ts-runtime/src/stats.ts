import type { PolywireErrorCode } from "@polywire/core";

/** Percentiles of request latency, in milliseconds (0 when nothing was recorded). */
export interface LatencySnapshot {
  /** Requests measured. */
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** The exact largest latency seen. */
  readonly max: number;
}

/**
 * A point-in-time copy of a client's counters, from `client.stats()`.
 * Counters only grow over the client's life.
 */
export interface ClientStats {
  /** Records acknowledged by the broker (for acks "none": handed to the transport). */
  readonly recordsSent: number;
  /** Record batch bytes, as sent (compressed), of those records. */
  readonly bytesSent: number;
  /** Produce requests that succeeded. */
  readonly batchesSent: number;
  /** Records handed to the application by consumers. */
  readonly recordsReceived: number;
  /** Record batch bytes received in fetch responses. */
  readonly bytesReceived: number;
  /**
   * Requests sent again after an attempt failed: produce batches (as the
   * same bytes, or renumbered when a restarted broker forgot the producer),
   * fetches, metadata and offset lookups. Redials count in `reconnects`.
   */
  readonly retries: number;
  /** Connections re-established after one was lost or drained. */
  readonly reconnects: number;
  /**
   * Failures by stable error code: failed requests, per-partition errors
   * and records rejected before sending. Requests their caller gave up
   * (a clean `close()`, an aborted signal, a `seek` restarting a fetch)
   * are not failures and are not counted.
   */
  readonly errors: Readonly<Partial<Record<PolywireErrorCode, number>>>;
  /** Latency of requests answered by the broker (HDR-style log buckets, about 4% precision). */
  readonly requests: LatencySnapshot;
}

// Sub-buckets per power of two: bucket widths are 2^(1/16) - 1 ≈ 4.4 % of their value.
const SUB_BUCKETS = 16;
// Microseconds up to 2^40 (about 12.7 days) fit; larger values land in the last bucket.
const BUCKETS = 1 + 40 * SUB_BUCKETS;

/**
 * A latency histogram with logarithmic buckets, in the spirit of
 * HdrHistogram: constant memory, constant-time recording, and percentiles
 * within one bucket width (about 4.4 %) of the true value. Values are
 * milliseconds, recorded at microsecond resolution.
 */
export class LatencyHistogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  /** Records one latency in ms; negative and non-finite values are ignored. */
  record(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const bucket = LatencyHistogram.#bucket(ms * 1000);
    this.#counts[bucket] = (this.#counts[bucket] as number) + 1;
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  static #bucket(us: number): number {
    if (us < 1) return 0;
    return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(us) * SUB_BUCKETS));
  }

  // The largest value (in ms) that falls in bucket `index`.
  static #upper(index: number): number {
    if (index === 0) return 0.001;
    return 2 ** (index / SUB_BUCKETS) / 1000;
  }

  /** The latency at quantile `q` (0 < q ≤ 1): the upper edge of its bucket, kept within [min, max]. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] as number;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, LatencyHistogram.#upper(i)));
    }
    return this.#max;
  }

  /** Count, min, mean, p50, p90, p99 and max. */
  snapshot(): LatencySnapshot {
    if (this.#count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    return {
      count: this.#count,
      min: this.#min,
      mean: this.#sum / this.#count,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.#max,
    };
  }
}

/** The mutable counters behind {@link ClientStats}, shared by a client's producers and consumers. */
export class StatsCollector {
  recordsSent = 0;
  bytesSent = 0;
  batchesSent = 0;
  recordsReceived = 0;
  bytesReceived = 0;
  retries = 0;
  reconnects = 0;
  readonly latency = new LatencyHistogram();
  readonly #errors = new Map<PolywireErrorCode, number>();

  /** Counts one failure with `code`. */
  error(code: PolywireErrorCode, count = 1): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + count);
  }

  /** A frozen copy of every counter. */
  snapshot(): ClientStats {
    return Object.freeze({
      recordsSent: this.recordsSent,
      bytesSent: this.bytesSent,
      batchesSent: this.batchesSent,
      recordsReceived: this.recordsReceived,
      bytesReceived: this.bytesReceived,
      retries: this.retries,
      reconnects: this.reconnects,
      errors: Object.freeze(Object.fromEntries(this.#errors)),
      requests: Object.freeze(this.latency.snapshot()),
    });
  }
}
