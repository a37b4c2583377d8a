import { init } from "@polywire/wasm-codec";
import { CatalogStorage, checkProducerIdExpiration, checkRetentionInterval } from "./catalog.js";
import { checkConfigKeys, type TopicSettings } from "./config.js";
import { StorageError } from "./errors.js";
import { MemoryPartition } from "./memory-partition.js";
import { MemoryGroupOffsetLog } from "./offset-journal.js";
import type { PartitionEngine } from "./partition-engine.js";
import { ProducerRegistry } from "./producer-registry.js";
import type { Storage, StorageOptions, StorageUsage } from "./storage.js";

const DEFAULT_IDEMPOTENCE_WINDOW = 5;

/**
 * Opens the memory engine: the same behaviour as the disk engine (offsets,
 * segments, retention, idempotence) held in memory, for
 * `memory://` brokers and tests. Nothing survives `close()`.
 */
export async function openMemoryStorage(options: StorageOptions = {}): Promise<Storage> {
  await init();
  checkConfigKeys(options.topicDefaults ?? {});
  const window = options.idempotenceWindow ?? DEFAULT_IDEMPOTENCE_WINDOW;
  if (!Number.isInteger(window) || window < 1 || window > 1000) throw new StorageError("INVALID_ARGUMENT", `idempotenceWindow must be 1..1000, got ${window}`);
  checkRetentionInterval(options.retentionCheckIntervalMs);
  checkProducerIdExpiration(options.producerIdExpirationMs);
  const storage = new MemoryStorage(options.topicDefaults ?? {}, window, options.producerIdExpirationMs);
  storage.start(options.retentionCheckIntervalMs);
  return storage;
}

class MemoryStorage extends CatalogStorage {
  readonly engine = "memory";
  readonly directory = "";
  readonly groupOffsets = new MemoryGroupOffsetLog();

  readonly #window: number;

  constructor(topicDefaults: Readonly<Record<string, string>>, window: number, producerIdExpirationMs: number | undefined) {
    super(topicDefaults, new ProducerRegistry(ProducerRegistry.empty(), () => Promise.resolve()), producerIdExpirationMs);
    this.#window = window;
  }

  start(retentionCheckIntervalMs: number | undefined): void {
    this.startRetention(retentionCheckIntervalMs);
  }

  protected openPartitions(name: string, from: number, to: number, settings: TopicSettings): Promise<PartitionEngine[]> {
    const partitions: PartitionEngine[] = [];
    for (let p = from; p < to; p++) partitions.push(new MemoryPartition(name, p, settings, this.#window));
    return Promise.resolve(partitions);
  }

  protected saveTopic(): Promise<void> {
    return Promise.resolve();
  }

  protected removeTopic(): Promise<void> {
    return Promise.resolve();
  }

  protected closeEngine(): Promise<void> {
    return Promise.resolve();
  }

  usage(): Promise<StorageUsage> {
    let usedBytes = 0;
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions) usedBytes += partition.stats().sizeBytes;
    }
    return Promise.resolve({ usedBytes, freeBytes: 0 });
  }
}
