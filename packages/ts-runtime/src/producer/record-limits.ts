import { PolywireError } from "@polywire/core";

/** The bounds a producer knows on the size of a batch to one partition. */
export interface BatchLimits {
  readonly topic: string;
  /** The producer's own `maxMessageBytes`. */
  readonly maxMessageBytes: number;
  /** From the broker's Welcome, once connected to the partition's leader. */
  readonly broker?: {
    readonly maxBatchSize: number;
    readonly maxFrameSize: number;
    /** What a produce request leaves for its batch within `maxFrameSize`. */
    readonly frameRoom: number;
  };
  /** The topic's `max.message.bytes`, once a BATCH_TOO_LARGE taught it. */
  readonly topicLimit?: number;
}

function described(limits: BatchLimits): Array<{ bytes: number; what: string }> {
  const { topic, maxMessageBytes, broker, topicLimit } = limits;
  const out = [{
    bytes: maxMessageBytes,
    what: `the producer's maxMessageBytes of ${maxMessageBytes} (raise it with client.producer({ maxMessageBytes }) or polywire produce --max-message-bytes)`,
  }];
  if (broker !== undefined) {
    out.push({
      bytes: broker.maxBatchSize,
      what: `the broker's max_batch_size of ${broker.maxBatchSize} (a broker setting: limits.maxBatchSize in its config file, or polywire broker --max-batch-size)`,
    }, {
      bytes: broker.frameRoom,
      what: `the ${broker.frameRoom} bytes a produce request leaves for its batch within the broker's max_frame_size of ${broker.maxFrameSize} (limits.maxFrameSize, or polywire broker --max-frame-size)`,
    });
  }
  if (topicLimit !== undefined) {
    out.push({
      bytes: topicLimit,
      what: `topic ${JSON.stringify(topic)}'s max.message.bytes of ${topicLimit} (polywire topic alter ${topic} --set max.message.bytes=<bytes>)`,
    });
  }
  return out;
}

/**
 * RECORD_TOO_LARGE for a record of `size` bytes as a batch of one: the
 * message names the size and every limit it exceeds, each with the option,
 * setting or flag that raises it, so one error says all that must change.
 * `limit` is the smallest limit.
 */
export function recordTooLarge(size: number, limits: BatchLimits, cause?: PolywireError): PolywireError {
  const all = described(limits);
  const exceeded = all.filter((l) => size > l.bytes);
  const smallest = Math.min(...all.map((l) => l.bytes));
  const said = cause === undefined ? "" : ` (the broker answered: ${cause.message})`;
  return new PolywireError("RECORD_TOO_LARGE", `a record of ${size} bytes (encoded as a batch of one) exceeds ${exceeded.map((l) => l.what).join("; and ")}${said}`, { limit: smallest, ...(cause === undefined ? {} : { cause }) });
}
