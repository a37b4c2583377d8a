import { BATCH_HEADER_SIZE, frameSize } from "@polywire/wasm-codec";
import type { ClientContext } from "../context.js";
import { PolywireError } from "@polywire/core";
import type { PreparedRecord } from "../record.js";
import type { Batch } from "./batch.js";
import type { Pending } from "./pending.js";
import { recordTooLarge, type BatchLimits } from "./record-limits.js";

const encoder = new TextEncoder();

// A ProduceRequest's bytes besides the topic name, at most.
const PRODUCE_REQUEST_FIXED = 32;

/**
 * How large a batch to one partition may be: the smallest of the
 * producer's `maxMessageBytes`, the leader's `max_batch_size`, what its
 * `max_frame_size` leaves for the batch, and the topic's
 * `max.message.bytes` once a BATCH_TOO_LARGE answer taught it.
 */
export class SizeLimits {
  readonly #ctx: ClientContext;
  readonly #maxMessageBytes: number;
  /** Learned from BATCH_TOO_LARGE answers (PW-ADMIN-021); only ever lowered. */
  readonly #topicLimits = new Map<string, number>();
  /** UTF-8 length of each topic name, for the frame room. */
  readonly #topicBytes = new Map<string, number>();

  constructor(ctx: ClientContext, maxMessageBytes: number) {
    this.#ctx = ctx;
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** The largest batch that may go to a partition: the smallest of {@link #describe}'s bounds, without building them. */
  batchLimit(topic: string, partition: number): number {
    let limit = this.#maxMessageBytes;
    const session = this.#ctx.limits(topic, partition);
    if (session !== undefined) limit = Math.min(limit, session.maxBatchSize, this.#frameRoom(topic, session.maxFrameSize));
    const learned = this.#topicLimits.get(topic);
    return learned === undefined ? limit : Math.min(limit, learned);
  }

  /** RECORD_TOO_LARGE for a record that cannot fit alone in a batch to the partition, naming every bound. */
  tooLarge(record: PreparedRecord, topic: string, partition: number): PolywireError {
    return recordTooLarge(record.aloneBatchSize, this.#describe(topic, partition));
  }

  /** Remembers a topic's `max.message.bytes` that a BATCH_TOO_LARGE answer carried. */
  learn(topic: string, limit: number): void {
    if (!(limit > BATCH_HEADER_SIZE)) return;
    const known = this.#topicLimits.get(topic);
    if (known === undefined || limit < known) this.#topicLimits.set(topic, limit);
  }

  /** The error a batch's records fail with: a batch of one refused as too large is RECORD_TOO_LARGE. */
  recordError(topic: string, partition: number, batch: Batch, error: PolywireError): PolywireError {
    if (error.code !== "BATCH_TOO_LARGE" || batch.records.length !== 1) return error;
    const size = (batch.records[0] as Pending).record.aloneBatchSize;
    // The failure handler has learned the topic's limit from the answer, so the message can name it.
    if (size > this.batchLimit(topic, partition)) return recordTooLarge(size, this.#describe(topic, partition), error);
    return new PolywireError("RECORD_TOO_LARGE", `a record of ${size} bytes (encoded as a batch of one) does not fit in a batch the broker accepts: ${error.message}`, { cause: error, ...(error.limit === undefined ? {} : { limit: error.limit }) });
  }

  /** Every limit on a batch to a partition that the producer knows (for error messages). */
  #describe(topic: string, partition: number): BatchLimits {
    const session = this.#ctx.limits(topic, partition);
    const topicLimit = this.#topicLimits.get(topic);
    const known = { topic, maxMessageBytes: this.#maxMessageBytes, ...(topicLimit === undefined ? {} : { topicLimit }) };
    if (session === undefined) return known;
    const { maxBatchSize, maxFrameSize } = session;
    return { ...known, broker: { maxBatchSize, maxFrameSize, frameRoom: this.#frameRoom(topic, maxFrameSize) } };
  }

  // The frame holds the header, the ProduceRequest message and a possible checksum around the batch.
  #frameRoom(topic: string, maxFrameSize: number): number {
    let topicBytes = this.#topicBytes.get(topic);
    if (topicBytes === undefined) {
      topicBytes = encoder.encode(topic).byteLength;
      this.#topicBytes.set(topic, topicBytes);
    }
    return maxFrameSize - frameSize(PRODUCE_REQUEST_FIXED + topicBytes, 0, true);
  }
}
