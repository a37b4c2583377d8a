import { Acks as WireAcks } from "@polywire/proto/log";
import { BATCH_HEADER_SIZE, COMPRESSIONS, type Compression, type EncodeBatchOptions } from "@polywire/wasm-codec";
import { PolywireError } from "@polywire/core";
import { RetryPolicy, type RetryOptions } from "../retry.js";
import type { DeliveryReport } from "./reports.js";

/**
 * How much durability a send waits for: "none" (fire and forget, the
 * broker does not answer, PW-LOG-004), "leader" (appended and visible,
 * PW-LOG-005), "all" (durable: fsynced on a single node, PW-LOG-006).
 */
export type Acks = "none" | "leader" | "all";

/** Options of `client.producer()`. Every field is optional. */
export interface ProducerOptions {
  /** Durability to wait for. Default "all", as Kafka 3.x producers. */
  acks?: Acks;
  /**
   * Idempotent produce (§7.5): sequence numbers per partition, so that
   * retries never store a record twice. Default true, except with acks
   * "none" (no answer to retry on), where it is off; asking for it
   * explicitly with acks "none" is INVALID_ARGUMENT. When the broker does
   * not grant FEATURE_IDEMPOTENCE the default falls back to plain produce,
   * an explicit true fails the sends with FEATURE_NOT_NEGOTIATED.
   */
  idempotent?: boolean;
  /** A partition's batch is sent once its records reach this many bytes. Default 65 536 (64 KiB). */
  batchBytes?: number;
  /**
   * How long a batch waits for more records before it is sent, in ms.
   * Default 5: a few ms of latency buys much larger batches (Kafka 4.0's
   * default too); 0 sends at the end of the current event-loop turn.
   */
  lingerMs?: number;
  /** Batch compression codec (PW-COMP-001..004). Default "none". */
  compression?: Compression;
  /** Codec level; default the codec's own. */
  compressionLevel?: number;
  /** Records sections smaller than this are sent uncompressed (PW-COMP-007). Default 1024. */
  minCompressSize?: number;
  /**
   * The largest record batch the producer sends, in bytes as encoded
   * uncompressed; a record that does not fit alone fails with
   * RECORD_TOO_LARGE before anything is sent. The broker's
   * `max_batch_size` caps it too. Default 1 048 588, the topic default of
   * `max.message.bytes`.
   */
  maxMessageBytes?: number;
  /**
   * Bytes of records accepted but not yet acknowledged (and, while
   * `reports()` loops run, not yet reported). At the limit `send` waits
   * for room instead of buffering more. Default 33 554 432 (32 MiB).
   */
  maxBufferedBytes?: number;
  /**
   * Produce requests in flight per partition. Default 5; an idempotent
   * producer never exceeds the broker's `idempotence_window` (PW-IDEM-007).
   */
  maxInFlightPerPartition?: number;
  /** How long the broker may take to reach the durability asked for (ProduceRequest.timeout_ms), in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Retry policy for failed batches; default the client's. */
  retry?: RetryOptions;
  /** Called once per record with its outcome, in addition to `send`'s promise. */
  onDelivery?: (report: DeliveryReport) => void;
}

/** {@link ProducerOptions} checked, with every default filled in. */
export interface ProducerSettings {
  readonly acks: Acks;
  readonly wireAcks: WireAcks;
  /** Whether to start idempotent; the broker may still lack the feature. */
  readonly idempotent: boolean;
  /** Idempotence was asked for, not defaulted: without the feature, sends fail instead of falling back. */
  readonly explicitIdempotence: boolean;
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly maxMessageBytes: number;
  readonly maxBuffered: number;
  readonly maxInFlight: number;
  readonly requestTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly encodeOptions: EncodeBatchOptions;
  readonly onDelivery: ((report: DeliveryReport) => void) | undefined;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new PolywireError("INVALID_ARGUMENT", `${name} must be an integer of at least ${min}, got ${String(value)}`);
  return value;
}

/**
 * Checks `options` (INVALID_ARGUMENT naming the first bad one) and fills in
 * the defaults; `clientRetry` is the policy used when the producer has none.
 */
export function producerSettings(options: ProducerOptions, clientRetry: RetryPolicy): ProducerSettings {
  const acks = options.acks ?? "all";
  if (acks !== "none" && acks !== "leader" && acks !== "all") {
    throw new PolywireError("INVALID_ARGUMENT", `acks must be "none", "leader" or "all", got ${JSON.stringify(acks)}`);
  }
  if (options.idempotent === true && acks === "none") {
    throw new PolywireError("INVALID_ARGUMENT", "an idempotent producer needs acks \"leader\" or \"all\": with acks \"none\" there is no answer to retry on");
  }
  const compression = options.compression ?? "none";
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new PolywireError("INVALID_ARGUMENT", `compression must be one of ${COMPRESSIONS.join(", ")}, got ${JSON.stringify(compression)}`);
  }
  const batchBytes = positiveInteger("batchBytes", options.batchBytes, 65_536);
  const lingerMs = positiveInteger("lingerMs", options.lingerMs, 5, 0);
  const maxMessageBytes = positiveInteger("maxMessageBytes", options.maxMessageBytes, 1_048_588, BATCH_HEADER_SIZE + 8);
  const maxBuffered = positiveInteger("maxBufferedBytes", options.maxBufferedBytes, 32 * 1024 * 1024);
  if (maxBuffered < maxMessageBytes && options.maxBufferedBytes !== undefined && options.maxMessageBytes !== undefined) {
    throw new PolywireError("INVALID_ARGUMENT", "maxBufferedBytes must be at least maxMessageBytes");
  }
  const maxInFlight = positiveInteger("maxInFlightPerPartition", options.maxInFlightPerPartition, 5);
  const requestTimeoutMs = positiveInteger("requestTimeoutMs", options.requestTimeoutMs, 30_000);
  const retry = options.retry === undefined ? clientRetry : new RetryPolicy(options.retry);
  return {
    acks,
    wireAcks: acks === "none" ? WireAcks.NONE : acks === "leader" ? WireAcks.LEADER : WireAcks.ALL,
    idempotent: options.idempotent ?? acks !== "none",
    explicitIdempotence: options.idempotent === true,
    batchBytes,
    lingerMs,
    maxMessageBytes,
    maxBuffered,
    maxInFlight,
    requestTimeoutMs,
    retry,
    onDelivery: options.onDelivery,
    encodeOptions: {
      compression,
      ...(options.compressionLevel === undefined ? {} : { level: options.compressionLevel }),
      ...(options.minCompressSize === undefined ? {} : { minCompressSize: positiveInteger("minCompressSize", options.minCompressSize, 1024, 0) }),
    },
  };
}
