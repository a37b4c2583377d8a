import type { PolywireError } from "@polywire/core";
import { result } from "../json.js";
import type { Batch } from "./batch.js";
import { noop, type Pending } from "./pending.js";
import { ReportStream, type DeliveryReport, type RecordMetadata, type ReportHold } from "./reports.js";

/**
 * The end of a record's way: settles its promise, reports the outcome to
 * `onDelivery` and to every `reports()` loop, and keeps the count of
 * buffered bytes. A record's bytes stay counted until every report loop
 * has taken its report, so slow loops slow `send` down (the intake waits
 * in {@link room}) instead of queueing reports without bound.
 */
export class Delivery {
  readonly #onDelivery: ((report: DeliveryReport) => void) | undefined;
  /** True once the producer is closing: report loops end when the buffer empties. */
  readonly #closing: () => boolean;
  readonly #streams = new Set<ReportStream>();
  #buffered = 0;
  #roomWaiters: Array<() => void> = [];

  constructor(onDelivery: ((report: DeliveryReport) => void) | undefined, closing: () => boolean) {
    this.#onDelivery = onDelivery;
    this.#closing = closing;
  }

  /** Bytes of records accepted and not yet released. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Counts a record in the buffer: it now belongs to a batch. */
  accept(p: Pending): void {
    p.accepted = true;
    this.#buffered += p.record.size;
  }

  /** Resolves once buffer room may have been freed (or a waiting record withdrawn): the intake looks again. */
  room(): Promise<void> {
    return new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
  }

  /** A `reports()` loop over the outcomes settled from now on. */
  stream(signal: AbortSignal | undefined): ReportStream {
    const stream = new ReportStream((s) => this.#streams.delete(s), signal);
    if (this.#closing() && this.#buffered === 0) stream.end();
    else this.#streams.add(stream);
    return stream;
  }

  /** Ends every report loop (the producer is closed). */
  end(): void {
    for (const s of [...this.#streams]) s.end();
  }

  settle(p: Pending, meta: RecordMetadata): void {
    if (p.settled) return;
    p.settled = true;
    p.resolve(meta);
    if (this.#onDelivery === undefined && this.#streams.size === 0) {
      this.#release(p);
      return;
    }
    this.#report(p, result({ record: p.input, topic: meta.topic, partition: meta.partition, offset: meta.offset, timestamp: meta.timestamp }, ["record"]));
  }

  settleFailure(p: Pending, error: PolywireError): void {
    if (p.settled) return;
    p.settled = true;
    // Outcomes also reach onDelivery, reports() and the stats: an ignored
    // promise must not crash the process. Handled here, on the failure path
    // only, so that acknowledged records cost no extra promise.
    p.promise.catch(noop);
    p.reject(error);
    this.#report(p, result({ record: p.input, topic: p.record.topic, partition: p.partition, offset: -1n, timestamp: p.record.timestamp, error }, ["record"]));
    // A record withdrawn from the intake may be what the intake waits behind.
    if (!p.accepted) this.wake();
  }

  /** Fails every record of a batch, and marks the batch done for `flush`. */
  reject(batch: Batch, error: PolywireError): void {
    for (const p of batch.records) this.settleFailure(p, error);
    batch.finish();
  }

  /** Wakes an intake waiting for room. */
  wake(): void {
    if (this.#roomWaiters.length === 0) return;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }

  #report(p: Pending, report: DeliveryReport): void {
    if (this.#onDelivery !== undefined) {
      try {
        this.#onDelivery(report);
      } catch (error) {
        // The application's callback threw: that is its bug, not the
        // producer's; rethrown on its own so the producer's state stays whole.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (this.#streams.size === 0) {
      this.#release(p);
      return;
    }
    const hold: ReportHold = { remaining: this.#streams.size, release: () => this.#release(p) };
    for (const s of [...this.#streams]) s.push(report, hold);
  }

  #release(p: Pending): void {
    if (!p.accepted) return;
    p.accepted = false;
    this.#buffered -= p.record.size;
    this.wake();
    if (this.#closing() && this.#buffered === 0) for (const s of this.#streams) s.end();
  }
}
