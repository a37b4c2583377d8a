import { createAdminClient, type AdminClient, type AdminClientOptions } from "./admin.js";
import { resolveAdminUrl } from "./admin-url.js";
import { FrameKind } from "@polywire/proto/session";
import type { ClientEvents, ClientOptions, ClientState, HealthReport } from "./client-options.js";
import type { CallResult, Connection, RequestOptions } from "./connection.js";
import { Consumer } from "./consumer/consumer.js";
import type { ConsumerOptions } from "./consumer/options.js";
import { GroupConsumer } from "./group/group-consumer.js";
import type { GroupConsumerOptions } from "./group/options.js";
import type { ClientContext, ClientResource, OffsetRequest, PartitionOffset } from "./context.js";
import { PolywireError, parseTransportUrl, type RequestInit, type RequestKind } from "@polywire/core";
import { Emitter } from "./events.js";
import type { BrokerLink } from "./broker-link.js";
import { listOffsets } from "./list-offsets.js";
import { MetadataCache, type TopicInfo } from "./metadata.js";
import { ConnectionPool } from "./pool.js";
import { Producer } from "./producer/producer.js";
import { PushFrames } from "./push-frames.js";
import type { MessageData } from "./pubsub/message.js";
import type { PublishOptions } from "./pubsub/pubsub.js";
import { ClientPlanes } from "./planes.js";
import type { BodyInit, Call, CallOptions as RpcCallOptions, Handler, Response as RpcResponse, Service, ServeOptions } from "./rpc/index.js";
import type { ConfirmedPublishOptions, ConfirmResult } from "./pubsub/confirm.js";
import { runHandler, type HandleOptions, type MessageHandler } from "./pubsub/handler.js";
import type { SubscribeOptions, Subscription } from "./pubsub/subscription.js";
import type { ProducerOptions } from "./producer/options.js";
import { RECONNECT_DEFAULTS, RetryPolicy } from "./retry.js";
import { callSignal, checkTimeout, type CallOptions } from "./signal.js";
import { StatsCollector, type ClientStats } from "./stats.js";

const DEFAULT_METADATA_MAX_AGE_MS = 300_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * A connection to a Polywire cluster: a pool of broker connections (reconnecting with exponential backoff and full
 * jitter, following Drain notices), a metadata cache, producers and consumers, pub/sub and request/reply. Create
 * one with {@link connect}; close it with `close()` or `await using`:
 * `await using client = await connect(["tcp://10.0.0.1:7420", "tcp://10.0.0.2:7420"]);`
 */
export class Client extends Emitter<ClientEvents> {
  readonly #pool: ConnectionPool;
  readonly #stats = new StatsCollector();
  readonly #retry: RetryPolicy;
  readonly #metadata: MetadataCache;
  readonly #resources = new Set<ClientResource>();
  readonly #context: ClientContext;
  #planes: ClientPlanes | undefined;
  #push: PushFrames | undefined;
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
   * Connects to the first of `urls` (tried in random order, PW-TRANS-005) that completes the handshake, passing
   * over them again with the `reconnect` backoff while none does, for at most `connectTimeoutMs`. Rejects with the
   * last failure as a `PolywireError` naming the addresses and causes (INVALID_ARGUMENT for a malformed URL; at
   * once, without retrying, for AUTHENTICATION_FAILED or a refused TLS certificate).
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
      limits: (topic, partition) => {
        const info = this.#metadata.cached(topic)?.partitions[partition];
        return info === undefined ? undefined : this.#linkFor(info.leaderId).connection?.limits;
      },
      call: (connection, kind, init, payload, options) => this.#call(connection, kind, init, payload, options),
      request: (kind, init, options) => this.#request(this.#pool.primary, kind, init, options),
      listOffsets: (queries, options) => this.#listOffsets(queries, options),
      track: (resource) => {
        this.#resources.add(resource);
        return () => this.#resources.delete(resource);
      },
      onPush: (kind, listener) => (this.#push ??= new PushFrames(this.#pool.primary)).on(kind, listener),
    };
  }

  #linkFor(brokerId: string): BrokerLink {
    return this.#pool.link(brokerId, this.#metadata.broker(brokerId)?.urls ?? []);
  }

  async #call<K extends RequestKind>(connection: Connection, kind: K, init: RequestInit<K>, payload?: Uint8Array, options?: RequestOptions): Promise<CallResult<K>> {
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
  #request<K extends RequestKind>(link: BrokerLink, kind: K, init: RequestInit<K>, options: CallOptions = {}): Promise<CallResult<K>> {
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

  /** Describes `topics` (all when omitted) from the broker, refreshing the cache; UNKNOWN_TOPIC for a missing one. */
  async metadata(topics: readonly string[] = [], options: CallOptions = {}): Promise<TopicInfo[]> {
    this.#ensureOpen();
    const signal = callSignal(options);
    return this.#metadata.refresh(topics, signal);
  }

  /**
   * Resolves offsets by position or time (PW-LOG-020, PW-LOG-021), in the order asked, one ListOffsets
   * request per partition leader. Rejects with the first partition's error (UNKNOWN_TOPIC, ...).
   */
  listOffsets(queries: readonly OffsetRequest[], options: CallOptions = {}): Promise<PartitionOffset[]> {
    this.#ensureOpen();
    return this.#listOffsets(queries, options);
  }

  async #listOffsets(queries: readonly OffsetRequest[], options: CallOptions = {}): Promise<PartitionOffset[]> {
    const signal = callSignal(options);
    return listOffsets({
      leader: (topic, partition, signal) => this.#context.leader(topic, partition, signal),
      request: (link, init, signal) => this.#request(link, FrameKind.LIST_OFFSETS_REQUEST, init, signal === undefined ? {} : { signal }),
      metadata: this.#metadata,
      stats: this.#stats,
    }, queries, signal);
  }

  /** Creates a producer (see {@link ProducerOptions} for batching, acks, idempotence and limits). */
  producer(options: ProducerOptions = {}): Producer {
    this.#ensureOpen();
    return new Producer(this.#context, options);
  }

  /**
   * Creates a consumer. With `group` and `topics`, a member of that consumer
   * group (spec §8) that the broker assigns partitions to, as Kafka's
   * `group.id`; without, a consumer you assign partitions with
   * `consumer.assign(...)`.
   */
  consumer(options: GroupConsumerOptions): GroupConsumer;
  consumer(options?: ConsumerOptions): Consumer;
  consumer(options: ConsumerOptions | GroupConsumerOptions = {}): Consumer | GroupConsumer {
    this.#ensureOpen();
    if ("group" in options) return new GroupConsumer(this.#context, options);
    return new Consumer(this.#context, options);
  }

  /**
   * Subscribes to the subjects `pattern` matches (`*` one token, `>` the rest, PW-PUBSUB-002); returns the
   * subscription, an async iterable of messages. Throws INVALID_SUBJECT or RESERVED_SUBJECT for a bad pattern;
   * a refusal by the broker rejects `subscription.ready` and ends the loop. It is made again after a reconnect.
   */
  subscribe(pattern: string, options: SubscribeOptions = {}): Subscription {
    return this.#side().pubsub.subscribe(pattern, options);
  }

  /**
   * Runs `handler` on each message `pattern` matches (`concurrency` at once, default 1) and tells a
   * publisher that asked (`confirm`) whether it succeeded or the error it threw (spec §9.5).
   */
  handle(pattern: string, handler: MessageHandler, options: HandleOptions = {}): Subscription {
    const subscription = this.subscribe(pattern, options);
    runHandler(subscription, handler, (replyTo, headers, body) => this.publish(replyTo, body, { headers, ack: false }), options.concurrency);
    return subscription;
  }

  /**
   * Publishes `data` to `subject` (at-most-once, PW-PUBSUB-026) and resolves with the number of subscriptions
   * it was routed to; with `ack: false` once it is handed to the connection; with `confirm`, with what every
   * handler it reached said, or missing after the timeout (spec §9.5).
   */
  publish(subject: string, data: MessageData, options: PublishOptions & { ack: false }): Promise<undefined>;
  publish(subject: string, data: MessageData, options: ConfirmedPublishOptions): Promise<ConfirmResult>;
  publish(subject: string, data: MessageData, options?: PublishOptions): Promise<number>;
  publish(subject: string, data: MessageData, options: PublishOptions & { confirm?: ConfirmedPublishOptions["confirm"] } = {}): Promise<number | undefined | ConfirmResult> {
    try {
      return options.confirm === undefined ? this.#side().pubsub.publish(subject, data, options) : this.#side().confirmedPublish(subject, data, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves once the broker has routed every message published before it. */
  flush(options: CallOptions = {}): Promise<void> {
    return this.#side().pubsub.flush(options);
  }

  /** Calls `service` with `body`: the reply's headers and whole body, or an ApplicationError (APPLICATION_ERROR) or NO_RESPONDERS, TIMEOUT, CANCELLED, RESPONDER_GONE. */
  request(service: string, body?: BodyInit, options?: RpcCallOptions): Promise<RpcResponse> {
    return this.#side().rpc.request(service, body, options);
  }

  /** Starts a streaming call: write the request body to it, read `(await call.reply).body`. */
  call(service: string, options?: RpcCallOptions): Promise<Call> {
    return this.#side().rpc.call(service, options);
  }

  /** Serves `service`: each call routed to this client runs `handler`; `close()` drains. */
  serve(service: string, handler: Handler, options?: ServeOptions): Service {
    return this.#side().rpc.serve(service, handler, options);
  }

  #side(): ClientPlanes {
    this.#ensureOpen();
    return (this.#planes ??= new ClientPlanes(this.#pool.primary, this.#resources, (pattern) => this.subscribe(pattern)));
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
