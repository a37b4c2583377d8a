import { randomUUID } from "node:crypto";
import { ErrorCode, Feature } from "@polywire/proto/session";
import { frameKindTable, listen, PROTOCOL_VERSION, type Listener, type TlsServerOptions, type Transport } from "@polywire/core";
import { init as initCodec } from "@polywire/wasm-codec";
import type { Socket } from "node:net";
import { adminHandler, type AdminAuthOptions, type AdminContext, type HealthThresholds } from "./admin/index.js";
import { probeHandler } from "./admin/probes.js";
import { buildMechanisms, type BrokerAuthOptions, type ServerSaslMechanism } from "./auth.js";
import { checkId, DEFAULT_DATA_DIR, DEFAULT_LISTENERS, resolveGroupSettings, resolveHealthThresholds, resolveTimings, type BrokerTimings } from "./config/settings.js";
import { DataConnections } from "./connections.js";
import { AdminHttpServer } from "./http.js";
import { resolveHttpListener, type HttpListenerOptions, type HttpListenerSettings } from "./http-settings.js";
import { resolveLimits, type BrokerLimits } from "./limits.js";
import type { GroupConfig, GroupCoordinator } from "./groups/index.js";
import { GroupsPlane } from "./groups-plane.js";
import { logPlaneRoutes } from "./log-plane.js";
import { MemoryUpkeep } from "./memory-upkeep.js";
import { BrokerMetrics } from "./metrics.js";
import { registerPubSubMetrics } from "./pubsub-metrics.js";
import { checkPubSubOptions, PubSubPlane, type PubSubOptions } from "./pubsub-plane.js";
import { checkRpcOptions, RpcPlane, type RpcOptions } from "./rpc-plane.js";
import type { Route } from "./route.js";
import type { SessionHost } from "./session.js";
import type { Admission } from "./socket-gate.js";
import { openStorage, type StorageConfig } from "./storage/engine-config.js";
import type { CreateTopicOptions, Storage, TopicInfo } from "./storage/storage.js";

/** TLS settings of a broker's `tls://` and `wss://` listeners (PEM strings or buffers). */
export type BrokerTlsOptions = TlsServerOptions;

/** A topic the broker creates at start if it does not exist yet. */
export interface TopicSpec extends CreateTopicOptions {
  readonly name: string;
}

/**
 * Options of {@link Broker.start}. Every field is optional; each is checked
 * when the broker starts, a bad one a {@link BrokerConfigError} naming it.
 * The deadlines (`handshakeTimeoutMs`, `keepaliveIntervalMs`,
 * `drainDeadlineMs`, `produceTimeoutMs`) are {@link BrokerTimings}. A config
 * file has the same keys ({@link BrokerConfig}).
 */
export interface BrokerOptions extends Partial<BrokerTimings> {
  /**
   * Listener URLs (PW-TRANS-001); port 0 picks a free port. Default
   * `["tcp://127.0.0.1:7420"]`.
   */
  listeners?: readonly string[];
  /** Where data lives: disk (default, in `./polywire-data`), memory, or an already open {@link Storage}. */
  storage?: StorageConfig | Storage;
  /** Certificate and key for `tls://` and `wss://` listeners; a `ca` turns on client-certificate verification. */
  tls?: BrokerTlsOptions;
  /** SASL authentication; default anonymous. */
  auth?: BrokerAuthOptions;
  /** Limits advertised in Welcome and enforced (§4). */
  limits?: Partial<BrokerLimits>;
  /** Topics to create at start when missing. */
  topics?: readonly TopicSpec[];
  /**
   * The HTTP listener for the admin services (§11: Connect, gRPC and
   * gRPC-Web over HTTP/1.1 and h2c, with gRPC health checking and server
   * reflection), `/metrics`, `/healthz` and `/readyz`. Default: none. Port 0
   * picks a free port. Its limits (PW-ADMIN-051, §11.9) are in
   * {@link HttpListenerOptions}.
   */
  http?: HttpListenerOptions;
  /**
   * Bearer-token authentication of the admin services (PW-ADMIN-003,
   * PW-ADMIN-046); `/metrics`, `/healthz` and `/readyz` stay open. Default:
   * none, so anyone who reaches the HTTP listener may administer the
   * broker, which is why it binds 127.0.0.1 by default.
   */
  adminAuth?: AdminAuthOptions;
  /**
   * When the `storage` health check turns DEGRADED (PW-ADMIN-041). Default
   * below 1 GiB or 10% free.
   */
  health?: Partial<HealthThresholds>;
  /** Broker id in Welcome and metadata. Default: a random UUID. */
  brokerId?: string;
  /** Cluster id in metadata. Default: the broker id. */
  clusterId?: string;
  /**
   * Grant FEATURE_FRAME_CHECKSUM to clients that ask for it, and then set
   * the CHECKSUM flag on every frame sent to them from Welcome on
   * (PW-SESS-026). Default false: the feature is not granted.
   */
  checksumFrames?: boolean;
  /** Pub/sub limits (§9): subscriptions per connection, bytes held per connection, default `max_pending`. */
  pubsub?: PubSubOptions;
  /** Request/reply bounds (§10, PW-RPC-006): calls per connection, responders per connection, waiting calls per service. */
  rpc?: RpcOptions;
  /**
   * The consumer-group plane (§8): its coordinator settings (session and
   * rebalance timeouts, heartbeat interval, group and member bounds, offset
   * retention), or false to leave it out, so that FEATURE_GROUPS is never
   * granted and GroupService answers `unimplemented` (PW-ADMIN-029).
   * Default: on, with the spec's defaults.
   */
  groups?: Partial<GroupConfig> | false;
}

/** The lifecycle of a broker. */
export type BrokerState = "running" | "draining" | "closed";

const SOFTWARE = { name: "polywire-broker", version: "0.1.0" };
// The features this broker serves; FEATURE_GROUPS joins them with the groups plane, FEATURE_FRAME_CHECKSUM with `checksumFrames` (PW-SESS-026).
const SUPPORTED_FEATURES: readonly Feature[] = [Feature.LOG, Feature.IDEMPOTENCE, Feature.DRAIN_NOTICE, Feature.PUBSUB, Feature.SLOW_CONSUMER_NOTICE, Feature.REQUEST_REPLY];

/**
 * The embeddable Polywire reference broker: listeners on every transport,
 * the session and log planes over a {@link Storage}, Prometheus metrics and
 * health endpoints, and graceful shutdown.
 *
 * ```ts
 * await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" } });
 * await broker.createTopic("events", { partitions: 3 });
 * console.log(broker.urls);
 * ```
 */
export class Broker implements AsyncDisposable {
  /** This broker's id. */
  readonly id: string;
  /** The cluster id reported in metadata. */
  readonly clusterId: string;
  /** The storage the broker serves. */
  readonly storage: Storage;
  /** Prometheus metrics; `metrics.registry.metrics()` renders them. */
  readonly metrics = new BrokerMetrics();
  /** The effective limits. */
  readonly limits: BrokerLimits;
  /** The HTTP listener, when configured; mount more handlers with `http.use`. */
  readonly http: AdminHttpServer | undefined;
  #listeners: Listener[] = [];
  readonly #connections: DataConnections;
  #routes = new Map<number, Route>();
  #mechanisms: Map<string, ServerSaslMechanism>;
  #state: BrokerState = "running";
  #closing: Promise<void> | undefined;
  readonly #startedAt = performance.now();
  #upkeep: MemoryUpkeep | undefined;
  readonly #options: BrokerOptions;
  readonly #timings: BrokerTimings;
  readonly #httpSettings: HttpListenerSettings | undefined;
  readonly #health: HealthThresholds;
  readonly #host: SessionHost;
  readonly #groups: GroupsPlane | undefined;
  readonly #pubsub: PubSubPlane;

  private constructor(options: BrokerOptions, storage: Storage, settings: Settings) {
    this.#options = options;
    ({ timings: this.#timings, http: this.#httpSettings, health: this.#health, limits: this.limits } = settings);
    this.id = options.brokerId ?? randomUUID();
    this.clusterId = options.clusterId ?? this.id;
    this.storage = storage;
    this.metrics.countProducerIdsWith(() => storage.producerCount());
    this.#mechanisms = buildMechanisms(options.auth);
    this.#connections = new DataConnections({ ...this.limits, ...this.#timings }, this.metrics);
    this.http = this.#httpSettings === undefined ? undefined : new AdminHttpServer(this.#httpSettings);
    this.#groups = settings.groups === undefined ? undefined : new GroupsPlane({ storage, metrics: this.metrics, config: settings.groups });
    const features = [...SUPPORTED_FEATURES, ...(this.#groups === undefined ? [] : [Feature.GROUPS, Feature.GROUP_NOTICE]), ...(options.checksumFrames === true ? [Feature.FRAME_CHECKSUM] : [])];
    const broker = this;
    this.#host = {
      brokerId: this.id,
      software: SOFTWARE,
      limits: this.limits,
      supportedFeatures: new Set(features),
      mechanisms: this.#mechanisms,
      routes: this.#routes,
      metrics: this.metrics,
      handshakeTimeoutMs: this.#timings.handshakeTimeoutMs,
      keepaliveIntervalMs: this.#timings.keepaliveIntervalMs,
      get draining() {
        return broker.#state !== "running";
      },
      get adminUrl() {
        return broker.httpUrl ?? "";
      },
      ...this.#connections.hostHooks,
    };
    for (const [kind, r] of logPlaneRoutes({
      storage,
      limits: this.limits,
      metrics: this.metrics,
      brokerId: this.id,
      clusterId: this.clusterId,
      urls: () => this.urls,
      adminUrl: () => this.httpUrl ?? "",
      produceTimeoutMs: this.#timings.produceTimeoutMs,
    })) {
      this.#routes.set(kind, r);
    }
    for (const [kind, r] of this.#groups?.routes() ?? []) this.#routes.set(kind, r);
    const pubsub = new PubSubPlane(options.pubsub);
    this.#pubsub = pubsub;
    for (const r of pubsub.routes()) this.#routes.set(r.kind, r);
    registerPubSubMetrics(this.metrics.registry, pubsub.router.counters);
    const rpc = new RpcPlane(options.rpc, this.metrics.registry);
    for (const r of rpc.routes()) this.#routes.set(r.kind, r);
    // A granted feature must be served whole: every kind a client may send of it has a route (PW-SESS-005).
    for (const info of frameKindTable.values()) {
      const served = info.sentBy !== "broker" && info.features.length > 0 && info.features.every((f) => this.#host.supportedFeatures.has(f));
      if (served && !this.#routes.has(info.kind)) throw new Error(`broker: frame kind ${info.kind} belongs to granted features but has no route`);
    }
  }

  /**
   * Checks every option, opens storage, creates the configured topics,
   * binds every listener and the HTTP port, and resolves with a running
   * broker. On failure, anything already opened is closed again.
   */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    // Every setting is checked before anything is opened.
    const settings = resolveSettings(options);
    await initCodec();
    const given = options.storage;
    const storage = given !== undefined && "partition" in given
      ? given
      : await openStorage(given ?? { engine: "disk", dir: DEFAULT_DATA_DIR }, settings.limits.idempotenceWindow);
    const broker = new Broker(options, storage, settings);
    try {
      for (const topic of options.topics ?? []) {
        if (!storage.listTopics().some((t: TopicInfo) => t.name === topic.name)) {
          await storage.createTopic(topic.name, { partitions: topic.partitions, ...(topic.config === undefined ? {} : { config: topic.config }) });
        }
      }
      await broker.#groups?.start();
      await broker.#listen();
    } catch (error) {
      await broker.#teardown();
      throw error;
    }
    return broker;
  }

  async #listen(): Promise<void> {
    const context = {
      tls: this.#options.tls,
      maxFrameSize: this.limits.maxFrameSize,
      admit: (socket: Socket, scheme: Transport["scheme"]) => this.#connections.admitSocket(socket, scheme),
      onConnection: (transport: Transport, admission: Admission | undefined) => {
        const session = this.#connections.accept(transport, admission, this.#state === "running", this.#host);
        // In process (memory://), pub/sub may skip the frames (PW-TRANS-012).
        if (session !== undefined) this.#pubsub.offerDirect(session, transport);
      },
    };
    // The admin listener is bound first, so that every Welcome can name it (PW-ADMIN-060).
    if (this.http !== undefined && this.#httpSettings !== undefined) {
      const admin = this.#adminContext();
      this.http.use(probeHandler(admin));
      this.http.use(adminHandler(admin, {
        ...(this.#options.adminAuth === undefined ? {} : { auth: this.#options.adminAuth }),
        maxRequestBytes: this.#httpSettings.maxRequestBytes,
        shutdownSignal: this.http.shutdownSignal,
      }));
      await this.http.listen(this.#httpSettings.host, this.#httpSettings.port);
    }
    for (const url of this.#options.listeners ?? DEFAULT_LISTENERS) {
      this.#listeners.push(await listen(url, context));
    }
    this.#connections.startKeepalive();
    this.#upkeep = new MemoryUpkeep(() => this.#connections.takePeak());
  }

  #adminContext(): AdminContext {
    return {
      storage: this.storage,
      metrics: this.metrics,
      brokerId: this.id,
      clusterId: this.clusterId,
      version: SOFTWARE.version,
      protocolVersions: { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION },
      startedAt: this.#startedAt,
      maxConnections: this.limits.maxConnections,
      healthThresholds: this.#health,
      urls: () => this.urls,
      adminUrl: () => this.httpUrl ?? "",
      state: () => this.#state,
      connections: () => this.connections,
      groups: this.#groups?.coordinator,
    };
  }

  /** The URLs of the bound listeners, in the order configured. */
  get urls(): readonly string[] {
    return this.#listeners.map((l) => l.url);
  }

  /** The HTTP listener's base URL, or undefined without one. */
  get httpUrl(): string | undefined {
    return this.http?.url;
  }

  /**
   * The consumer-group coordinator (spec §8), or undefined with `groups:
   * false`: the groups, members and committed offsets GroupService shows.
   */
  get groups(): GroupCoordinator | undefined {
    return this.#groups?.coordinator;
  }

  /** `running`, `draining` (shutting down) or `closed`. */
  get state(): BrokerState {
    return this.#state;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Creates a topic (the library form of the admin CreateTopic). */
  createTopic(name: string, options: CreateTopicOptions): Promise<TopicInfo> {
    return this.storage.createTopic(name, options);
  }

  /**
   * Shuts down gracefully (PW-SESS-015): stops accepting, sends Drain to
   * sessions that negotiated it, refuses new work with SHUTTING_DOWN,
   * finishes requests in flight, waits up to the drain deadline for clients
   * to leave, sends Close, closes connections, then flushes and closes
   * storage. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(): Promise<void> {
    this.#state = "draining";
    await Promise.all(this.#listeners.map((l) => l.close()));
    const deadlineMs = this.#timings.drainDeadlineMs;
    await Promise.all([...this.#connections.sessions()].map(async (session) => {
      if (session.drain(deadlineMs, "broker shutting down")) {
        // PW-SESS-015: keep serving until the deadline unless the client leaves first.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([session.closed, new Promise<void>((resolve) => { timer = setTimeout(resolve, deadlineMs); })]);
        clearTimeout(timer);
      }
      await session.shutdown(ErrorCode.SHUTTING_DOWN, "broker shutting down");
    }));
    await this.#teardown();
  }

  async #teardown(): Promise<void> {
    this.#upkeep?.stop();
    await Promise.all(this.#listeners.map((l) => l.close()));
    this.#connections.destroyAll();
    await this.#groups?.close();
    await this.storage.close();
    await this.http?.close();
    this.#state = "closed";
  }
}

/** Every option of a broker resolved and checked, before anything is opened. */
interface Settings {
  readonly limits: BrokerLimits;
  readonly timings: BrokerTimings;
  readonly http: HttpListenerSettings | undefined;
  readonly health: HealthThresholds;
  /** The groups plane's settings; undefined without the plane. */
  readonly groups: GroupConfig | undefined;
}

function resolveSettings(options: BrokerOptions): Settings {
  if (options.brokerId !== undefined) checkId("brokerId", options.brokerId);
  if (options.clusterId !== undefined) checkId("clusterId", options.clusterId);
  checkPubSubOptions(options.pubsub);
  checkRpcOptions(options.rpc);
  return {
    limits: resolveLimits(options.limits),
    timings: resolveTimings(options),
    http: options.http === undefined ? undefined : resolveHttpListener(options.http),
    health: resolveHealthThresholds(options.health),
    groups: options.groups === false ? undefined : resolveGroupSettings(options.groups ?? {}),
  };
}
