import { forEachLimit } from "./concurrency.js";
import { checkConfigKeys, checkPartitionCount, checkTopicName, effectiveConfig, parseSettings, type TopicSettings } from "./config.js";
import { StorageError } from "./errors.js";
import { Mutex } from "./mutex.js";
import type { PartitionEngine } from "./partition-engine.js";
import { PartitionFront } from "./partition-front.js";
import type { ProducerRegistry } from "./producer-registry.js";
import type {
  AlterTopicOptions,
  CreateTopicOptions,
  GroupOffsetLog,
  PartitionLog,
  ProducerIdentity,
  Storage,
  StorageUsage,
  TopicChange,
  TopicInfo,
  TopicListener,
} from "./storage.js";

/** A topic as the catalog holds it. */
export interface CatalogTopic {
  readonly name: string;
  readonly overrides: Readonly<Record<string, string>>;
  readonly config: Readonly<Record<string, string>>;
  readonly settings: TopicSettings;
  readonly partitions: readonly PartitionFront[];
}

/** What an engine persists of a topic: its name, partition count and overrides. */
export interface TopicMeta {
  readonly name: string;
  readonly partitions: number;
  readonly overrides: Readonly<Record<string, string>>;
}

/** Partitions closing at once. */
const CLOSE_CONCURRENCY = 32;

/** A storage failure as STORAGE, naming what failed; a StorageError passes as it is. */
function storageFailure(what: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError("STORAGE", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** Default retention check period. */
const RETENTION_CHECK_MS = 60_000;

/**
 * Rejects a retention check period that is not an integer from 0 (no timer)
 * to 2^31-1 ms, the longest Node timer, before any storage is opened.
 */
export function checkRetentionInterval(ms: number | undefined): void {
  if (ms === undefined) return;
  if (!Number.isInteger(ms) || ms < 0 || ms > 2_147_483_647) throw new StorageError("INVALID_ARGUMENT", `retentionCheckIntervalMs must be an integer from 0 to 2147483647, got ${ms}`);
}

/** Default producer-id expiration period: one day, as Kafka's `producer.id.expiration.ms` (PW-IDEM-011). */
export const PRODUCER_ID_EXPIRATION_MS = 86_400_000;

/**
 * Rejects a producer-id expiration period that is neither -1 (never
 * expire) nor an integer from 1 to 2^53-1 ms, before any storage is opened.
 */
export function checkProducerIdExpiration(ms: number | undefined): void {
  if (ms === undefined || ms === -1) return;
  if (!Number.isSafeInteger(ms) || ms < 1) throw new StorageError("INVALID_ARGUMENT", `producerIdExpirationMs must be -1 (never) or an integer from 1 to 9007199254740991, got ${ms}`);
}

/**
 * Topic bookkeeping shared by both engines: validation, the name → topic
 * map, serialized admin changes, producer ids and their expiry, the
 * retention timer (which also expires idle producer ids). Engines
 * supply partitions and persistence through the abstract hooks; every
 * partition is handed out behind a {@link PartitionFront}, which applies
 * the protocol's append rules the same way over every engine.
 */
export abstract class CatalogStorage implements Storage {
  abstract readonly engine: string;
  abstract readonly directory: string;
  abstract readonly groupOffsets: GroupOffsetLog;

  protected readonly topics = new Map<string, CatalogTopic>();
  #closed = false;
  readonly #admin = new Mutex();
  #retentionTimer: NodeJS.Timeout | null = null;
  #retentionRun: Promise<void> | null = null;
  readonly #producerIdExpirationMs: number;
  readonly #brokerDefaults: Readonly<Record<string, string>>;
  readonly #topicListeners = new Set<TopicListener>();

  protected constructor(
    brokerDefaults: Readonly<Record<string, string>>,
    protected readonly registry: ProducerRegistry,
    producerIdExpirationMs: number = PRODUCER_ID_EXPIRATION_MS,
  ) {
    this.#brokerDefaults = brokerDefaults;
    this.#producerIdExpirationMs = producerIdExpirationMs;
  }

  /** Opens partitions [from, to) of a topic with `settings`. */
  protected abstract openPartitions(name: string, from: number, to: number, settings: TopicSettings): Promise<PartitionEngine[]>;
  /** Durably records a topic's metadata (creation or change). */
  protected abstract saveTopic(meta: TopicMeta, created: boolean): Promise<void>;
  /** Durably removes a topic's data after its partitions were destroyed. */
  protected abstract removeTopic(name: string): Promise<void>;
  /** Engine-specific part of close, after every partition closed. */
  protected abstract closeEngine(partitionsClosedCleanly: boolean): Promise<void>;
  abstract usage(): Promise<StorageUsage>;

  /** Validates a topic's overrides and derives its config and settings. */
  protected resolveTopic(name: string, overrides: Readonly<Record<string, string>>, partitions: readonly PartitionFront[]): CatalogTopic {
    checkConfigKeys(overrides);
    const config = effectiveConfig(this.#brokerDefaults, overrides);
    return { name, overrides: { ...overrides }, config, settings: parseSettings(config), partitions };
  }

  /** The partition handle over an engine's partition: the append rules, with this storage's producer ids. */
  protected front(engine: PartitionEngine, settings: TopicSettings): PartitionFront {
    return new PartitionFront(engine, settings, this.registry.currentEpoch, this.registry.touch);
  }

  /** Starts periodic retention and producer-id expiry; engines call it once open. */
  protected startRetention(intervalMs: number | undefined): void {
    const every = intervalMs ?? RETENTION_CHECK_MS;
    if (every <= 0) return;
    this.#retentionTimer = setInterval(() => {
      if (this.#retentionRun === null) {
        this.#retentionRun = this.#housekeeping().finally(() => {
          this.#retentionRun = null;
        });
      }
    }, every);
    this.#retentionTimer.unref();
  }

  /** One timer round: retention, then producer-id expiry, each failing alone (the next round retries). */
  async #housekeeping(): Promise<void> {
    await this.runRetention().catch(() => undefined);
    await this.expireProducers().catch(() => undefined);
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError("SHUTTING_DOWN", "storage is closed");
  }

  #describe(topic: CatalogTopic): TopicInfo {
    return { name: topic.name, partitions: topic.partitions.length, config: { ...topic.config }, overrides: { ...topic.overrides } };
  }

  onTopicChange(listener: TopicListener): () => void {
    this.#topicListeners.add(listener);
    return () => this.#topicListeners.delete(listener);
  }

  #changed(topic: string, change: TopicChange): void {
    for (const listener of this.#topicListeners) listener(topic, change);
  }

  createTopic(name: string, options: CreateTopicOptions): Promise<TopicInfo> {
    return this.#admin.run(async () => {
      this.#checkOpen();
      checkTopicName(name);
      checkPartitionCount(options.partitions);
      if (this.topics.has(name)) throw new StorageError("TOPIC_ALREADY_EXISTS", `topic ${name} already exists`);
      const overrides = options.config ?? {};
      const draft = this.resolveTopic(name, overrides, []);
      // Saving the metadata is the commit point (PW-ADMIN-011): on any
      // failure nothing is registered and the engine has left nothing.
      const partitions = (await this.openPartitions(name, 0, options.partitions, draft.settings)).map((engine) => this.front(engine, draft.settings));
      try {
        await this.saveTopic({ name, partitions: options.partitions, overrides: draft.overrides }, true);
      } catch (error) {
        for (const partition of partitions) await partition.destroy().catch(() => undefined);
        throw storageFailure(`cannot create topic ${name}`, error);
      }
      const topic = { ...draft, partitions };
      this.topics.set(name, topic);
      this.#changed(name, "created");
      return this.#describe(topic);
    });
  }

  alterTopic(name: string, options: AlterTopicOptions): Promise<TopicInfo> {
    return this.#admin.run(async () => {
      this.#checkOpen();
      const current = this.#lookup(name);
      const overrides: Record<string, string> = { ...current.overrides, ...options.set };
      for (const key of options.reset ?? []) {
        checkConfigKeys({ [key]: "" });
        delete overrides[key];
      }
      const count = options.partitions ?? current.partitions.length;
      if (count < current.partitions.length) {
        throw new StorageError("INVALID_ARGUMENT", `topic ${name} has ${current.partitions.length} partitions; partitions can only grow, not shrink to ${count}`);
      }
      checkPartitionCount(count);
      const draft = this.resolveTopic(name, overrides, current.partitions);
      const added = (await this.openPartitions(name, current.partitions.length, count, draft.settings)).map((engine) => this.front(engine, draft.settings));
      try {
        await this.saveTopic({ name, partitions: count, overrides: draft.overrides }, false);
      } catch (error) {
        for (const partition of added) await partition.destroy().catch(() => undefined);
        throw storageFailure(`cannot change topic ${name}`, error);
      }
      for (const partition of current.partitions) partition.configure(draft.settings);
      const topic = { ...draft, partitions: [...current.partitions, ...added] };
      this.topics.set(name, topic);
      if (added.length > 0) this.#changed(name, "grown");
      return this.#describe(topic);
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.#admin.run(async () => {
      this.#checkOpen();
      const topic = this.#lookup(name);
      this.topics.delete(name);
      for (const partition of topic.partitions) await partition.destroy();
      await this.removeTopic(name);
      this.#changed(name, "deleted");
    });
  }

  listTopics(): TopicInfo[] {
    this.#checkOpen();
    return [...this.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((t) => this.#describe(t));
  }

  topic(name: string): TopicInfo {
    this.#checkOpen();
    return this.#describe(this.#lookup(name));
  }

  #lookup(name: string): CatalogTopic {
    const topic = this.topics.get(name);
    if (topic === undefined) {
      // PW-LOG-040, PW-ERR-006: a malformed name is INVALID_TOPIC on every plane, a missing one UNKNOWN_TOPIC.
      checkTopicName(name);
      throw new StorageError("UNKNOWN_TOPIC", `unknown topic ${JSON.stringify(name)}`);
    }
    return topic;
  }

  partition(topic: string, partition: number): PartitionLog {
    this.#checkOpen();
    const found = this.#lookup(topic).partitions[partition];
    if (found === undefined || !Number.isInteger(partition)) {
      throw new StorageError("UNKNOWN_PARTITION", `topic ${topic} has no partition ${partition}`);
    }
    return found;
  }

  initProducer(producerId: bigint, producerEpoch: number): Promise<ProducerIdentity> {
    if (this.#closed) return Promise.reject(new StorageError("SHUTTING_DOWN", "storage is closed"));
    return this.registry.init(producerId, producerEpoch);
  }

  async expireProducers(nowMs: number = Date.now()): Promise<number> {
    this.#checkOpen();
    if (this.#producerIdExpirationMs < 0) return 0;
    const forgotten = await this.registry.expire(nowMs, this.#producerIdExpirationMs, () => {
      for (const topic of this.topics.values()) {
        for (const partition of topic.partitions) partition.forgetProducers(this.registry.knows);
      }
    });
    return forgotten.length;
  }

  producerCount(): number {
    return this.registry.size;
  }

  async runRetention(nowMs: number = Date.now()): Promise<void> {
    this.#checkOpen();
    for (const topic of [...this.topics.values()]) {
      for (const partition of topic.partitions) await partition.applyRetention(nowMs);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retentionTimer !== null) clearInterval(this.#retentionTimer);
    await this.#admin.run(async () => {
      await this.#retentionRun;
      const failures: unknown[] = [];
      // Several at once, so that partitions' final fsyncs overlap.
      await forEachLimit([...this.topics.values()].flatMap((topic) => topic.partitions), CLOSE_CONCURRENCY, (partition) => partition.close().catch((error: unknown) => void failures.push(error)));
      await this.closeEngine(failures.length === 0);
      if (failures.length > 0) {
        throw new StorageError("STORAGE", `${failures.length} partition(s) failed to close cleanly`, { cause: failures[0] });
      }
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
