import { OffsetSpec } from "@polywire/proto/log";
import { createAdminClient, type AdminClient, type AdminClientOptions } from "./admin.js";
import { resolveAdminUrl } from "./admin-url.js";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import type { CallResult, Connection, ConnectionOptions, RequestOptions } from "./connection.js";
import { Consumer, type ConsumerOptions } from "./consumer.js";
import { PolywireError, errorCodeName, parseTransportUrl } from "@polywire/core";
import { Emitter } from "./events.js";
import { result, type Jsonified } from "./json.js";
import type { Link, LinkState } from "./link.js";
import { MetadataCache, type TopicInfo } from "./metadata.js";
import { ConnectionPool } from "./pool.js";
import { Producer, type ProducerOptions } from "./producer.js";
import { RECONNECT_DEFAULTS, RetryPolicy, type RetryOptions } from "./retry.js";
import type { RpcKind, RpcRequestInit } from "./rpc.js";
import { callSignal, checkTimeout, type CallOptions } from "./signal.js";
import { StatsCollector, type ClientStats } from "./stats.js";

/**
 * The life of a client, following its primary connection: `connecting`,
 * `ready`, `reconnecting` (lost; redialing with backoff), `draining` (the
 * broker announced shutdown; moving to another URL), `closed`.
 */
export type ClientState = LinkState;

/** Events of a {@link Client}. */
export interface ClientEvents {
  [event: string]: (...args: never[]) => void;
  /** The state changed. */
  state: (state: ClientState, previous: ClientState) => void;
  /**
   * The primary connection is down and the client waits `delayMs` before
   * redial number `attempt` (1 for the first after the loss); `error` is
   * the loss or the previous redial's failure (ECONNREFUSED, ...).
   */
  reconnecting: (attempt: number, delayMs: number, error: PolywireError) => void;
  /**
   * A failure outside any call: a lost connection (the client reconnects),
   * reconnecting given up (the client closes), a broker error for a request
   * no one waits for (an acks "none" produce, PW-LOG-004).
   */
  error: (error: PolywireError) => void;
}

/**
 * Options of {@link connect}. Every field is optional; the connection
 * fields (`clientId`, `auth`, `tls`, `requestTimeoutMs`, `keepaliveIntervalMs`,
 * ...) apply to every connection the client makes.
 */
export interface ClientOptions extends Omit<ConnectionOptions, "signal" | "connectTimeoutMs"> {
  /**
   * How long `connect()` may take to make the first connection, in ms:
   * every pass over the URLs and the backoff between them included. Past
   * it, `connect()` rejects with the last failure, naming each address and
   * its cause (ECONNREFUSED, ENOTFOUND, a TLS alert, ...), or TIMEOUT when
   * nothing answered. Each later dial is bounded by it too. Default 5 000.
   */
  connectTimeoutMs?: number;
  /**
   * Backoff between dials: while making the first connection (within
   * `connectTimeoutMs`) and after a connection was lost. Defaults:
   * `initialDelayMs` 100, `maxDelayMs` 5 000, `multiplier` 2 and
   * `maxAttempts` Infinity: once connected, the client redials for as long
   * as it is open, and gives up only on a failure that cannot be retried
   * (AUTHENTICATION_FAILED, a refused TLS certificate) or after a finite
   * `maxAttempts`, and then closes.
   */
  reconnect?: RetryOptions;
  /** Backoff and retry policy for produce retries, fetches and lookups (requests; `reconnect` covers dials). */
  retry?: RetryOptions;
  /** Topic metadata older than this is fetched again. Default 300 000 ms (Kafka's `metadata.max.age.ms`). */
  metadataMaxAgeMs?: number;
  /** Aborts the initial connect. */
  signal?: AbortSignal;
}

/** The result of {@link Client.health}. */
export interface HealthReport {
  readonly state: ClientState;
  /** The URL of the primary connection. */
  readonly url: string;
  /** The broker the primary connection talks to. */
  readonly brokerId: string;
  /** The broker's id for this session (Welcome.session_id). */
  readonly sessionId: string;
  /** Round trip of a Ping (PW-SESS-010), in ms. */
  readonly rttMs: number;
  /** Requests awaiting a response on the primary connection. */
  readonly inFlight: number;
  /** Connections re-established so far. */
  readonly reconnects: number;
}

/** Which offset {@link Client.listOffsets} resolves (PW-LOG-020, PW-LOG-021). */
export type OffsetQuery = "earliest" | "latest" | { readonly timestamp: number | Date };

/** One partition's answer of {@link Client.listOffsets}. */
export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The offset; -1n for a timestamp no record is that recent for. */
  readonly offset: bigint;
  /** The timestamp of the record at `offset` for a timestamp query, else -1. */
  readonly timestamp: number;
  /** The same fields with the offset as a decimal string, so that `JSON.stringify` works. */
  toJSON(): Jsonified<PartitionOffset>;
}

/** Something a client closes when it closes, and fails when it gives up. */
export interface ClientResource {
  close(options?: CallOptions): Promise<void>;
  fail(error: PolywireError): void;
}

/**
 * What producers and consumers use of their client. Not part of the public
 * API: obtain producers and consumers with `client.producer()` and
 * `client.consumer()`.
 */
export interface ClientContext {
  readonly stats: StatsCollector;
  readonly retry: RetryPolicy;
  readonly metadata: MetadataCache;
  /** True once the client is closing or closed. */
  readonly closed: boolean;
  /** The link to the leader of a partition, or undefined when the topic's metadata is not cached. */
  leaderNow(topic: string, partition: number): Link | undefined;
  /** The link to the leader of a partition, looking the topic up when needed. */
  leader(topic: string, partition: number, signal?: AbortSignal): Promise<Link>;
  /** Sends a request on `connection`, recording latency and errors in the stats. */
  call<K extends RpcKind>(connection: Connection, kind: K, init: RpcRequestInit<K>, payload?: Uint8Array, options?: RequestOptions): Promise<CallResult<K>>;
  /** Sends a request that is safe to repeat on the primary connection, retried by the policy. */
  request<K extends RpcKind>(kind: K, init: RpcRequestInit<K>, options?: CallOptions): Promise<CallResult<K>>;
  listOffsets(queries: ReadonlyArray<{ topic: string; partition: number; query: OffsetQuery }>, options?: CallOptions): Promise<PartitionOffset[]>;
  track(resource: ClientResource): () => void;
}

const DEFAULT_METADATA_MAX_AGE_MS = 300_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * A connection to a Polywire cluster: a pool of broker connections that
 * reconnect with exponential backoff and full jitter, follow Drain notices,
 * keep a metadata cache, and create producers and consumers. Create one
 * with {@link connect}; close it with `close()` or `await using`.
 *
 * ```ts
 * await using client = await connect(["tcp://10.0.0.1:7420", "tcp://10.0.0.2:7420"]);
 * const producer = client.producer();
 * await producer.send(Record.text("events", "hello"));
 * ```
 */
export class Client extends Emitter<ClientEvents> {
  readonly #pool: ConnectionPool;
  readonly #stats = new StatsCollector();
  readonly #retry: RetryPolicy;
  readonly #metadata: MetadataCache;
  readonly #resources = new Set<ClientResource>();
  readonly #context: ClientContext;
  #closing: Promise<void> | undefined;
  #closedResolve!: () => void;
  /** Resolves once the client is closed, by `close()` or because reconnecting gave up. */
  readonly closed: Promise<void>;

  private constructor(urls: readonly string[], options: ClientOptions) {
    super();
    this.#retry = new RetryPolicy(options.retry);
    const reconnect = new RetryPolicy(options.reconnect, RECONNECT_DEFAULTS, "reconnect");
    const { retry: _retry, reconnect: _reconnect, metadataMaxAgeMs, signal: _signal, ...connection } = options;
    checkTimeout(options.connectTimeoutMs, "connectTimeoutMs");
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#pool = new ConnectionPool(urls, { connection: { ...connection, connectTimeoutMs }, reconnect, connectTimeoutMs, stats: this.#stats });
    const maxAge = metadataMaxAgeMs ?? DEFAULT_METADATA_MAX_AGE_MS;
    if (!(maxAge >= 0)) throw new PolywireError("INVALID_ARGUMENT", `metadataMaxAgeMs must be at least 0, got ${String(maxAge)}`);
    this.#metadata = new MetadataCache(async (topics, signal) => {
      const { message } = await this.#request(this.#pool.primary, FrameKind.METADATA_REQUEST, { topics: [...topics] }, signal === undefined ? {} : { signal });
      return message;
    }, maxAge, (error) => this.#stats.error(error.code));
    this.closed = new Promise((resolve) => {
      this.#closedResolve = resolve;
    });
    const primary = this.#pool.primary;
    let brokerId: string | undefined;
    primary.on("state", (state, previous) => {
      if (state === "ready") {
        // Connected to another broker (a Drain or failover moved us): its metadata may differ.
        if (brokerId !== undefined && primary.brokerId !== brokerId) this.#metadata.clear();
        brokerId = primary.brokerId;
      }
      this.emit("state", state, previous);
      if (state === "closed" && this.#closing === undefined) {
        // Reconnecting gave up: everything built on the client fails with the reason.
        const reason = primary.closeError ?? new PolywireError("CONNECTION_LOST", "the client is closed");
        for (const r of this.#resources) r.fail(reason);
        this.#closing = this.#pool.close().then(() => this.#closedResolve());
      }
    });
    primary.on("reconnecting", (attempt, delayMs, error) => this.emit("reconnecting", attempt, delayMs, error));
    primary.on("error", (error) => this.emit("error", error));
    this.#context = this.#makeContext();
  }

  /**
   * Connects to the first of `urls` (tried in random order, PW-TRANS-005)
   * that completes the handshake, passing over them again with the
   * `reconnect` backoff while none does, for at most `connectTimeoutMs`.
   * Rejects with the last failure as a `PolywireError` naming the addresses
   * and causes (INVALID_ARGUMENT for a malformed URL; at once, without
   * retrying, for AUTHENTICATION_FAILED or a refused TLS certificate).
   */
  static async connect(urls: string | readonly string[], options: ClientOptions = {}): Promise<Client> {
    const list = typeof urls === "string" ? [urls] : [...urls];
    if (list.length === 0) throw new PolywireError("INVALID_ARGUMENT", "connect needs at least one URL");
    for (const url of list) parseTransportUrl(url);
    const client = new Client(list, options);
    await client.#pool.primary.open(options.signal);
    return client;
  }

  /** The current state. */
  get state(): ClientState {
    return this.#pool.primary.state;
  }

  /** The URL of the primary connection, while there is one. */
  get url(): string | undefined {
    return this.#pool.primary.connection?.url;
  }

  /** The id of the broker the primary connection talks to. */
  get brokerId(): string | undefined {
    return this.#pool.primary.brokerId;
  }

  /**
   * The base URL of the admin plane of the broker the primary connection
   * talks to, as its Welcome advertised it (PW-ADMIN-060, PW-ADMIN-063), or
   * undefined when that broker serves none or there is no connection.
   */
  get adminUrl(): string | undefined {
    const connection = this.#pool.primary.connection;
    return connection === undefined ? undefined : resolveAdminUrl(connection.welcome.adminUrl, connection.url);
  }

  /**
   * An admin client (createAdminClient) for {@link adminUrl}. Throws a
   * PolywireError (INVALID_ARGUMENT) when the broker advertised no admin
   * plane; pass its URL to createAdminClient yourself then.
   */
  admin(options: AdminClientOptions = {}): AdminClient {
    const url = this.adminUrl;
    if (url === undefined) {
      throw new PolywireError("INVALID_ARGUMENT", `the broker at ${this.url ?? "(not connected)"} advertised no admin URL in its Welcome (PW-ADMIN-060); give createAdminClient the admin URL`);
    }
    return createAdminClient(url, options);
  }

  /** The cluster id from the last metadata response ("" before the first). */
  get clusterId(): string {
    return this.#metadata.clusterId;
  }

  #makeContext(): ClientContext {
    const client = this;
    return {
      stats: this.#stats,
      retry: this.#retry,
      metadata: this.#metadata,
      get closed() {
        return client.#closing !== undefined;
      },
      leaderNow: (topic, partition) => {
        const info = this.#metadata.cached(topic)?.partitions[partition];
        return info === undefined ? undefined : this.#linkFor(info.leaderId);
      },
      leader: async (topic, partition, signal) => {
        let info = await this.#metadata.topic(topic, signal);
        if (partition >= info.partitions.length) info = await this.#metadata.lookup(topic, signal);
        const p = info.partitions[partition];
        if (p === undefined) {
          this.#stats.error("UNKNOWN_PARTITION");
          throw new PolywireError("UNKNOWN_PARTITION", `topic ${JSON.stringify(topic)} has ${info.partitions.length} partitions; partition ${partition} does not exist (PW-PART-004)`);
        }
        return this.#linkFor(p.leaderId);
      },
      call: (connection, kind, init, payload, options) => this.#call(connection, kind, init, payload, options),
      request: (kind, init, options) => this.#request(this.#pool.primary, kind, init, options),
      listOffsets: (queries, options) => this.#listOffsets(queries, options),
      track: (resource) => {
        this.#resources.add(resource);
        return () => this.#resources.delete(resource);
      },
    };
  }

  #linkFor(brokerId: string): Link {
    return this.#pool.link(brokerId, this.#metadata.broker(brokerId)?.urls ?? []);
  }

  async #call<K extends RpcKind>(connection: Connection, kind: K, init: RpcRequestInit<K>, payload?: Uint8Array, options?: RequestOptions): Promise<CallResult<K>> {
    const started = performance.now();
    try {
      const result = await connection.call(kind, init, payload, options);
      this.#stats.latency.record(performance.now() - started);
      return result;
    } catch (error) {
      const failure = PolywireError.from(error);
      // A request its caller gave up (a consumer closing, a seek restarting a
      // long poll, an aborted signal) did not fail: it is not an error.
      if (!(failure.code === "CANCELLED" && options?.signal?.aborted === true)) this.#stats.error(failure.code);
      throw failure;
    }
  }

  /** One request on `link`, retried by the policy on retriable failures (all these requests are safe to repeat). */
  #request<K extends RpcKind>(link: Link, kind: K, init: RpcRequestInit<K>, options: CallOptions = {}): Promise<CallResult<K>> {
    const signal = callSignal(options);
    return this.#retry.run(async () => {
      const connection = await link.acquire(signal);
      return this.#call(connection, kind, init, undefined, signal === undefined ? {} : { signal });
    }, signal, () => this.#stats.retries++);
  }

  #ensureOpen(): void {
    if (this.#closing !== undefined) {
      throw new PolywireError("CONNECTION_LOST", "the client is closed", { retriable: false, cause: this.#pool.primary.closeError });
    }
  }

  /** Sends a Ping on the primary connection (PW-SESS-010) and resolves with the round trip in ms. */
  async ping(options: CallOptions = {}): Promise<number> {
    this.#ensureOpen();
    const signal = callSignal(options);
    const connection = await this.#pool.primary.acquire(signal);
    const started = performance.now();
    try {
      const rtt = await connection.ping(signal === undefined ? {} : { signal });
      this.#stats.latency.record(performance.now() - started);
      return rtt;
    } catch (error) {
      const failure = PolywireError.from(error);
      this.#stats.error(failure.code);
      throw failure;
    }
  }

  /** Pings the primary connection and reports the client's state, peer and round trip. */
  async health(options: CallOptions = {}): Promise<HealthReport> {
    const rttMs = await this.ping(options);
    const connection = this.#pool.primary.connection;
    return {
      state: this.state,
      url: connection?.url ?? "",
      brokerId: connection?.welcome.brokerId ?? "",
      sessionId: connection?.welcome.sessionId ?? "",
      rttMs,
      inFlight: connection?.inFlight ?? 0,
      reconnects: this.#stats.reconnects,
    };
  }

  /**
   * Describes `topics` (every topic when omitted) from the broker, refreshing
   * the cache. Rejects with UNKNOWN_TOPIC when a named topic does not exist.
   */
  async metadata(topics: readonly string[] = [], options: CallOptions = {}): Promise<TopicInfo[]> {
    this.#ensureOpen();
    const signal = callSignal(options);
    return this.#metadata.refresh(topics, signal);
  }

  /**
   * Resolves offsets by position or time (PW-LOG-020, PW-LOG-021), in the
   * order asked, sending one ListOffsets request per partition leader.
   * Rejects with the first partition's error (UNKNOWN_TOPIC, ...).
   */
  listOffsets(queries: ReadonlyArray<{ topic: string; partition: number; query: OffsetQuery }>, options: CallOptions = {}): Promise<PartitionOffset[]> {
    this.#ensureOpen();
    return this.#listOffsets(queries, options);
  }

  async #listOffsets(queries: ReadonlyArray<{ topic: string; partition: number; query: OffsetQuery }>, options: CallOptions = {}): Promise<PartitionOffset[]> {
    const signal = callSignal(options);
    const byLink = new Map<Link, number[]>();
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i] as (typeof queries)[number];
      const link = await this.#context.leader(q.topic, q.partition, signal);
      byLink.set(link, [...(byLink.get(link) ?? []), i]);
    }
    const results: PartitionOffset[] = new Array<PartitionOffset>(queries.length);
    await Promise.all([...byLink].map(async ([link, indexes]) => {
      const partitions = indexes.map((i) => {
        const { topic, partition, query } = queries[i] as (typeof queries)[number];
        if (query === "earliest") return { topic, partition, spec: OffsetSpec.EARLIEST };
        if (query === "latest") return { topic, partition, spec: OffsetSpec.LATEST };
        const ts = query.timestamp instanceof Date ? query.timestamp.getTime() : query.timestamp;
        if (!Number.isSafeInteger(ts)) throw new PolywireError("INVALID_ARGUMENT", `an offset query timestamp must be a Date or integer Unix ms, got ${String(query.timestamp)}`);
        return { topic, partition, spec: OffsetSpec.TIMESTAMP, timestampMs: BigInt(ts) };
      });
      const { message } = await this.#request(link, FrameKind.LIST_OFFSETS_REQUEST, { partitions }, signal === undefined ? {} : { signal });
      indexes.forEach((index, n) => {
        const r = message.partitions[n];
        const q = queries[index] as (typeof queries)[number];
        if (r === undefined) throw new PolywireError("MALFORMED_FRAME", "ListOffsetsResponse has fewer results than requested (PW-LOG-024)");
        if (r.errorCode !== ErrorCode.UNSPECIFIED) {
          if (r.errorCode === ErrorCode.UNKNOWN_TOPIC || r.errorCode === ErrorCode.UNKNOWN_PARTITION) this.#metadata.invalidate(q.topic);
          const code = errorCodeName(r.errorCode);
          this.#stats.error(code);
          throw new PolywireError(code, `listing offsets of ${q.topic}/${q.partition}: ${code}`, { wireCode: r.errorCode });
        }
        results[index] = result({ topic: q.topic, partition: q.partition, offset: r.offset, timestamp: Number(r.timestampMs) });
      });
    }));
    return results;
  }

  /** Creates a producer (see {@link ProducerOptions} for batching, acks, idempotence and limits). */
  producer(options: ProducerOptions = {}): Producer {
    this.#ensureOpen();
    return new Producer(this.#context, options);
  }

  /** Creates a consumer; assign it partitions with `consumer.assign(...)`. */
  consumer(options: ConsumerOptions = {}): Consumer {
    this.#ensureOpen();
    return new Consumer(this.#context, options);
  }

  /** A snapshot of the client's counters and request latency percentiles. */
  stats(): ClientStats {
    return this.#stats.snapshot();
  }

  /**
   * Closes the client: producers flush and close, consumers close, then
   * every connection closes after its requests in flight (Close,
   * PW-SESS-016). With `signal`/`timeoutMs`, records producers still hold
   * when it fires fail with CANCELLED/TIMEOUT. Idempotent.
   */
  close(options: CallOptions = {}): Promise<void> {
    this.#closing ??= (async () => {
      checkTimeout(options.timeoutMs);
      const started = performance.now();
      await Promise.allSettled([...this.#resources].map((r) => r.close(options)));
      await this.#pool.close(options.timeoutMs === undefined ? undefined : Math.max(0, options.timeoutMs - (performance.now() - started)));
      this.#closedResolve();
    })();
    return this.#closing;
  }

  /** `await using` support: the same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Connects to a Polywire cluster: `urls` is one bootstrap URL or several
 * (`tcp://`, `tls://`, `unix://`, `ws://`, `wss://`, `memory://`, PW-TRANS-001),
 * tried in random order (PW-TRANS-005). Resolves with a ready {@link Client}.
 *
 * ```ts
 * await using client = await connect("tcp://127.0.0.1:7420", { clientId: "billing", connectTimeoutMs: 10_000 });
 * ```
 */
export function connect(urls: string | readonly string[], options: ClientOptions = {}): Promise<Client> {
  return Client.connect(urls, options);
}
