// Redis Streams through ioredis: pipelined XADD, XREAD COUNT batches, and
// XADD awaited one at a time.
import { Redis } from "ioredis";
import { latency, pump } from "./measure.mjs";

export class RedisTarget {
  #redis;

  constructor(port) {
    this.port = port;
  }

  async open() {
    this.#redis = new Redis({ host: "127.0.0.1", port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await this.#redis.connect();
  }

  async close() {
    await this.#redis?.quit();
  }

  async drop(key) {
    await this.#redis.del(key);
  }

  async length(key) {
    return this.#redis.xlen(key);
  }

  /** XADD pipelines of `sliceRecords` commands, at most `windowRecords` unanswered. */
  async produce({ key, value, durationMs, windowRecords, sliceRecords = 1024 }) {
    const result = await pump({
      durationMs,
      windowRecords,
      sliceRecords,
      slice: async (n) => {
        const pipeline = this.#redis.pipeline();
        for (let i = 0; i < n; i++) pipeline.xadd(key, "*", "v", value);
        const answers = await pipeline.exec();
        const failed = answers.find(([error]) => error !== null);
        if (failed !== undefined) throw failed[0];
      },
    });
    const stored = await this.length(key);
    if (stored !== result.records) throw new Error(`Redis: ${result.records} XADDs answered, ${stored} entries stored`);
    return result;
  }

  /** Stores `records` entries of `value` under `key` (untimed setup for consume runs). */
  async fill({ key, value, records }) {
    for (let sent = 0; sent < records; sent += 1024) {
      const pipeline = this.#redis.pipeline();
      for (let i = 0; i < Math.min(1024, records - sent); i++) pipeline.xadd(key, "*", "v", value);
      await pipeline.exec();
    }
    const stored = await this.length(key);
    if (stored !== records) throw new Error(`Redis: ${stored} entries stored of ${records}`);
  }

  /**
   * XREAD COUNT `count` from the start of the stream to its end, repeated
   * until `durationMs` passed; values read as Buffers.
   */
  async consume({ key, records, durationMs, count }) {
    let total = 0;
    let bytes = 0;
    const started = performance.now();
    do {
      let last = "0-0";
      let seen = 0;
      while (seen < records) {
        const answer = await this.#redis.xreadBuffer("COUNT", count, "STREAMS", key, last);
        if (answer === null) break;
        const entries = answer[0][1];
        for (const [, fields] of entries) bytes += fields[1].byteLength;
        seen += entries.length;
        last = entries[entries.length - 1][0].toString();
      }
      if (seen !== records) throw new Error(`Redis: read ${seen} entries of ${records}`);
      total += seen;
    } while (performance.now() - started < durationMs);
    const seconds = (performance.now() - started) / 1000;
    return { records: total, bytes, seconds, rate: total / seconds };
  }

  /** XADD awaited one at a time. */
  async latency({ key, value, durationMs }) {
    await this.#redis.xadd(key, "*", "v", value);
    return latency({ durationMs, once: () => this.#redis.xadd(key, "*", "v", value) });
  }
}
