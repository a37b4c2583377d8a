// Polywire through @polywire/runtime: the producer (acks=leader, default
// batching, idempotent, no compression), the consumer, and unbatched
// produce-ack round trips. Each measured run writes to a fresh topic made
// through the admin API, and the previous one is deleted, so memory and
// disk stay bounded and no run reads another's data.
import { connect } from "@polywire/runtime";
import { createAdminClient } from "@polywire/runtime/admin";
import { latency, pump } from "./measure.mjs";

let topicCounter = 0;

/** One Polywire endpoint (a broker URL) with its admin port. */
export class PolywireTarget {
  #client;
  #admin;
  #topics = [];
  /** Partition counts of the topics this target made. */
  #partitions = new Map();

  constructor(url, adminUrl) {
    this.url = url;
    this.adminUrl = adminUrl;
  }

  async open() {
    this.#client = await connect(this.url, { clientId: "log-bench" });
    this.#admin = createAdminClient(this.adminUrl);
  }

  async close() {
    await this.dropTopics();
    await this.#client?.close();
    await this.#admin?.close();
  }

  /** A new topic of `partitions` partitions (one by default). */
  async topic(prefix, partitions = 1) {
    const name = `${prefix}-${process.pid}-${++topicCounter}`;
    await this.#admin.createTopic(name, { partitions });
    this.#topics.push(name);
    this.#partitions.set(name, partitions);
    return name;
  }

  /** Deletes the topics this target made. */
  async dropTopics() {
    const topics = this.#topics.splice(0);
    for (const name of topics) {
      await this.#admin.deleteTopic(name);
      this.#partitions.delete(name);
    }
  }

  /** The partitions of a topic this target made, each `{ topic, partition }`. */
  #all(topic) {
    return Array.from({ length: this.#partitions.get(topic) ?? 1 }, (_, partition) => ({ topic, partition }));
  }

  /** How many records the topic holds: the sum of its partitions' log end offsets. */
  async count(topic) {
    const ends = await this.#client.listOffsets(this.#all(topic).map((p) => ({ ...p, query: "latest" })));
    return ends.reduce((sum, end) => sum + Number(end.offset), 0);
  }

  /** A record for `topic`: to partition 0 of a one-partition topic, else left to the sticky partitioner. */
  #record(topic, value) {
    return (this.#partitions.get(topic) ?? 1) === 1 ? { topic, value, partition: 0 } : { topic, value };
  }

  #errors() {
    return Object.values(this.#client.stats().errors ?? {}).reduce((sum, n) => sum + n, 0);
  }

  /**
   * Produce throughput: `send` per record, promises kept, at most
   * `windowRecords` unacknowledged; `acks` "leader" (default) or "all".
   */
  async produce({ topic, value, durationMs, windowRecords, acks = "leader" }) {
    const producer = this.#client.producer({ acks });
    const errorsBefore = this.#errors();
    const record = this.#record(topic, value);
    try {
      const result = await pump({
        durationMs,
        windowRecords,
        sliceRecords: 1024,
        slice: (n) => {
          let last;
          for (let i = 0; i < n; i++) last = producer.send(record);
          return last;
        },
      });
      await producer.flush();
      const stored = await this.count(topic);
      if (stored !== result.records) throw new Error(`${this.url}: ${result.records} records acknowledged, ${stored} stored`);
      if (this.#errors() !== errorsBefore) throw new Error(`${this.url}: the client counted errors: ${JSON.stringify(this.#client.stats().errors)}`);
      return result;
    } finally {
      await producer.close();
    }
  }

  /** Stores `records` records of `value` in a new topic (untimed setup for consume runs). */
  async fill(prefix, value, records, partitions = 1) {
    const topic = await this.topic(prefix, partitions);
    const producer = this.#client.producer({ acks: "leader" });
    const record = this.#record(topic, value);
    const pending = [];
    for (let sent = 0; sent < records; sent += 1024) {
      pending.push(producer.sendBatch(new Array(Math.min(1024, records - sent)).fill(record)));
      if (pending.length >= 32) await pending.shift();
    }
    await Promise.all(pending);
    await producer.close();
    const stored = await this.count(topic);
    if (stored !== records) throw new Error(`${this.url}: ${stored} records stored of ${records}`);
    return topic;
  }

  /**
   * Consume throughput: passes over the `records` records of `topic` from
   * the earliest offset, each with a new consumer, until `durationMs`
   * passed. `batches` reads `consumer.batches()` instead of one record per
   * iteration. Every value's length is read.
   */
  async consume({ topic, records, durationMs, batches = false }) {
    let total = 0;
    let bytes = 0;
    const started = performance.now();
    do {
      const consumer = this.#client.consumer({ autoOffsetReset: "earliest" });
      consumer.assign(this.#all(topic).map((p) => ({ ...p, from: "earliest" })));
      let seen = 0;
      if (batches) {
        for await (const batch of consumer.batches()) {
          for (const r of batch.records) bytes += r.value.byteLength;
          seen += batch.records.length;
          if (seen >= records) break;
        }
      } else {
        for await (const r of consumer) {
          bytes += r.value.byteLength;
          if (++seen === records) break;
        }
      }
      await consumer.close();
      if (seen !== records) throw new Error(`${this.url}: read ${seen} records of ${records}`);
      total += seen;
    } while (performance.now() - started < durationMs);
    const seconds = (performance.now() - started) / 1000;
    return { records: total, bytes, seconds, rate: total / seconds };
  }

  /** Produce-ack round trips: linger 0, one record in flight at a time. */
  async latency({ topic, value, durationMs }) {
    const producer = this.#client.producer({ acks: "leader", lingerMs: 0 });
    const record = { topic, value, partition: 0 };
    try {
      await producer.send(record);
      return await latency({ durationMs, once: () => producer.send(record) });
    } finally {
      await producer.close();
    }
  }
}
