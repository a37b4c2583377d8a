import { create, toBinary } from "@bufbuild/protobuf";
import { ProduceRequestSchema } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { encodeBatch } from "@polywire/wasm-codec";
import { PolywireError } from "@polywire/core";
import { throwIfError } from "../response-errors.js";
import type { Accumulator } from "./accumulator.js";
import type { Batch, PartitionState } from "./batch.js";
import type { Delivery } from "./delivery.js";
import type { Idempotence } from "./idempotence.js";
import type { Pending } from "./pending.js";
import { StoredRecord } from "./reports.js";
import type { ProducerScope } from "./scope.js";

const SEQUENCE_MODULO = 2 ** 31;

/**
 * Sends sealed batches to their partition's leader, at most
 * `maxInFlightPerPartition` at a time per partition (and never more than
 * the broker's idempotence window when idempotent, PW-IDEM-007), in
 * ordinal order. A batch is encoded once, with its sequence numbers, and
 * resent as the same bytes; an answer goes to delivery (acknowledged) or
 * to the idempotence logic (failed), which decides what happens next.
 */
export class Sender {
  readonly #scope: ProducerScope;
  readonly #accumulator: Accumulator;
  readonly #idempotence: Idempotence;
  readonly #delivery: Delivery;

  constructor(scope: ProducerScope, accumulator: Accumulator, idempotence: Idempotence, delivery: Delivery) {
    this.#scope = scope;
    this.#accumulator = accumulator;
    this.#idempotence = idempotence;
    this.#delivery = delivery;
  }

  /** Sends the partition's queued batches while in-flight slots are free. */
  drive(ps: PartitionState): void {
    const idempotence = this.#idempotence;
    if (this.#scope.failure !== undefined || ps.recovering) return;
    if (idempotence.enabled && idempotence.identity === undefined) {
      idempotence.initIdentity();
      return;
    }
    const max = this.#inFlightLimit(ps);
    while (ps.queue.length > 0 && ps.inFlight.size < max) {
      const batch = ps.queue[0] as Batch;
      // During a sequence reset only batches already sent in the old epoch go out.
      if (idempotence.enabled && idempotence.resetting && !batch.sent) return;
      ps.queue.shift();
      this.#dispatch(ps, batch);
    }
  }

  driveAll(): void {
    for (const ps of this.#accumulator.states()) this.drive(ps);
  }

  #inFlightLimit(ps: PartitionState): number {
    const { ctx, settings } = this.#scope;
    if (!this.#idempotence.enabled) return settings.maxInFlight;
    const window = ctx.limits(ps.topic, ps.partition)?.idempotenceWindow ?? 5;
    return Math.min(settings.maxInFlight, window);
  }

  #dispatch(ps: PartitionState, batch: Batch): void {
    if (batch.encoded === undefined) {
      const identity = this.#idempotence.enabled ? this.#idempotence.identity : undefined;
      const baseSequence = identity === undefined ? -1 : ps.nextSequence;
      const options = this.#scope.settings.encodeOptions;
      try {
        batch.encoded = encodeBatch(batch.records.map((p) => p.record), identity === undefined
          ? options
          : { ...options, producerId: identity.producerId, producerEpoch: identity.producerEpoch, baseSequence });
      } catch (error) {
        this.#delivery.reject(batch, PolywireError.from(error));
        return;
      }
      batch.baseSequence = baseSequence;
      if (identity !== undefined) ps.nextSequence = (ps.nextSequence + batch.records.length) % SEQUENCE_MODULO;
    }
    // Sent again after a failure: a retry, whether as the same bytes or renumbered (UNKNOWN_PRODUCER after a broker restart).
    if (batch.attempts > 0) this.#scope.ctx.stats.retries++;
    batch.sent = true;
    batch.attempts++;
    ps.inFlight.add(batch);
    void this.#produce(ps, batch, batch.encoded);
  }

  #requestBytes(ps: PartitionState): Uint8Array {
    const { settings } = this.#scope;
    ps.requestBytes ??= toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { topic: ps.topic, partition: ps.partition, acks: settings.wireAcks, timeoutMs: settings.requestTimeoutMs }));
    return ps.requestBytes;
  }

  async #produce(ps: PartitionState, batch: Batch, bytes: Uint8Array): Promise<void> {
    const { ctx, settings, stop } = this.#scope;
    try {
      const link = ctx.leaderNow(ps.topic, ps.partition) ?? await ctx.leader(ps.topic, ps.partition, stop);
      const connection = link.ready ?? await link.acquire(stop);
      if (settings.acks === "none") {
        await connection.request(FrameKind.PRODUCE_REQUEST, this.#requestBytes(ps), bytes, { expectResponse: false });
        // Nothing answers: hold the records in the buffer until the transport takes more, so a
        // peer that reads slowly slows `send` down instead of growing the socket's queue.
        await connection.writable();
        this.#acknowledged(ps, batch, -1n);
        return;
      }
      const { message } = await ctx.call(connection, FrameKind.PRODUCE_REQUEST, {
        topic: ps.topic,
        partition: ps.partition,
        acks: settings.wireAcks,
        timeoutMs: settings.requestTimeoutMs,
      }, bytes, { timeoutMs: settings.requestTimeoutMs + 2_000 });
      throwIfError(message);
      this.#acknowledged(ps, batch, message.baseOffset);
    } catch (error) {
      this.#idempotence.failed(ps, batch, PolywireError.from(error));
    }
  }

  #acknowledged(ps: PartitionState, batch: Batch, baseOffset: bigint): void {
    ps.inFlight.delete(batch);
    batch.sent = false;
    const stats = this.#scope.ctx.stats;
    stats.recordsSent += batch.records.length;
    stats.bytesSent += batch.encoded?.byteLength ?? 0;
    stats.batchesSent++;
    // The freed in-flight slot goes to the next batch before this one's
    // records are settled: the broker works on it meanwhile.
    this.#idempotence.settled(ps);
    let offset = baseOffset;
    for (let i = 0; i < batch.records.length; i++) {
      const p = batch.records[i] as Pending;
      this.#delivery.settle(p, new StoredRecord(ps.topic, ps.partition, baseOffset < 0n ? -1n : offset++, p.record.timestamp));
    }
    batch.finish();
  }
}
