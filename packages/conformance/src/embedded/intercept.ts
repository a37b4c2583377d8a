import type { BrokerPartitionLog, BrokerStorage } from "./implementation.js";

/** Methods of a partition log a wrapper may replace; the rest are forwarded. */
export type LogOverrides = Partial<Pick<BrokerPartitionLog, "append" | "read" | "highWatermark" | "logStartOffset" | "offsetForTimestamp" | "waitForData">>;

/** A partition log that forwards to `log`, except for `overrides`. */
export function delegateLog(log: BrokerPartitionLog, overrides: LogOverrides): BrokerPartitionLog {
  return {
    topic: log.topic,
    partition: log.partition,
    append: overrides.append ?? ((batch, header, options) => log.append(batch, header, options)),
    read: overrides.read ?? ((offset, maxBytes) => log.read(offset, maxBytes)),
    logStartOffset: overrides.logStartOffset ?? (() => log.logStartOffset()),
    highWatermark: overrides.highWatermark ?? (() => log.highWatermark()),
    offsetForTimestamp: overrides.offsetForTimestamp ?? ((ts) => log.offsetForTimestamp(ts)),
    waitForData: overrides.waitForData ?? ((offset, signal) => log.waitForData(offset, signal)),
    sync: () => log.sync(),
    stats: () => log.stats(),
  };
}

/**
 * Makes every partition handle `storage` hands out go through `wrap`, once
 * per handle. The broker and its admin services reach partitions only
 * through `storage.partition`, so this changes what they see without
 * touching their code: the embedded target uses it to slow storage down,
 * mutants to break it.
 */
export function interceptPartitions(storage: BrokerStorage, wrap: (log: BrokerPartitionLog) => BrokerPartitionLog): void {
  const original = storage.partition.bind(storage);
  const wrapped = new WeakMap<BrokerPartitionLog, BrokerPartitionLog>();
  Object.defineProperty(storage, "partition", {
    configurable: true,
    value: (topic: string, partition: number): BrokerPartitionLog => {
      const log = original(topic, partition);
      let wrapper = wrapped.get(log);
      if (wrapper === undefined) {
        wrapper = wrap(log);
        wrapped.set(log, wrapper);
      }
      return wrapper;
    },
  });
}
