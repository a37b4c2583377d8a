import type { PolywireError } from "@polywire/core";
import type { Jsonified } from "../json.js";
import type { ProducerRecord } from "../record.js";
import { abortError } from "../signal.js";

/** Where an acknowledged record was stored. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset; -1n with acks "none". */
  readonly offset: bigint;
  /** The record's timestamp, Unix ms. */
  readonly timestamp: number;
  /** `{ topic, partition, offset, timestamp }` with the offset as a decimal string, so that `JSON.stringify` works. */
  toJSON(): Jsonified<RecordMetadata>;
}

/**
 * The outcome of one produced record: where it was stored, or why it was
 * not. With acks "none" the offset is -1n (the broker does not answer).
 */
export interface DeliveryReport {
  /** The record as passed to `send`. */
  readonly record: ProducerRecord;
  readonly topic: string;
  /** The partition chosen; -1 when the record failed before one was. */
  readonly partition: number;
  /** The record's offset; -1n when unknown (acks "none", or failed). */
  readonly offset: bigint;
  /** The record's timestamp, Unix ms. */
  readonly timestamp: number;
  /** Set when the record was not (or not known to be) stored. */
  readonly error?: PolywireError;
  /**
   * Everything but `record` (the caller's own input, whose bytes have no
   * JSON form), the offset as a decimal string and the error in its JSON
   * form, so that `JSON.stringify` works.
   */
  toJSON(): Jsonified<Omit<DeliveryReport, "record">>;
}

/** The {@link RecordMetadata} of an acknowledged record. */
export class StoredRecord implements RecordMetadata {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: bigint,
    readonly timestamp: number,
  ) {}

  toJSON(): Jsonified<RecordMetadata> {
    return { topic: this.topic, partition: this.partition, offset: this.offset.toString(), timestamp: this.timestamp };
  }
}

/**
 * Shared by every stream a report was queued on: the record's buffer space
 * is released once each of them has handed the report out or dropped it.
 */
export interface ReportHold {
  remaining: number;
  release(): void;
}

interface Entry {
  readonly report: DeliveryReport;
  readonly hold: ReportHold;
}

function letGo(hold: ReportHold): void {
  hold.remaining--;
  if (hold.remaining === 0) hold.release();
}

/**
 * One `producer.reports()` iteration: reports queue here until the loop
 * takes them. Queued reports keep their records' bytes counted against the
 * producer's `maxBufferedBytes`, so a slow report loop slows `send` instead
 * of growing this queue without bound.
 */
export class ReportStream implements AsyncIterableIterator<DeliveryReport> {
  #entries: Entry[] = [];
  #waiter: ((result: IteratorResult<DeliveryReport>) => void) | undefined;
  #fail: ((error: PolywireError) => void) | undefined;
  #ended = false;
  #finished = false;
  readonly #onDone: (stream: ReportStream) => void;
  readonly #signal: AbortSignal | undefined;

  constructor(onDone: (stream: ReportStream) => void, signal: AbortSignal | undefined) {
    this.#onDone = onDone;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => {
    const fail = this.#fail;
    this.#finish();
    if (fail !== undefined) fail(abortError(this.#signal as AbortSignal));
  };

  /** Queues a report (called by the producer). */
  push(report: DeliveryReport, hold: ReportHold): void {
    if (this.#finished) {
      letGo(hold);
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#fail = undefined;
      letGo(hold);
      waiter({ value: report, done: false });
      return;
    }
    this.#entries.push({ report, hold });
  }

  /** No more reports will come: the stream ends once the queue is empty. */
  end(): void {
    this.#ended = true;
    if (this.#entries.length === 0 && this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#finish();
      waiter({ value: undefined, done: true });
    }
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#waiter = undefined;
    this.#fail = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const e of this.#entries) letGo(e.hold);
    this.#entries = [];
    this.#onDone(this);
  }

  next(): Promise<IteratorResult<DeliveryReport>> {
    if (this.#signal?.aborted && !this.#finished) {
      this.#finish();
      return Promise.reject(abortError(this.#signal));
    }
    const entry = this.#entries.shift();
    if (entry !== undefined) {
      letGo(entry.hold);
      return Promise.resolve({ value: entry.report, done: false });
    }
    if (this.#ended || this.#finished) {
      this.#finish();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#fail = reject;
    });
  }

  return(): Promise<IteratorResult<DeliveryReport>> {
    const waiter = this.#waiter;
    this.#finish();
    waiter?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<DeliveryReport> {
    return this;
  }
}
