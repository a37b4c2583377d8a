import { randomUUID } from "node:crypto";
import { mkdir, rename, rm, rmdir, statfs } from "node:fs/promises";
import { join, resolve } from "node:path";
import { init } from "@polywire/wasm-codec";
import { CatalogStorage, checkProducerIdExpiration, checkRetentionInterval, type CatalogTopic, type TopicMeta } from "./catalog.js";
import { forEachLimit } from "./concurrency.js";
import { checkConfigKeys, type TopicSettings } from "./config.js";
import { lockDirectory } from "./directory-lock.js";
import { DiskPartition, type DiskPartitionOptions } from "./disk-partition.js";
import { StorageError } from "./errors.js";
import { checkMaxOpenFiles, DEFAULT_MAX_OPEN_FILES, FilePool } from "./file-pool.js";
import { JournalOffsetLog } from "./offset-journal.js";
import { ProducerRegistry, type RegistryState } from "./producer-registry.js";
import { Journal } from "./journal.js";
import type { DiskStorageOptions, Storage, StorageUsage } from "./storage.js";

/** Version of the on-disk layout, kept in `storage.json`. */
const FORMAT = 1;
const DEFAULT_INDEX_INTERVAL = 4096;
const DEFAULT_IDEMPOTENCE_WINDOW = 5;
/**
 * Partitions recovered at once while opening: enough to keep libuv's four
 * I/O threads busy; each holds at most one descriptor at a time.
 */
const LOAD_CONCURRENCY = 16;

/**
 * Opens (creating if needed) the disk engine in `options.directory`.
 * Layout: `storage.json` (format), `lock`, `clean-shutdown` (present only
 * between a clean close and the next open), `producers.json` (the next
 * producer id and every remembered id's epoch and last activity), `group-offsets.log` (committed offsets journal), and
 * `topics/<name>/topic.json` with one directory per partition holding
 * `<base offset>.log|.index|.timeindex` segments and `.snapshot` producer
 * state; a partition's directory appears with its first append. Recovers
 * every written partition before resolving, holding at most
 * `maxOpenFiles` descriptors (plus `OPEN_FILES_MARGIN`) throughout.
 */
export async function openDiskStorage(options: DiskStorageOptions): Promise<Storage> {
  await init();
  return DiskStorage.open(options);
}

class DiskStorage extends CatalogStorage {
  readonly engine = "disk";
  readonly directory: string;
  readonly groupOffsets: JournalOffsetLog;
  readonly #journal: Journal;
  readonly #unlock: () => Promise<void>;
  readonly #options: DiskStorageOptions;
  readonly #pool: FilePool;

  private constructor(
    directory: string,
    groupOffsets: JournalOffsetLog,
    journal: Journal,
    unlock: () => Promise<void>,
    options: DiskStorageOptions,
    registry: ProducerRegistry,
    pool: FilePool,
  ) {
    super(options.topicDefaults ?? {}, registry, options.producerIdExpirationMs);
    this.directory = directory;
    this.groupOffsets = groupOffsets;
    this.#journal = journal;
    this.#unlock = unlock;
    this.#options = options;
    this.#pool = pool;
  }

  get #topicsDirectory(): string {
    return join(this.directory, "topics");
  }

  static async open(options: DiskStorageOptions): Promise<DiskStorage> {
    checkConfigKeys(options.topicDefaults ?? {});
    checkRetentionInterval(options.retentionCheckIntervalMs);
    checkProducerIdExpiration(options.producerIdExpirationMs);
    checkMaxOpenFiles(options.maxOpenFiles);
    const window = options.idempotenceWindow ?? DEFAULT_IDEMPOTENCE_WINDOW;
    const interval = options.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL;
    if (!Number.isInteger(window) || window < 1 || window > 1000) throw new StorageError("INVALID_ARGUMENT", `idempotenceWindow must be 1..1000, got ${window}`);
    if (!Number.isInteger(interval) || interval < 64) throw new StorageError("INVALID_ARGUMENT", `indexIntervalBytes must be an integer of at least 64, got ${interval}`);
    const directory = resolve(options.directory);
    await mkdir(join(directory, "topics"), { recursive: true });
    const unlock = await lockDirectory(directory);
    const pool = new FilePool(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
    let journal: Journal | null = null;
    try {
      const format = await pool.readText(join(directory, "storage.json"));
      if (format === null) {
        await pool.writeFileAtomic(join(directory, "storage.json"), JSON.stringify({ format: FORMAT }));
      } else if ((JSON.parse(format) as { format?: unknown }).format !== FORMAT) {
        throw new StorageError("STORAGE", `data directory ${directory} has layout ${format.trim()}, this broker reads format ${FORMAT}`);
      }
      const marker = join(directory, "clean-shutdown");
      const clean = (await pool.readText(marker)) !== null;
      if (clean) {
        // Gone before anything is written, so a crash from here on is
        // recovered as unclean.
        await rm(marker);
        await pool.syncDirectory(directory);
      }
      const registryText = await pool.readText(join(directory, "producers.json"));
      // After a crash, activity since the registry was last written is
      // unknown, so every remembered id starts a full expiration period
      // again rather than risk forgetting one that was busy (PW-IDEM-011).
      const registryState = registryText === null ? ProducerRegistry.empty() : ProducerRegistry.decode(registryText, Date.now(), !clean);
      const registry = new ProducerRegistry(registryState, (state: RegistryState) => pool.writeFileAtomic(join(directory, "producers.json"), ProducerRegistry.encode(state)));
      const opened = await Journal.open(join(directory, "group-offsets.log"), pool);
      journal = opened.journal;
      const groupOffsets = new JournalOffsetLog(opened.journal, opened.records);
      const storage = new DiskStorage(directory, groupOffsets, opened.journal, unlock, { ...options, idempotenceWindow: window, indexIntervalBytes: interval }, registry, pool);
      await storage.#loadTopics(clean);
      storage.startRetention(options.retentionCheckIntervalMs);
      return storage;
    } catch (error) {
      await journal?.close().catch(() => undefined);
      await unlock();
      throw error;
    }
  }

  /**
   * Reads every topic's metadata and recovers its written partitions, a
   * bounded number at a time; a partition without a directory was never
   * written and opens empty, with no I/O.
   */
  async #loadTopics(clean: boolean): Promise<void> {
    const loads: { topic: string; partition: number; options: DiskPartitionOptions }[] = [];
    const loaded = new Map<string, { draft: CatalogTopic; partitions: DiskPartition[] }>();
    for (const name of (await this.#pool.readdir(this.#topicsDirectory)).sort()) {
      const path = join(this.#topicsDirectory, name);
      if (name.startsWith(".")) {
        // A deletion or creation interrupted by a crash.
        await rm(path, { recursive: true, force: true });
        continue;
      }
      const text = await this.#pool.readText(join(path, "topic.json"));
      if (text === null) {
        // A creation interrupted before its metadata was written (older layouts created in place).
        await rm(path, { recursive: true, force: true });
        continue;
      }
      const meta = JSON.parse(text) as TopicMeta;
      const draft = this.resolveTopic(meta.name, meta.overrides, []);
      const written = new Set<number>();
      for (const entry of await this.#pool.readdir(path)) {
        if (!/^(0|[1-9][0-9]*)$/.test(entry)) continue;
        const partition = Number(entry);
        // A directory past the partition count was never part of the topic.
        if (partition >= meta.partitions) await rm(join(path, entry), { recursive: true, force: true });
        else written.add(partition);
      }
      const partitions: DiskPartition[] = [];
      for (let p = 0; p < meta.partitions; p++) {
        const options = this.#partitionOptions(meta.name, path, p, draft.settings, clean);
        if (written.has(p)) loads.push({ topic: meta.name, partition: p, options });
        else partitions[p] = DiskPartition.empty(options);
      }
      loaded.set(meta.name, { draft, partitions });
    }
    try {
      await forEachLimit(loads, LOAD_CONCURRENCY, async ({ topic, partition, options }) => {
        (loaded.get(topic) as { partitions: DiskPartition[] }).partitions[partition] = await DiskPartition.open(options);
      });
    } catch (error) {
      // Release the descriptors of those that opened.
      for (const { partitions } of loaded.values()) {
        for (const partition of partitions) await partition?.close().catch(() => undefined);
      }
      throw error;
    }
    for (const [name, { draft, partitions }] of loaded) this.topics.set(name, { ...draft, partitions: partitions.map((engine) => this.front(engine, draft.settings)) });
  }

  #partitionOptions(name: string, topicDirectory: string, partition: number, settings: TopicSettings, clean: boolean): DiskPartitionOptions {
    return {
      // Not path.join, whose result is a string of many small pieces: a
      // partition keeps its directory for life.
      directory: `${topicDirectory}/${partition}`,
      topic: name,
      partition,
      settings,
      indexInterval: this.#options.indexIntervalBytes as number,
      idempotenceWindow: this.#options.idempotenceWindow as number,
      clean,
      pool: this.#pool,
    };
  }

  /** New partitions are empty and touch no file until their first append. */
  protected openPartitions(name: string, from: number, to: number, settings: TopicSettings): Promise<DiskPartition[]> {
    const partitions: DiskPartition[] = [];
    const topicDirectory = join(this.#topicsDirectory, name);
    for (let p = from; p < to; p++) partitions.push(DiskPartition.empty(this.#partitionOptions(name, topicDirectory, p, settings, false)));
    return Promise.resolve(partitions);
  }

  /**
   * A new topic is built in a hidden staging directory and renamed into
   * place once its metadata is durable, so it appears whole or not at all;
   * a failure removes what was made without needing a descriptor (the
   * usual failure being that there are none left). A change rewrites
   * `topic.json` atomically.
   */
  protected async saveTopic(meta: TopicMeta, created: boolean): Promise<void> {
    const path = join(this.#topicsDirectory, meta.name);
    if (!created) {
      await this.#pool.writeFileAtomic(join(path, "topic.json"), JSON.stringify(meta));
      return;
    }
    const staging = join(this.#topicsDirectory, `.creating-${randomUUID()}`);
    let placed = false;
    try {
      await mkdir(staging);
      await this.#pool.writeFileAtomic(join(staging, "topic.json"), JSON.stringify(meta));
      await rename(staging, path);
      placed = true;
      await this.#pool.syncDirectory(this.#topicsDirectory);
    } catch (error) {
      // Back under the staging name, which the next open removes should the removal below fail too.
      if (placed) await rename(path, staging).catch(() => undefined);
      for (const file of ["topic.json", "topic.json.tmp"]) await rm(join(staging, file), { force: true }).catch(() => undefined);
      await rmdir(staging).catch(() => undefined);
      throw error;
    }
  }

  protected async removeTopic(name: string): Promise<void> {
    // The doomed name must not grow with the topic name: a 249-character
    // topic plus any prefix would pass the 255-byte file name limit.
    const doomed = join(this.#topicsDirectory, `.deleted-${randomUUID()}`);
    await rename(join(this.#topicsDirectory, name), doomed);
    await this.#pool.syncDirectory(this.#topicsDirectory);
    await rm(doomed, { recursive: true, force: true });
  }

  protected async closeEngine(partitionsClosedCleanly: boolean): Promise<void> {
    try {
      await this.groupOffsets.settle();
      await this.#journal.close();
      // Last activity of appends lives in memory; a clean close keeps it exact.
      await this.registry.flush();
      if (partitionsClosedCleanly) await this.#pool.writeFileAtomic(join(this.directory, "clean-shutdown"), String(Date.now()));
    } finally {
      await this.#unlock();
    }
  }

  async usage(): Promise<StorageUsage> {
    let usedBytes = this.#journal.size;
    for (const topic of this.topics.values()) {
      for (const partition of topic.partitions) usedBytes += partition.stats().sizeBytes;
    }
    const fs = await statfs(this.directory);
    return { usedBytes, freeBytes: fs.bavail * fs.bsize };
  }
}
