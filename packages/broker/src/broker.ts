import { randomUUID } from "node:crypto";
import { HealthStatus } from "@polywire/proto/admin";
import { ErrorCode, Feature } from "@polywire/proto/session";
import { frameKindTable, listen, PROTOCOL_VERSION, type Listener, type TlsServerOptions, type Transport } from "@polywire/core";
import { init as initCodec } from "@polywire/wasm-codec";
import type { Socket } from "node:net";
import { adminHandler, checkHealth, DEFAULT_HEALTH_THRESHOLDS, resolveMaxRequestBytes, type AdminAuthOptions, type AdminContext, type HealthThresholds } from "./admin/index.js";
import { buildMechanisms, type BrokerAuthOptions, type ServerSaslMechanism } from "./auth.js";
import { AdminHttpServer, sendText } from "./http.js";
import { resolveLimits, type BrokerLimits } from "./limits.js";
import { InboundBudget } from "./inbound-budget.js";
import { logPlaneRoutes } from "./log-plane.js";
import { MemoryUpkeep } from "./memory-upkeep.js";
import { BrokerMetrics } from "./metrics.js";
import type { Route } from "./route.js";
import { ServerSession, type SessionHost } from "./session.js";
import { SocketGate, type Admission } from "./socket-gate.js";
import { openStorage, type StorageConfig } from "./storage-config.js";
import type { CreateTopicOptions, Storage, TopicInfo } from "./storage/storage.js";

/** TLS settings of a broker's `tls://` and `wss://` listeners (PEM strings or buffers). */
export type BrokerTlsOptions = TlsServerOptions;

/** A topic the broker creates at start if it does not exist yet. */
export interface TopicSpec extends CreateTopicOptions {
  readonly name: string;
}

/** Options of {@link Broker.start}. Every field is optional. */
export interface BrokerOptions {
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
   * picks a free port. `maxRequestBytes` is the largest admin request
   * message read (PW-ADMIN-051), 1 KiB to 4 GiB - 1, default 4 MiB.
   */
  http?: { host?: string; port: number; maxRequestBytes?: number };
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
  /** PW-SESS-008 handshake deadline. Default 10 000 ms. */
  handshakeTimeoutMs?: number;
  /** `Welcome.keepalive_interval_ms`; silent connections close after twice this. Default 30 000 ms. */
  keepaliveIntervalMs?: number;
  /** Drain deadline sent to clients at shutdown (PW-SESS-015). Default 5 000 ms. */
  drainDeadlineMs?: number;
  /** ACKS_ALL deadline when a produce says 0 (PW-LOG-008). Default 30 000 ms. */
  produceTimeoutMs?: number;
  /**
   * Grant FEATURE_FRAME_CHECKSUM to clients that ask for it, and then set
   * the CHECKSUM flag on every frame sent to them from Welcome on
   * (PW-SESS-026). Default false: the feature is not granted.
   */
  checksumFrames?: boolean;
}

/** The lifecycle of a broker. */
export type BrokerState = "running" | "draining" | "closed";

const SOFTWARE = { name: "polywire-broker", version: "0.1.0" };
// The features this broker serves; FEATURE_FRAME_CHECKSUM joins them with `checksumFrames` (PW-SESS-026).
const SUPPORTED_FEATURES: readonly Feature[] = [Feature.LOG, Feature.IDEMPOTENCE, Feature.DRAIN_NOTICE];

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
  #sessions = new Set<ServerSession>();
  #admissions = new Map<ServerSession, Admission>();
  readonly #gate: SocketGate;
  readonly #inbound: InboundBudget<ServerSession>;
  #routes = new Map<number, Route>();
  #mechanisms: Map<string, ServerSaslMechanism>;
  #state: BrokerState = "running";
  #closing: Promise<void> | undefined;
  readonly #startedAt = performance.now();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #upkeep: MemoryUpkeep | undefined;
  readonly #options: BrokerOptions;
  readonly #host: SessionHost;
  readonly #maxRequestBytes: number;

  private constructor(options: BrokerOptions, storage: Storage) {
    this.#options = options;
    this.id = options.brokerId ?? randomUUID();
    this.clusterId = options.clusterId ?? this.id;
    this.storage = storage;
    this.metrics.countProducerIdsWith(() => storage.producerCount());
    this.limits = resolveLimits(options.limits);
    this.#mechanisms = buildMechanisms(options.auth);
    this.#maxRequestBytes = resolveMaxRequestBytes(options.http?.maxRequestBytes);
    this.#gate = new SocketGate(this.limits.maxConnections);
    this.#inbound = new InboundBudget(this.limits.maxBufferedInboundBytes);
    this.http = options.http === undefined ? undefined : new AdminHttpServer();
    const keepaliveIntervalMs = options.keepaliveIntervalMs ?? 30_000;
    const broker = this;
    this.#host = {
      brokerId: this.id,
      software: SOFTWARE,
      limits: this.limits,
      supportedFeatures: new Set(options.checksumFrames === true ? [...SUPPORTED_FEATURES, Feature.FRAME_CHECKSUM] : SUPPORTED_FEATURES),
      mechanisms: this.#mechanisms,
      routes: this.#routes,
      metrics: this.metrics,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      keepaliveIntervalMs,
      get draining() {
        return broker.#state !== "running";
      },
      get adminUrl() {
        return broker.httpUrl ?? "";
      },
      // The slot was taken when the connection was accepted (PW-TRANS-007).
      admit: (session) => {
        if (this.#admissions.get(session)?.slot === true) return true;
        this.metrics.connectionsRejected.labels(session.transport.scheme, "limit").inc();
        return false;
      },
      release: (session) => {
        this.#admissions.get(session)?.release();
        this.#admissions.delete(session);
        this.#inbound.remove(session);
        if (this.#sessions.delete(session)) this.metrics.connections.labels(session.transport.scheme).dec();
      },
      holdInbound: (session, bytes) => this.#inbound.set(session, bytes),
    };
    for (const [kind, r] of logPlaneRoutes({
      storage,
      limits: this.limits,
      metrics: this.metrics,
      brokerId: this.id,
      clusterId: this.clusterId,
      urls: () => this.urls,
      adminUrl: () => this.httpUrl ?? "",
      produceTimeoutMs: options.produceTimeoutMs ?? 30_000,
    })) {
      this.#routes.set(kind, r);
    }
    // A granted feature must be served whole: every kind a client may send of it has a route (PW-SESS-005).
    for (const info of frameKindTable.values()) {
      const served = info.sentBy !== "broker" && info.features.length > 0 && info.features.every((f) => this.#host.supportedFeatures.has(f));
      if (served && !this.#routes.has(info.kind)) throw new Error(`broker: frame kind ${info.kind} belongs to granted features but has no route`);
    }
  }

  /**
   * Opens storage, creates the configured topics, binds every listener and
   * the HTTP port, and resolves with a running broker. On failure, anything
   * already opened is closed again.
   */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    await initCodec();
    const given = options.storage;
    const window = resolveLimits(options.limits).idempotenceWindow;
    const storage = given !== undefined && "partition" in given ? given : await openStorage(given ?? { engine: "disk", dir: "polywire-data" }, window);
    const broker = new Broker(options, storage);
    try {
      for (const topic of options.topics ?? []) {
        if (!storage.listTopics().some((t: TopicInfo) => t.name === topic.name)) {
          await storage.createTopic(topic.name, { partitions: topic.partitions, ...(topic.config === undefined ? {} : { config: topic.config }) });
        }
      }
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
      admit: (socket: Socket, scheme: Transport["scheme"]) => this.#admitSocket(socket, scheme),
      onConnection: (transport: Transport, admission: Admission | undefined) => this.#accept(transport, admission),
    };
    // The admin listener is bound first, so that every Welcome can name it (PW-ADMIN-060).
    if (this.http !== undefined && this.#options.http !== undefined) {
      const admin = this.#adminContext();
      this.http.use(async (request, response) => {
        const path = (request.url ?? "/").split("?")[0];
        if (path === "/metrics") {
          sendText(response, 200, await this.metrics.registry.metrics(), this.metrics.registry.contentType);
          return true;
        }
        if (path === "/healthz") {
          sendText(response, 200, "ok\n");
          return true;
        }
        if (path === "/readyz") {
          // PW-ADMIN-042: ready while SERVING or DEGRADED, from the same checks as GetHealth.
          const health = await checkHealth(admin);
          const ready = health.status !== HealthStatus.NOT_SERVING;
          const failing = health.checks?.filter((c) => c.status === HealthStatus.NOT_SERVING).map((c) => `${c.name}: ${c.detail}`) ?? [];
          sendText(response, ready ? 200 : 503, ready ? "ready\n" : `not ready\n${failing.join("\n")}\n`);
          return true;
        }
        return false;
      });
      this.http.use(adminHandler(admin, {
        ...(this.#options.adminAuth === undefined ? {} : { auth: this.#options.adminAuth }),
        maxRequestBytes: this.#maxRequestBytes,
        shutdownSignal: this.http.shutdownSignal,
      }));
      await this.http.listen(this.#options.http.host ?? "127.0.0.1", this.#options.http.port);
    }
    for (const url of this.#options.listeners ?? ["tcp://127.0.0.1:7420"]) {
      this.#listeners.push(await listen(url, context));
    }
    const keepalive = this.#host.keepaliveIntervalMs;
    if (keepalive > 0) {
      this.#sweep = setInterval(() => {
        const now = performance.now();
        for (const session of this.#sessions) {
          if (session.ready && session.idleFor(now) > 2 * keepalive) session.expireIdle();
        }
      }, Math.max(50, keepalive / 2));
      this.#sweep.unref();
    }
    this.#upkeep = new MemoryUpkeep(() => this.#gate.takePeak());
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
      healthThresholds: { ...DEFAULT_HEALTH_THRESHOLDS, ...this.#options.health },
      urls: () => this.urls,
      adminUrl: () => this.httpUrl ?? "",
      state: () => this.#state,
      connections: () => this.connections,
    };
  }

  /**
   * A socket just accepted, before any TLS handshake or upgrade: it takes
   * its place in the connection count (PW-TRANS-007), and is closed if it
   * has not become a session within the handshake timeout (PW-TRANS-008;
   * from then on the session's own deadline, which started here, applies).
   */
  #admitSocket(socket: Socket, scheme: Transport["scheme"]): Admission | undefined {
    const admission = this.#gate.admit();
    if (admission === undefined) {
      this.metrics.connectionsRejected.labels(scheme, "limit").inc();
      return undefined;
    }
    const timer = setTimeout(() => {
      if (!admission.started) socket.destroy();
    }, this.#host.handshakeTimeoutMs);
    timer.unref();
    socket.once("close", () => {
      clearTimeout(timer);
      admission.release();
    });
    return admission;
  }

  #accept(transport: Transport, accepted: Admission | undefined): void {
    // In-process transports have no socket: they are counted here.
    const admission = accepted ?? this.#gate.admit();
    if (this.#state !== "running" || admission === undefined) {
      admission?.release();
      this.metrics.connectionsRejected.labels(transport.scheme, admission === undefined ? "limit" : "draining").inc();
      transport.destroy();
      return;
    }
    admission.started = true;
    const scheme = transport.scheme;
    this.metrics.connectionsAccepted.labels(scheme).inc();
    this.metrics.connections.labels(scheme).inc();
    const session = new ServerSession(transport, this.#host, admission.acceptedAt);
    this.#admissions.set(session, admission);
    this.#sessions.add(session);
  }

  /** The URLs of the bound listeners, in the order configured. */
  get urls(): readonly string[] {
    return this.#listeners.map((l) => l.url);
  }

  /** The HTTP listener's base URL, or undefined without one. */
  get httpUrl(): string | undefined {
    return this.http?.url;
  }

  /** `running`, `draining` (shutting down) or `closed`. */
  get state(): BrokerState {
    return this.#state;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#sessions.size;
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
    const deadlineMs = this.#options.drainDeadlineMs ?? 5_000;
    const sessions = [...this.#sessions];
    await Promise.all(sessions.map(async (session) => {
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
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#upkeep?.stop();
    await Promise.all(this.#listeners.map((l) => l.close()));
    for (const session of this.#sessions) session.destroy();
    await this.storage.close();
    await this.http?.close();
    this.#state = "closed";
  }
}
