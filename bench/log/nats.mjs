// NATS through the npm `nats` client: core pub/sub (fire and forget, a
// subscriber on its own connection counts arrivals), JetStream async
// publish with a bounded window of pending acks, the JetStream ordered
// consumer, and JetStream publishes awaited one at a time.
import { connect, consumerOpts, RetentionPolicy, StorageType } from "nats";
import { latency, pump } from "./measure.mjs";

/** Fails if `promise` is not settled within `ms` (a lost message would otherwise hang the run). */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class NatsTarget {
  #pub;
  #sub;
  #js;
  #jsm;
  #streams = new Set();

  constructor(url) {
    this.url = url;
  }

  async open() {
    this.#pub = await connect({ servers: this.url, name: "log-bench-pub" });
    this.#sub = await connect({ servers: this.url, name: "log-bench-sub" });
    this.#jsm = await this.#pub.jetstreamManager();
    this.#js = this.#pub.jetstream();
  }

  async close() {
    for (const name of this.#streams) await this.#jsm.streams.delete(name);
    await this.#pub?.close();
    await this.#sub?.close();
  }

  /** A file-backed stream (JetStream's durable default, as Polywire's disk log) capturing `subject`. */
  async stream(name, subject) {
    await this.#jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, retention: RetentionPolicy.Limits });
    this.#streams.add(name);
  }

  async purge(name) {
    await this.#jsm.streams.purge(name);
  }

  async messages(name) {
    return (await this.#jsm.streams.info(name)).state.messages;
  }

  /** Core pub/sub: published records/s counted as they reach the subscriber. */
  async pubsub({ subject, value, durationMs, windowRecords }) {
    let received = 0;
    let bytes = 0;
    const waiters = [];
    const subscription = this.#sub.subscribe(subject, {
      callback: (error, msg) => {
        if (error) throw error;
        received++;
        bytes += msg.data.byteLength;
        while (waiters.length > 0 && waiters[0].target <= received) waiters.shift().resolve();
      },
    });
    // The subscription is registered on the server before the first publish.
    await this.#sub.flush();
    let published = 0;
    try {
      const result = await pump({
        durationMs,
        windowRecords,
        sliceRecords: 1024,
        slice: (n) => {
          for (let i = 0; i < n; i++) this.#pub.publish(subject, value);
          published += n;
          return within(new Promise((resolve) => waiters.push({ target: published, resolve })), 30_000, "core NATS delivery");
        },
      });
      if (received !== result.records || bytes !== result.records * value.byteLength) {
        throw new Error(`core NATS: ${received} messages received of ${result.records}`);
      }
      return result;
    } finally {
      subscription.unsubscribe();
    }
  }

  /** JetStream async publish: records/s acknowledged (PubAck), at most `windowRecords` pending. */
  async publish({ stream, subject, value, durationMs, windowRecords }) {
    const before = await this.messages(stream);
    const result = await pump({
      durationMs,
      windowRecords,
      sliceRecords: Math.min(256, windowRecords),
      slice: (n) => {
        const acks = [];
        for (let i = 0; i < n; i++) acks.push(this.#js.publish(subject, value));
        return Promise.all(acks);
      },
    });
    const stored = (await this.messages(stream)) - before;
    if (stored !== result.records) throw new Error(`JetStream: ${result.records} publishes acknowledged, ${stored} stored`);
    return result;
  }

  /** Stores `records` messages of `value` in `stream` (untimed setup for consume runs). */
  async fill({ stream, subject, value, records }) {
    const pending = [];
    for (let sent = 0; sent < records; sent += 256) {
      const acks = [];
      for (let i = 0; i < Math.min(256, records - sent); i++) acks.push(this.#js.publish(subject, value));
      pending.push(Promise.all(acks));
      if (pending.length >= 16) await pending.shift();
    }
    await Promise.all(pending);
    const stored = await this.messages(stream);
    if (stored !== records) throw new Error(`JetStream: ${stored} messages stored of ${records}`);
  }

  /**
   * Ordered consumer throughput: passes over the `records` messages of
   * `subject` from the start, each with a new ordered consumer, until
   * `durationMs` passed. The push ordered consumer (js.subscribe with
   * orderedConsumer()): measured faster here than the pull-based one of
   * js.consumers.get() at max_messages 100, 1000 and 5000.
   */
  async consume({ subject, records, durationMs }) {
    let total = 0;
    let bytes = 0;
    const started = performance.now();
    do {
      const options = consumerOpts();
      options.orderedConsumer();
      options.deliverAll();
      const subscription = await this.#js.subscribe(subject, options);
      let seen = 0;
      for await (const m of subscription) {
        bytes += m.data.byteLength;
        if (++seen === records) break;
      }
      subscription.unsubscribe();
      if (seen !== records) throw new Error(`JetStream: read ${seen} messages of ${records}`);
      total += seen;
    } while (performance.now() - started < durationMs);
    const seconds = (performance.now() - started) / 1000;
    return { records: total, bytes, seconds, rate: total / seconds };
  }

  /** JetStream publish awaited one at a time (PubAck round trips). */
  async latency({ subject, value, durationMs }) {
    await this.#js.publish(subject, value);
    return latency({ durationMs, once: () => this.#js.publish(subject, value) });
  }
}
