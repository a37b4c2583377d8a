import { MIN_MAX_FRAME_SIZE } from "@polywire/core";
import { DEFAULT_MAX_FRAME_SIZE } from "@polywire/wasm-codec";
import { badSetting, integerSetting } from "./config/errors.js";

/**
 * The broker's hard bounds (PW-LIM-001): advertised in `Welcome.limits` and
 * enforced exactly as advertised.
 */
export interface BrokerLimits {
  /** Largest frame accepted, header included; at least 64 KiB (PW-FRAME-020). Default 16 MiB (PW-FRAME-007). */
  readonly maxFrameSize: number;
  /** Largest record batch as sent. Default 8 MiB (PW-LIM-005). */
  readonly maxBatchSize: number;
  /** Largest uncompressed records section. Default 64 MiB. */
  readonly maxUncompressedBatchSize: number;
  /** Batches remembered per producer and partition for deduplication. Default 5. */
  readonly idempotenceWindow: number;
  /** Requests awaiting a response per connection. Default 1024. */
  readonly maxInFlight: number;
  /** Open client connections, counted from accept (PW-LIM-004, PW-TRANS-007). Default 10 000. */
  readonly maxConnections: number;
  /**
   * Bytes of frames not finished reading, across all connections: partial
   * frames and frames read but not yet served (PW-LIM-006). Over it, the
   * connections holding the most are closed with RESOURCE_EXHAUSTED.
   * Default 256 MiB. Not advertised in Welcome.
   */
  readonly maxBufferedInboundBytes: number;
}

/** Defaults of PW-LIM-005, plus the inbound budget of PW-LIM-006. */
export const DEFAULT_LIMITS: BrokerLimits = Object.freeze({
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxBatchSize: 8 * 1024 * 1024,
  maxUncompressedBatchSize: 64 * 1024 * 1024,
  idempotenceWindow: 5,
  maxInFlight: 1024,
  maxConnections: 10_000,
  maxBufferedInboundBytes: 256 * 1024 * 1024,
});

/** Fills defaults and checks every limit; a {@link BrokerConfigError} naming `limits.<key>` otherwise. */
export function resolveLimits(overrides: Partial<BrokerLimits> = {}): BrokerLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, key)) badSetting(`limits.${key}`, `is not a limit; the limits are ${Object.keys(DEFAULT_LIMITS).join(", ")}`);
    integerSetting(`limits.${key}`, value, 1, 0xffff_ffff, "a positive 32-bit integer");
  }
  // PW-FRAME-020: a broker reads frames of at least 64 KiB.
  integerSetting("limits.maxFrameSize", limits.maxFrameSize, MIN_MAX_FRAME_SIZE, 0xffff_ffff, "a number of bytes");
  return limits;
}
