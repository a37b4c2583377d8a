import { partitionForKey } from "@polywire/wasm-codec";
import { PolywireError } from "@polywire/core";
import type { TopicInfo } from "../metadata.js";
import type { PreparedRecord } from "../record.js";

/** The partitioner names this client implements (PW-PART-001). */
export const KNOWN_PARTITIONERS: ReadonlySet<string> = new Set(["murmur2"]);

/**
 * Chooses partitions as §6 says: an explicit partition as given
 * (PW-PART-004), a keyed record by the topic's partitioner (murmur2,
 * PW-PART-002), an unkeyed record to the topic's sticky partition, which
 * moves to another partition each time a batch for it is sealed (PW-PART-003).
 */
export class Partitioner {
  #sticky = new Map<string, number>();

  /**
   * The partition for `record` in `topic`. Throws UNKNOWN_PARTITION for an
   * explicit partition the topic does not have, and INVALID_ARGUMENT for a
   * keyed record of a topic whose partitioner this client does not know
   * (PW-COMPAT-008).
   */
  choose(record: PreparedRecord, topic: TopicInfo): number {
    const count = topic.partitions.length;
    if (count === 0) throw new PolywireError("UNKNOWN_PARTITION", `topic ${JSON.stringify(topic.name)} has no partitions`);
    if (record.partition !== undefined) {
      if (record.partition >= count) {
        throw new PolywireError("UNKNOWN_PARTITION", `topic ${JSON.stringify(topic.name)} has ${count} partitions; partition ${record.partition} does not exist (PW-PART-004)`);
      }
      return record.partition;
    }
    if (record.key !== null) {
      if (!KNOWN_PARTITIONERS.has(topic.partitioner)) {
        throw new PolywireError("INVALID_ARGUMENT", `topic ${JSON.stringify(topic.name)} uses partitioner ${JSON.stringify(topic.partitioner)}, which this client does not implement; name the partition explicitly (PW-COMPAT-008)`);
      }
      return partitionForKey(record.key, count);
    }
    let sticky = this.#sticky.get(topic.name);
    if (sticky === undefined || sticky >= count) {
      sticky = Math.floor(Math.random() * count);
      this.#sticky.set(topic.name, sticky);
    }
    return sticky;
  }

  /** A batch for `partition` of `topic` was sealed: if it was the sticky partition, move on to another one. */
  sealed(topic: string, partition: number, count: number): void {
    if (this.#sticky.get(topic) !== partition || count <= 1) return;
    const next = Math.floor(Math.random() * (count - 1));
    this.#sticky.set(topic, next >= partition ? next + 1 : next);
  }
}
