import { FrameKind } from "@polywire/proto/session";
import { BATCH_HEADER_SIZE } from "@polywire/wasm-codec";
import { PolywireError } from "@polywire/core";
import { throwIfError } from "../response-errors.js";
import type { Accumulator } from "./accumulator.js";
import { Batch, type PartitionState } from "./batch.js";
import type { Delivery } from "./delivery.js";
import type { Pending } from "./pending.js";
import type { ProducerScope } from "./scope.js";
import type { SizeLimits } from "./size-limits.js";

const MAX_EPOCH = 32_767;

/** The producer id and epoch a broker gave with InitProducer (PW-IDEM-001). */
export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

/** What the idempotence logic asks of the sender: send what may go now. */
export interface Driver {
  drive(ps: PartitionState): void;
  driveAll(): void;
}

/**
 * What happens after a produce fails, and the producer identity that makes
 * retries safe (§7.5). Without idempotence a failure is final. With it,
 * retriable failures resend the same bytes (PW-IDEM-007); a batch the
 * broker rejected leaves a sequence gap, so the batches sent after it and
 * everything queued are renumbered in a new epoch (PW-IDEM-001, -002) once
 * no batch of the old one is in doubt; a batch too large for the topic is
 * split. The failure handling lives here because nearly every case of it
 * is about sequences.
 */
export class Idempotence {
  readonly #scope: ProducerScope;
  readonly #accumulator: Accumulator;
  readonly #delivery: Delivery;
  readonly #limits: SizeLimits;
  readonly #driver: Driver;
  #enabled: boolean;
  #identity: ProducerIdentity | undefined;
  #identityPending = false;
  /** A new epoch is due: batches not yet sent wait for it. */
  #resetting = false;
  /** The new epoch needs a new producer id too (the broker forgot ours). */
  #resetNewId = false;
  #resetRunning = false;

  constructor(scope: ProducerScope, accumulator: Accumulator, delivery: Delivery, limits: SizeLimits, driver: Driver) {
    this.#scope = scope;
    this.#accumulator = accumulator;
    this.#delivery = delivery;
    this.#limits = limits;
    this.#driver = driver;
    this.#enabled = scope.settings.idempotent;
  }

  /** True while sends use sequence numbers (false after falling back to plain produce). */
  get enabled(): boolean {
    return this.#enabled;
  }

  get identity(): ProducerIdentity | undefined {
    return this.#identity;
  }

  /** True while a sequence reset waits: only batches sent in the old epoch may go out. */
  get resetting(): boolean {
    return this.#resetting;
  }

  /** Asks the broker for a producer id (once); sending starts when it answers. */
  initIdentity(): void {
    if (this.#identityPending) return;
    this.#identityPending = true;
    const { ctx, settings, stop } = this.#scope;
    ctx.request(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n, producerEpoch: -1 }, { signal: stop }).then(
      ({ message }) => {
        throwIfError(message, { what: "InitProducer failed" });
        this.#identity = { producerId: message.producerId, producerEpoch: message.producerEpoch };
      },
    ).catch((error: unknown) => {
      const failure = PolywireError.from(error);
      // A broker without FEATURE_IDEMPOTENCE: fall back, unless idempotence was asked for explicitly.
      if (failure.code === "FEATURE_NOT_NEGOTIATED" && !settings.explicitIdempotence) {
        this.#enabled = false;
        return;
      }
      this.#scope.fatal(failure);
    }).finally(() => {
      this.#identityPending = false;
      this.#driver.driveAll();
    });
  }

  /**
   * A produce failed. Without idempotence it is never retried (PW-ERR-002).
   * With idempotence: retriable failures resend the same bytes
   * (PW-IDEM-007) once nothing else of the partition is in flight; a batch
   * the broker rejected leaves a sequence gap, so the batches sent after it
   * (known not stored) and everything queued are renumbered in a new epoch
   * (PW-IDEM-001) once every batch still in doubt is resolved.
   */
  failed(ps: PartitionState, batch: Batch, error: PolywireError): void {
    const { ctx, settings } = this.#scope;
    const retry = settings.retry;
    ps.inFlight.delete(batch);
    batch.lastError = error;
    if (this.#scope.failure !== undefined) {
      this.#delivery.reject(batch, this.#limits.recordError(ps.topic, ps.partition, batch, error));
      return;
    }
    const code = error.code;
    if (code === "UNKNOWN_TOPIC" || code === "UNKNOWN_PARTITION") ctx.metadata.invalidate(ps.topic);
    if (code === "BATCH_TOO_LARGE" && error.limit !== undefined) this.#limits.learn(ps.topic, Number(error.limit));
    if (!this.#enabled) {
      this.#delivery.reject(batch, this.#limits.recordError(ps.topic, ps.partition, batch, error));
    } else if (code === "PRODUCER_FENCED") {
      // Another producer took over this id (PW-IDEM-001): nothing more can be sent as it.
      this.#delivery.reject(batch, error);
      this.#scope.fatal(error);
      return;
    } else if (ps.gapOrdinal !== undefined && batch.ordinal > ps.gapOrdinal) {
      this.#requeue(ps, batch, true);
    } else if (code === "OUT_OF_ORDER_SEQUENCE" && this.#unresolvedBefore(ps, batch) && batch.attempts < retry.maxAttempts) {
      // A predecessor is still in doubt: once it is stored, these same bytes are next in sequence.
      this.#requeue(ps, batch, false);
    } else if (code === "OUT_OF_ORDER_SEQUENCE" || code === "UNKNOWN_PRODUCER") {
      // Not stored (PW-IDEM-004, PW-IDEM-005), but our sequence state no longer matches the broker's.
      this.#requeue(ps, batch, true);
      this.#startReset(code === "UNKNOWN_PRODUCER");
    } else if (retry.shouldRetry(error, batch.attempts)) {
      this.#requeue(ps, batch, false);
    } else if (error.retriable) {
      // Retries are over and the batch may or may not be stored: report it failed, renumber what follows.
      this.#delivery.reject(batch, error);
      this.#startReset(false);
    } else if (code === "BATCH_TOO_LARGE" && batch.records.length > 1 && error.limit !== undefined) {
      // Too large for the topic's max.message.bytes (PW-ADMIN-021): split it and renumber.
      this.#markGap(ps, batch.ordinal);
      this.#split(ps, batch);
      this.#startReset(false);
    } else {
      // Rejected: nothing of it was stored (PW-LOG-001).
      this.#delivery.reject(batch, this.#limits.recordError(ps.topic, ps.partition, batch, error));
      this.#markGap(ps, batch.ordinal);
      this.#startReset(false);
    }
    this.settled(ps);
  }

  /**
   * A batch of the partition was answered: once nothing is in flight, the
   * batches put aside go back into the queue in ordinal order (after the
   * longest backoff they ask for), then the partition sends again.
   */
  settled(ps: PartitionState): void {
    if (ps.recovering && ps.inFlight.size === 0 && ps.backoff === undefined) {
      const resent = ps.retries.filter((b) => b.sent);
      let delay = 0;
      for (const b of resent) delay = Math.max(delay, this.#scope.settings.retry.delay(b.attempts, b.lastError));
      ps.queue = [...ps.retries, ...ps.queue].sort((a, b) => a.ordinal - b.ordinal);
      ps.retries = [];
      if (delay > 0) {
        ps.backoff = setTimeout(() => {
          ps.backoff = undefined;
          ps.recovering = false;
          this.#driver.drive(ps);
          this.#maybeReset();
        }, delay);
      } else {
        ps.recovering = false;
      }
    }
    this.#driver.drive(ps);
    this.#maybeReset();
  }

  /** True when a batch of the partition sent before `batch` is still in flight or waiting to be resent. */
  #unresolvedBefore(ps: PartitionState, batch: Batch): boolean {
    for (const b of ps.inFlight) if (b.ordinal < batch.ordinal) return true;
    return ps.retries.some((b) => b.sent && b.ordinal < batch.ordinal);
  }

  /** Puts `batch` aside to go again (as the same bytes, or renumbered when `fresh`) once nothing is in flight. */
  #requeue(ps: PartitionState, batch: Batch, fresh: boolean): void {
    if (fresh) batch.fresh();
    ps.retries.push(batch);
    ps.recovering = true;
  }

  #markGap(ps: PartitionState, ordinal: number): void {
    ps.gapOrdinal = ps.gapOrdinal === undefined ? ordinal : Math.min(ps.gapOrdinal, ordinal);
    const gap = ps.gapOrdinal;
    for (const b of ps.retries) if (b.sent && b.ordinal > gap) b.fresh();
  }

  #split(ps: PartitionState, batch: Batch): void {
    const limit = this.#limits.batchLimit(ps.topic, ps.partition);
    const groups: Pending[][] = [[]];
    let bytes = BATCH_HEADER_SIZE;
    for (const p of batch.records) {
      const current = groups[groups.length - 1] as Pending[];
      if (current.length > 0 && bytes + p.record.size > limit) {
        groups.push([p]);
        bytes = BATCH_HEADER_SIZE + p.record.size;
      } else {
        current.push(p);
        bytes += p.record.size;
      }
    }
    if (groups.length === 1) {
      // The size bound says it fits, the broker says it does not: halve it.
      const all = groups[0] as Pending[];
      groups.splice(0, 1, all.slice(0, all.length >> 1), all.slice(all.length >> 1));
    }
    // The parts take ordinals within the original's width, so they keep its place in the partition's order.
    const width = batch.width / groups.length;
    groups.forEach((records, i) => {
      const part = new Batch(batch.ordinal + i * width, width);
      for (const p of records) {
        part.records.push(p);
        part.bytes += p.record.size;
      }
      ps.retries.push(part);
    });
    ps.recovering = true;
    // The old batch's records now belong to the parts; flush() waits on those.
    batch.finish();
  }

  #startReset(newId: boolean): void {
    this.#resetting = true;
    this.#resetNewId ||= newId;
  }

  /** Starts a new epoch once no batch of the old one is in doubt anywhere; sequences restart at 0 (PW-IDEM-002). */
  #maybeReset(): void {
    if (!this.#resetting || this.#resetRunning || this.#scope.failure !== undefined) return;
    for (const ps of this.#accumulator.states()) {
      if (ps.inFlight.size > 0 || ps.queue.some((b) => b.sent) || ps.retries.some((b) => b.sent)) return;
    }
    this.#resetRunning = true;
    const { ctx, stop } = this.#scope;
    const current = this.#identity;
    const init = (producerId: bigint, producerEpoch: number) => ctx.request(FrameKind.INIT_PRODUCER_REQUEST, { producerId, producerEpoch }, { signal: stop });
    const bump = this.#resetNewId || current === undefined || current.producerEpoch >= MAX_EPOCH ? init(-1n, -1) : init(current.producerId, current.producerEpoch).catch((error: unknown) => {
      // PW-IDEM-008: the broker forgot the id; start over with a new one.
      if (PolywireError.from(error).code === "UNKNOWN_PRODUCER") return init(-1n, -1);
      throw error;
    });
    bump.then(({ message }) => {
      throwIfError(message, { what: "InitProducer failed" });
      this.#identity = { producerId: message.producerId, producerEpoch: message.producerEpoch };
      for (const ps of this.#accumulator.states()) {
        ps.nextSequence = 0;
        ps.gapOrdinal = undefined;
        for (const b of ps.queue) b.fresh();
      }
      this.#resetting = false;
      this.#resetNewId = false;
    }).catch((error: unknown) => this.#scope.fatal(PolywireError.from(error))).finally(() => {
      this.#resetRunning = false;
      this.#driver.driveAll();
    });
  }
}
