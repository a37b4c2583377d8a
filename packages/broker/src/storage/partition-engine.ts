import type { TopicSettings } from "./config.js";
import type { PartitionLog } from "./storage.js";

/** What a storage engine's partition offers the topic catalog beyond the public {@link PartitionLog}. */
export interface PartitionEngine extends PartitionLog {
  /** Applies changed topic config (fsync policy, segment and retention limits) from now on. */
  configure(settings: TopicSettings): void;
  /** Deletes segments that retention no longer keeps (PW-LOG-033). */
  applyRetention(nowMs: number): Promise<void>;
  /** Drops idempotent-producer state of ids `known` no longer names (PW-IDEM-011). */
  forgetProducers(known: (producerId: bigint) => boolean): void;
  /** Flushes, fsyncs and releases files; the handle then answers SHUTTING_DOWN. */
  close(): Promise<void>;
  /** Stops the partition for topic deletion; the handle then answers UNKNOWN_TOPIC. Files are removed by the caller. */
  destroy(): Promise<void>;
}
