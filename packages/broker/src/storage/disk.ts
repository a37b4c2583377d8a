import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, statfs } from "node:fs/promises";
import { join, resolve } from "node:path";
import { init } from "@polywire/wasm-codec";
import { syncDirectory, writeFileAtomic } from "./atomic-file.js";
import { CatalogStorage, checkProducerIdExpiration, checkRetentionInterval, type TopicMeta } from "./catalog.js";
import { checkConfigKeys, type TopicSettings } from "./config.js";
import { lockDirectory } from "./directory-lock.js";
import { DiskPartition } from "./disk-partition.js";
import { StorageError } from "./errors.js";
import { GroupOffsetStore } from "./offset-store.js";
import type { PartitionEngine } from "./partition-engine.js";
import { ProducerRegistry, type RegistryState } from "./producer-registry.js";
import { RecordLog } from "./record-log.js";
import type { DiskStorageOptions, Storage, StorageUsage } from "./storage.js";

/** Version of the on-disk layout, kept in `storage.json`. */
const FORMAT = 1;
const DEFAULT_INDEX_INTERVAL = 4096;
const DEFAULT_IDEMPOTENCE_WINDOW = 5;

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * Opens (creating if needed) the disk engine in `options.directory`.
 * Layout: `storage.json` (format), `lock`, `clean-shutdown` (present only
 * between a clean close and the next open), `producers.json` (the next
 * producer id and every remembered id's epoch and last activity), `group-offsets.log` (committed offsets journal), and
 * `topics/<name>/topic.json` with one directory per partition holding
 * `<base offset>.log|.index|.timeindex` segments and `.snapshot` producer
 * state. Recovers every partition before resolving.
 */
export async function openDiskStorage(options: DiskStorageOptions): Promise<Storage> {
  await init();
  return DiskStorage.open(options);
}

class DiskStorage extends CatalogStorage {
  readonly engine = "disk";

  private constructor(
    readonly directory: string,
    readonly offsets: GroupOffsetStore,
    private readonly journal: RecordLog,
    private readonly unlock: () => Promise<void>,
    private readonly options: DiskStorageOptions,
    registry: ProducerRegistry,
  ) {
    super(options.topicDefaults ?? {}, registry, options.producerIdExpirationMs);
  }

  private get topicsDirectory(): string {
    return join(this.directory, "topics");
  }

  static async open(options: DiskStorageOptions): Promise<DiskStorage> {
    checkConfigKeys(options.topicDefaults ?? {});
    checkRetentionInterval(options.retentionCheckIntervalMs);
    checkProducerIdExpiration(options.producerIdExpirationMs);
    const window = options.idempotenceWindow ?? DEFAULT_IDEMPOTENCE_WINDOW;
    const interval = options.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL;
    if (!Number.isInteger(window) || window < 1 || window > 1000) throw new StorageError("INVALID_ARGUMENT", `idempotenceWindow must be 1..1000, got ${window}`);
    if (!Number.isInteger(interval) || interval < 64) throw new StorageError("INVALID_ARGUMENT", `indexIntervalBytes must be an integer of at least 64, got ${interval}`);
    const directory = resolve(options.directory);
    await mkdir(join(directory, "topics"), { recursive: true });
    const unlock = await lockDirectory(directory);
    let journal: RecordLog | null = null;
    try {
      const format = await readText(join(directory, "storage.json"));
      if (format === null) {
        await writeFileAtomic(join(directory, "storage.json"), JSON.stringify({ format: FORMAT }));
      } else if ((JSON.parse(format) as { format?: unknown }).format !== FORMAT) {
        throw new StorageError("STORAGE", `data directory ${directory} has layout ${format.trim()}, this broker reads format ${FORMAT}`);
      }
      const marker = join(directory, "clean-shutdown");
      const clean = (await readText(marker)) !== null;
      if (clean) {
        // Gone before anything is written, so a crash from here on is
        // recovered as unclean.
        await rm(marker);
        await syncDirectory(directory);
      }
      const registryText = await readText(join(directory, "producers.json"));
      // After a crash, activity since the registry was last written is
      // unknown, so every remembered id starts a full expiration period
      // again rather than risk forgetting one that was busy (PW-IDEM-011).
      const registryState = registryText === null ? ProducerRegistry.empty() : ProducerRegistry.decode(registryText, Date.now(), !clean);
      const registry = new ProducerRegistry(registryState, (state: RegistryState) => writeFileAtomic(join(directory, "producers.json"), ProducerRegistry.encode(state)));
      const opened = await RecordLog.open(join(directory, "group-offsets.log"));
      journal = opened.log;
      const offsets = GroupOffsetStore.journaled(opened.log, opened.records);
      const storage = new DiskStorage(directory, offsets, opened.log, unlock, { ...options, idempotenceWindow: window, indexIntervalBytes: interval }, registry);
      await storage.loadTopics(clean);
      storage.startRetention(options.retentionCheckIntervalMs);
      return storage;
    } catch (error) {
      await journal?.close().catch(() => undefined);
      await unlock();
      throw error;
    }
  }

  private async loadTopics(clean: boolean): Promise<void> {
    for (const name of (await readdir(this.topicsDirectory)).sort()) {
      const path = join(this.topicsDirectory, name);
      if (name.startsWith(".")) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      const text = await readText(join(path, "topic.json"));
      if (text === null) {
        // A creation interrupted before its metadata was written.
        await rm(path, { recursive: true, force: true });
        continue;
      }
      const meta = JSON.parse(text) as TopicMeta;
      const draft = this.resolveTopic(meta.name, meta.overrides, []);
      const partitions = await this.openPartitionsWith(meta.name, 0, meta.partitions, draft.settings, clean);
      this.topics.set(meta.name, { ...draft, partitions });
    }
  }

  protected openPartitions(name: string, from: number, to: number, settings: TopicSettings): Promise<PartitionEngine[]> {
    return this.openPartitionsWith(name, from, to, settings, false);
  }

  private async openPartitionsWith(name: string, from: number, to: number, settings: TopicSettings, clean: boolean): Promise<PartitionEngine[]> {
    const partitions: PartitionEngine[] = [];
    try {
      for (let p = from; p < to; p++) {
        partitions.push(
          await DiskPartition.open({
            directory: join(this.topicsDirectory, name, String(p)),
            topic: name,
            partition: p,
            settings,
            indexInterval: this.options.indexIntervalBytes as number,
            idempotenceWindow: this.options.idempotenceWindow as number,
            epochs: this.registry.currentEpoch,
            touch: this.registry.touch,
            clean,
          }),
        );
      }
      await syncDirectory(join(this.topicsDirectory, name));
    } catch (error) {
      for (const partition of partitions) await partition.close().catch(() => undefined);
      throw error;
    }
    return partitions;
  }

  protected async saveTopic(meta: TopicMeta, created: boolean): Promise<void> {
    const path = join(this.topicsDirectory, meta.name);
    await mkdir(path, { recursive: true });
    await writeFileAtomic(join(path, "topic.json"), JSON.stringify(meta));
    if (created) await syncDirectory(this.topicsDirectory);
  }

  protected async removeTopic(name: string): Promise<void> {
    // The doomed name must not grow with the topic name: a 249-character
    // topic plus any prefix would pass the 255-byte file name limit.
    const doomed = join(this.topicsDirectory, `.deleted-${randomUUID()}`);
    await rename(join(this.topicsDirectory, name), doomed);
    await syncDirectory(this.topicsDirectory);
    await rm(doomed, { recursive: true, force: true });
  }

  protected async closeEngine(partitionsClosedCleanly: boolean): Promise<void> {
    try {
      await this.offsets.settle();
      await this.journal.close();
      // Last activity of appends lives in memory; a clean close keeps it exact.
      await this.registry.flush();
      if (partitionsClosedCleanly) await writeFileAtomic(join(this.directory, "clean-shutdown"), String(Date.now()));
    } finally {
      await this.unlock();
    }
  }

  async usage(): Promise<StorageUsage> {
    let usedBytes = this.journal.size;
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions) usedBytes += partition.stats().sizeBytes;
    }
    const fs = await statfs(this.directory);
    return { usedBytes, freeBytes: fs.bavail * fs.bsize };
  }
}
