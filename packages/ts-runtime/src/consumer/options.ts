import { PolywireError } from "@polywire/core";
import type { Jsonified } from "../json.js";
import type { ConsumedRecord } from "../record.js";
import { RetryPolicy, type RetryOptions } from "../retry.js";

/**
 * Where a partition starts (or `seek` moves it): the log start, the high
 * watermark, an offset, or the first record at or after a time
 * (PW-LOG-020, PW-LOG-021; a time no record is that recent for means the
 * high watermark).
 */
export type StartPosition = "earliest" | "latest" | { readonly offset: bigint | number } | { readonly timestamp: number | Date };

/** A partition of a topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A partition to assign, with an optional start position. */
export interface PartitionAssignment extends TopicPartition {
  /** Where to start; default per `autoOffsetReset`. */
  readonly from?: StartPosition;
}

/** Options of `client.consumer()`. Every field is optional. */
export interface ConsumerOptions {
  /**
   * Where to go when a partition has no start position or its position is
   * out of range (OFFSET_OUT_OF_RANGE, PW-LOG-015): "earliest", "latest",
   * or "none" to surface the error from the iterator (the partition then
   * stops until `seek`). Default "latest", as Kafka.
   */
  autoOffsetReset?: "earliest" | "latest" | "none";
  /** Long-poll wait of a fetch when no data is there (PW-LOG-014), in ms. Default 500. */
  maxWaitMs?: number;
  /** Bytes a fetch waits for before it answers. Default 1. */
  minBytes?: number;
  /** Most bytes per fetch response; the broker caps it to frame sizes. Default 8 MiB. */
  maxBytes?: number;
  /** Most bytes per partition per fetch. Default 1 MiB (Kafka's `max.partition.fetch.bytes`). */
  partitionMaxBytes?: number;
  /**
   * Bound of prefetched, not yet consumed batch bytes. Fetching stops at it,
   * so a slow loop never makes the consumer buffer more than this plus one
   * batch (a fetch always returns at least one whole batch, PW-LOG-013).
   * Default 16 MiB.
   */
  maxBufferedBytes?: number;
  /** Time a fetch may take beyond `maxWaitMs` before it fails with TIMEOUT, in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Retry policy for failed fetches and offset lookups; default the client's. */
  retry?: RetryOptions;
}

/** The records of one fetched batch that the consumer hands out together. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  /** The records, in offset order, starting at the consumer's position. */
  readonly records: readonly ConsumedRecord[];
  /** The partition's high watermark when the batch was fetched. */
  readonly highWatermark: bigint;
  /** The same fields, records and high watermark in their JSON form, so that `JSON.stringify` works. */
  toJSON(): Jsonified<ConsumedBatch>;
}

/** {@link ConsumerOptions} checked, with every default filled in. */
export interface ConsumerSettings {
  readonly reset: "earliest" | "latest" | "none";
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly partitionMaxBytes: number;
  readonly maxBuffered: number;
  readonly requestTimeoutMs: number;
  readonly retry: RetryPolicy;
}

// The fetch fields are uint32 on the wire.
function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > 0xffff_ffff) {
    throw new PolywireError("INVALID_ARGUMENT", `${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/** Checks `options` (INVALID_ARGUMENT naming the first bad one) and fills in the defaults. */
export function consumerSettings(options: ConsumerOptions, clientRetry: RetryPolicy): ConsumerSettings {
  const reset = options.autoOffsetReset ?? "latest";
  if (reset !== "earliest" && reset !== "latest" && reset !== "none") {
    throw new PolywireError("INVALID_ARGUMENT", `autoOffsetReset must be "earliest", "latest" or "none", got ${JSON.stringify(reset)}`);
  }
  return {
    reset,
    maxWaitMs: positiveInteger("maxWaitMs", options.maxWaitMs, 500, 0),
    minBytes: positiveInteger("minBytes", options.minBytes, 1),
    maxBytes: positiveInteger("maxBytes", options.maxBytes, 8 * 1024 * 1024),
    partitionMaxBytes: positiveInteger("partitionMaxBytes", options.partitionMaxBytes, 1024 * 1024),
    maxBuffered: positiveInteger("maxBufferedBytes", options.maxBufferedBytes, 16 * 1024 * 1024),
    requestTimeoutMs: positiveInteger("requestTimeoutMs", options.requestTimeoutMs, 30_000),
    retry: options.retry === undefined ? clientRetry : new RetryPolicy(options.retry),
  };
}

export function checkPosition(position: StartPosition): void {
  if (position === "earliest" || position === "latest") return;
  if (typeof position === "object" && position !== null) {
    if ("offset" in position) {
      const o = position.offset;
      if ((typeof o === "bigint" && o >= 0n) || (typeof o === "number" && Number.isSafeInteger(o) && o >= 0)) return;
    } else if ("timestamp" in position) {
      const t = position.timestamp instanceof Date ? position.timestamp.getTime() : position.timestamp;
      if (Number.isSafeInteger(t)) return;
    }
  }
  throw new PolywireError("INVALID_ARGUMENT", `a start position is "earliest", "latest", { offset } (non-negative) or { timestamp }, got ${JSON.stringify(position, (_, v: unknown) => typeof v === "bigint" ? `${v}n` : v)}`);
}

export function checkPartition(tp: TopicPartition): void {
  if (typeof tp !== "object" || tp === null || typeof tp.topic !== "string" || tp.topic === "") {
    throw new PolywireError("INVALID_ARGUMENT", "a topic partition needs a non-empty topic");
  }
  if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition > 0xffff_ffff) {
    throw new PolywireError("INVALID_ARGUMENT", `partition must be a non-negative 32-bit integer, got ${String(tp.partition)}`);
  }
}
