import type { MetadataResponse } from "@polywire/proto/log";
import { PolywireError } from "@polywire/core";
import { result, type Jsonified } from "./json.js";
import { responseError } from "./response-errors.js";
import { raceSignal } from "./signal.js";

/** One partition of a topic as the broker last described it (PW-LOG-023). */
export interface PartitionInfo {
  readonly partition: number;
  /** The `broker_id` of the broker that leads the partition. */
  readonly leaderId: string;
  readonly highWatermark: bigint;
  readonly logStartOffset: bigint;
  /** The same fields with the offsets as decimal strings, so that `JSON.stringify` works. */
  toJSON(): Jsonified<PartitionInfo>;
}

/** A topic as the broker last described it. */
export interface TopicInfo {
  readonly name: string;
  /** The key-to-partition algorithm producers must use (PW-PART-001); v1 defines "murmur2". */
  readonly partitioner: string;
  /** Every partition, in partition order. */
  readonly partitions: readonly PartitionInfo[];
  /** The same fields, partitions in their JSON form, so that `JSON.stringify` works. */
  toJSON(): Jsonified<TopicInfo>;
}

/** A broker of the cluster and the data-plane URLs it can be reached at (PW-LOG-025). */
export interface BrokerInfo {
  readonly brokerId: string;
  readonly urls: readonly string[];
}

interface Entry {
  readonly info: TopicInfo;
  readonly at: number;
}

/**
 * The client's cache of topic metadata: partition counts, leaders and the
 * partitioner, refreshed when older than `maxAgeMs` and on demand after a
 * request failed with UNKNOWN_TOPIC or UNKNOWN_PARTITION. Concurrent
 * lookups of one topic share one MetadataRequest.
 */
export class MetadataCache {
  #topics = new Map<string, Entry>();
  #brokers = new Map<string, BrokerInfo>();
  #lookups = new Map<string, Promise<TopicInfo>>();
  #clusterId = "";

  constructor(
    private readonly fetch: (topics: readonly string[], signal: AbortSignal | undefined) => Promise<MetadataResponse>,
    private readonly maxAgeMs: number,
    /** Told about every per-topic error, for the stats. */
    private readonly onError: (error: PolywireError) => void,
  ) {}

  /** The cluster id from the last response. */
  get clusterId(): string {
    return this.#clusterId;
  }

  /** The topic's metadata if cached and younger than `maxAgeMs`. */
  cached(topic: string): TopicInfo | undefined {
    const entry = this.#topics.get(topic);
    if (entry === undefined || performance.now() - entry.at > this.maxAgeMs) return undefined;
    return entry.info;
  }

  /** A broker described by an earlier response. */
  broker(brokerId: string): BrokerInfo | undefined {
    return this.#brokers.get(brokerId);
  }

  /** The topic's metadata: from the cache when fresh, else from the broker. Rejects with UNKNOWN_TOPIC for a missing topic. */
  topic(name: string, signal?: AbortSignal): Promise<TopicInfo> {
    const cached = this.cached(name);
    if (cached !== undefined) return Promise.resolve(cached);
    return this.lookup(name, signal);
  }

  /**
   * Asks the broker for one topic, sharing a request already under way;
   * `signal` stops this caller's wait, not the shared request.
   */
  lookup(name: string, signal?: AbortSignal): Promise<TopicInfo> {
    let pending = this.#lookups.get(name);
    if (pending === undefined) {
      pending = this.refresh([name]).then((infos) => infos[0] as TopicInfo);
      this.#lookups.set(name, pending);
      const clear = (): void => {
        if (this.#lookups.get(name) === pending) this.#lookups.delete(name);
      };
      pending.then(clear, clear);
    }
    return raceSignal(pending, signal);
  }

  /**
   * Asks the broker for `topics` (every topic when empty) and caches the
   * answer. Rejects with the topic's error (UNKNOWN_TOPIC, ...) when a named
   * topic is missing; the others are still cached.
   */
  async refresh(topics: readonly string[], signal?: AbortSignal): Promise<TopicInfo[]> {
    const response = await this.fetch(topics, signal);
    const at = performance.now();
    this.#clusterId = response.clusterId;
    for (const b of response.brokers) this.#brokers.set(b.brokerId, { brokerId: b.brokerId, urls: [...b.urls] });
    const infos: TopicInfo[] = [];
    let failure: PolywireError | undefined;
    for (const t of response.topics) {
      const error = responseError(t, { what: `topic ${JSON.stringify(t.name)}`, clause: "PW-LOG-022" });
      if (error !== undefined) {
        this.#topics.delete(t.name);
        this.onError(error);
        failure ??= error;
        continue;
      }
      const info: TopicInfo = result({
        name: t.name,
        partitioner: t.partitioner,
        partitions: t.partitions.map((p) => result({ partition: p.partition, leaderId: p.leaderId, highWatermark: p.highWatermark, logStartOffset: p.logStartOffset })),
      });
      this.#topics.set(t.name, { info, at });
      infos.push(info);
    }
    if (failure !== undefined) throw failure;
    const missing = topics.filter((name) => !infos.some((i) => i.name === name));
    if (missing.length > 0) {
      throw new PolywireError("UNKNOWN_TOPIC", `the broker did not describe ${missing.map((m) => JSON.stringify(m)).join(", ")}`);
    }
    return topics.length === 0 ? infos : topics.map((name) => infos.find((i) => i.name === name) as TopicInfo);
  }

  /** Forgets a topic, so that the next lookup asks the broker. */
  invalidate(topic: string): void {
    this.#topics.delete(topic);
  }

  /** Forgets everything: the client now talks to another broker, whose view may differ. */
  clear(): void {
    this.#topics.clear();
    this.#brokers.clear();
  }
}
