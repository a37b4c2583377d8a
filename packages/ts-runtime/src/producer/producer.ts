import type { ClientContext } from "../context.js";
import { PolywireError } from "@polywire/core";
import { prepareRecord, type ProducerRecord } from "../record.js";
import { abortError, callSignal, raceSignal, type CallOptions } from "../signal.js";
import { Accumulator } from "./accumulator.js";
import { Delivery } from "./delivery.js";
import { Idempotence } from "./idempotence.js";
import { Intake } from "./intake.js";
import { producerSettings, type ProducerOptions } from "./options.js";
import { Partitioner } from "./partitioner.js";
import { noop, pendingRecord, type Group, type Pending } from "./pending.js";
import type { DeliveryReport, RecordMetadata } from "./reports.js";
import type { ProducerScope } from "./scope.js";
import { Sender } from "./sender.js";
import { SizeLimits } from "./size-limits.js";

/**
 * Appends records to topics. Records are batched per partition (by size,
 * `batchBytes`, and time, `lingerMs`), optionally compressed, and sent
 * with idempotent sequence numbers by default, so retries after lost
 * connections or broker restarts never store a record twice (§7.5).
 * Records of one partition are stored in the order `send` was called.
 *
 * `send` resolves once the record is acknowledged; don't await each send
 * in turn (that waits out the linger per record): keep the promises, use
 * `sendBatch`, `onDelivery` or `reports()`, and `flush()`.
 *
 * ```ts
 * const producer = client.producer({ compression: "zstd" });
 * for (const order of orders) void producer.send(Record.json("orders", order, { key: order.customer }));
 * await producer.flush();
 * ```
 */
export class Producer implements AsyncDisposable {
  // A record goes intake → accumulator → sender, and ends in delivery; the
  // idempotence logic decides what a failed send leads to. This class is
  // the API in front of them and owns the producer's life (close, failure).
  readonly #ctx: ClientContext;
  readonly #untrack: () => void;
  readonly #stop = new AbortController();
  readonly #accumulator: Accumulator;
  readonly #delivery: Delivery;
  readonly #intake: Intake;
  readonly #idempotence: Idempotence;
  #failure: PolywireError | undefined;
  #closing: Promise<void> | undefined;

  /** @internal Use `client.producer(options)`. */
  constructor(context: ClientContext, options: ProducerOptions = {}) {
    const settings = producerSettings(options, context.retry);
    this.#ctx = context;
    const producer = this;
    const scope: ProducerScope = {
      ctx: context,
      settings,
      stop: this.#stop.signal,
      get failure() {
        return producer.#failure;
      },
      fatal: (error) => this.#fatal(error),
    };
    const partitioner = new Partitioner();
    const limits = new SizeLimits(context, settings.maxMessageBytes);
    this.#delivery = new Delivery(settings.onDelivery, () => this.#closing !== undefined);
    // The sender and the idempotence logic call each other; the sender is made second.
    let sender!: Sender;
    this.#accumulator = new Accumulator(settings, partitioner, (ps) => sender.drive(ps));
    this.#idempotence = new Idempotence(scope, this.#accumulator, this.#delivery, limits, {
      drive: (ps) => sender.drive(ps),
      driveAll: () => sender.driveAll(),
    });
    sender = new Sender(scope, this.#accumulator, this.#idempotence, this.#delivery);
    this.#intake = new Intake(scope, this.#accumulator, this.#delivery, limits, partitioner);
    this.#untrack = context.track({ close: (options) => this.close(options), fail: (error) => this.#fatal(error) });
  }

  /** True while sends use idempotent sequence numbers (false after falling back, see `idempotent`). */
  get idempotent(): boolean {
    return this.#idempotence.enabled;
  }

  /** Bytes of records accepted and not yet settled (see `maxBufferedBytes`). */
  get bufferedBytes(): number {
    return this.#delivery.buffered;
  }

  /**
   * Appends one record. Resolves with its partition and offset once the
   * broker acknowledged it as `acks` asks, or rejects with a
   * `PolywireError`: INVALID_ARGUMENT for a malformed record,
   * RECORD_TOO_LARGE for one that cannot fit in any batch the broker
   * accepts, UNKNOWN_TOPIC, UNKNOWN_PARTITION, or the failure that ended the
   * retries. `signal`/`timeoutMs` stop the wait: a record still waiting for
   * buffer room is withdrawn; one already batched may still be stored (its
   * delivery report tells).
   */
  send(record: ProducerRecord, options?: CallOptions): Promise<RecordMetadata> {
    let pending: Pending;
    let signal: AbortSignal | undefined;
    try {
      this.#ensureOpen();
      signal = callSignal(options);
      pending = pendingRecord(record, prepareRecord(record, Date.now()));
    } catch (error) {
      return this.#rejected(error);
    }
    this.#intake.push(pending);
    return signal === undefined ? pending.promise : this.#bound(pending, signal);
  }

  /**
   * Appends several records, possibly to several topics, and resolves with
   * their metadata in the same order. Every record is checked first (shape,
   * topic, partition, size): if one is bad, the call rejects with an error
   * naming its index and none is sent. Afterwards it rejects with the first
   * failure, as `send` would. The records keep their place among other
   * sends: `sendBatch(a); send(b)` stores `a` before `b` in a partition.
   */
  sendBatch(records: readonly ProducerRecord[], options?: CallOptions): Promise<RecordMetadata[]> {
    let group: Group;
    let signal: AbortSignal | undefined;
    try {
      this.#ensureOpen();
      signal = callSignal(options);
      const now = Date.now();
      group = { kind: "group", checked: false, next: 0, pendings: records.map((r, i) => {
        try {
          return pendingRecord(r, prepareRecord(r, now));
        } catch (error) {
          const failure = PolywireError.from(error);
          throw new PolywireError(failure.code, `record ${i}: ${failure.message}`, { cause: failure });
        }
      }) };
    } catch (error) {
      return this.#rejected(error);
    }
    if (group.pendings.length === 0) return Promise.resolve([]);
    this.#intake.push(group);
    const all = Promise.all(group.pendings.map((p) => signal === undefined ? p.promise : this.#bound(p, signal)));
    all.catch(noop);
    return all;
  }

  /**
   * The answer to a call refused before anything was queued (a closed
   * producer, a record that fails validation). Like every other failure it
   * is counted in the stats and must not crash the process when the caller
   * ignores the promise.
   */
  #rejected(error: unknown): Promise<never> {
    const failure = PolywireError.from(error);
    this.#ctx.stats.error(failure.code);
    const rejected = Promise.reject(failure);
    rejected.catch(noop);
    return rejected;
  }

  /**
   * Sends every buffered record now and resolves once all records sent
   * before the call are settled (acknowledged or failed).
   */
  async flush(options?: CallOptions): Promise<void> {
    const signal = callSignal(options);
    const limit = await raceSignal(new Promise<number>((reached) => {
      this.#intake.push({ kind: "marker", reached });
    }), signal);
    // Batches split after a rejection get ordinals inside their original's, so they are waited for too.
    for (;;) {
      const done: Promise<void>[] = [];
      for (const ps of this.#accumulator.states()) {
        for (const b of ps.batches()) if (b.ordinal < limit) done.push(b.done);
      }
      if (done.length === 0) return;
      await raceSignal(Promise.all(done), signal);
    }
  }

  /**
   * Delivery reports as an async iterable, one per record settled after the
   * call, ending when the producer closes. While a loop runs, reports it has
   * not taken yet keep their records counted in `maxBufferedBytes`: a slow
   * loop slows `send` down rather than queueing without bound.
   */
  reports(options: CallOptions = {}): AsyncIterableIterator<DeliveryReport> {
    return this.#delivery.stream(callSignal(options));
  }

  /**
   * Flushes, then closes: later sends reject. With `signal`/`timeoutMs`, records
   * still unsettled when it fires fail with CANCELLED/TIMEOUT. Idempotent.
   */
  close(options?: CallOptions): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.flush(options);
      } catch (error) {
        this.#fatal(PolywireError.from(error, "CANCELLED"));
      }
      this.#shutdown();
    })();
    return this.#closing;
  }

  /** `await using` support: the same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #shutdown(): void {
    this.#stop.abort(new PolywireError("CANCELLED", "the producer is closed"));
    this.#accumulator.stopTimers();
    this.#delivery.end();
    this.#untrack();
  }

  #ensureOpen(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closing !== undefined || this.#ctx.closed) throw new PolywireError("CONNECTION_LOST", "the producer is closed", { retriable: false });
  }

  #bound(pending: Pending, signal: AbortSignal): Promise<RecordMetadata> {
    const bounded = new Promise<RecordMetadata>((resolve, reject) => {
      const onAbort = (): void => {
        const error = abortError(signal);
        // Not batched yet: withdraw it. Batched: stop waiting; the report tells what happened.
        if (!pending.accepted && !pending.settled) this.#delivery.settleFailure(pending, error);
        reject(error);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      pending.promise.then(
        (meta) => {
          signal.removeEventListener("abort", onAbort);
          resolve(meta);
        },
        (error: PolywireError) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
    bounded.catch(noop);
    return bounded;
  }

  /** Fails every record not yet settled and every later send with `error`. */
  #fatal(error: PolywireError): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#intake.fail(error);
    // Batches in flight settle with their own answer: they may be stored.
    for (const batch of this.#accumulator.takeUnsent()) this.#delivery.reject(batch, error);
    this.#delivery.wake();
  }
}
