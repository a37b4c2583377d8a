import type { AdminClient } from "../wire/admin-client.js";
import type { DialTls, InProcessDialer } from "../wire/dial.js";

/** What a target can do beyond serving clients; cases that need more are skipped with the reason. */
export interface TargetCapabilities {
  /** `restart()` stops and starts the broker on the same data. */
  readonly restart: boolean;
  /** `crashable()` gives a broker process the runner may SIGKILL. */
  readonly crash: boolean;
  /** `variant()` starts a differently configured broker of the same implementation. */
  readonly variants: boolean;
  /** The broker runs with no configuration, so the defaults of PW-LIM-005 apply. */
  readonly defaultConfig: boolean;
}

/** The data-plane transports of PW-TRANS-001. */
export type ListenerScheme = "tcp" | "tls" | "unix" | "ws" | "wss" | "memory" | "worker";

/** Server TLS material of a variant's `tls://` and `wss://` listeners (PEM). */
export interface VariantTls {
  readonly cert: string;
  readonly key: string;
  /** CA that client certificates must verify against (PW-TRANS-004); without it clients are not asked for one. */
  readonly ca?: string;
}

/** Limits of §4 a variant may set (the reference broker's `BrokerLimits` names). */
export interface VariantLimits {
  readonly maxFrameSize?: number;
  readonly maxBatchSize?: number;
  readonly maxUncompressedBatchSize?: number;
  readonly idempotenceWindow?: number;
  readonly maxInFlight?: number;
  /** Open client connections (PW-LIM-004). */
  readonly maxConnections?: number;
  /** Bytes of unread frames held across all connections (PW-LIM-006). */
  readonly maxBufferedInboundBytes?: number;
}

/** Limits of the admin listener a variant may set (§11.9; the reference broker's `http.*` names). */
export interface VariantHttpLimits {
  /** Connections open at once (PW-ADMIN-070). */
  readonly maxConnections?: number;
  /** From accept, or the end of the previous request, to a request's whole header block (PW-ADMIN-071). */
  readonly headersTimeoutMs?: number;
  /** From a request's header block to the end of its body (PW-ADMIN-072). */
  readonly requestTimeoutMs?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (PW-ADMIN-073). */
  readonly maxConcurrentStreams?: number;
}

/** Consumer-group settings a variant may set (§8; the reference broker's `groups` names). */
export interface VariantGroups {
  /** PW-GROUP-005. */
  readonly sessionTimeoutMs?: number;
  /** PW-GROUP-004: the interval a member without reconciliation under way is given. */
  readonly heartbeatIntervalMs?: number;
  /** PW-GROUP-004: the interval a member with reconciliation under way is given. */
  readonly reconcileHeartbeatIntervalMs?: number;
  /** PW-GROUP-012. */
  readonly maxGroupSize?: number;
  /** PW-GROUP-017. */
  readonly maxGroups?: number;
  /** PW-GROUP-017. */
  readonly maxMembers?: number;
}

/** Settings of a {@link Target.variant}; absent fields keep the broker defaults. */
export interface VariantOptions {
  readonly limits?: VariantLimits;
  readonly handshakeTimeoutMs?: number;
  readonly drainDeadlineMs?: number;
  /** Memory storage instead of disk (fast InitProducer rounds). */
  readonly memory?: boolean;
  /** Delay every ACKS_ALL append this long, as a slow disk would (PW-LOG-008). */
  readonly slowSyncMs?: number;
  /** Require the TOKEN mechanism with this token (PW-SESS-007). */
  readonly token?: string;
  /** Grant FEATURE_FRAME_CHECKSUM and checksum every frame from Welcome on (PW-SESS-026). */
  readonly checksumFrames?: boolean;
  /**
   * One listener per scheme, on a free port or fresh path (default `tcp`
   * only). `memory` works only for a broker in the runner's process; `tls`
   * and `wss` need `tls`.
   */
  readonly listeners?: readonly ListenerScheme[];
  readonly tls?: VariantTls;
  /** How often retention runs, ms (PW-ADMIN-023); default the broker's one minute. */
  readonly retentionCheckIntervalMs?: number;
  /** Forget producer ids idle this long, ms (PW-IDEM-011); default the broker's one day. */
  readonly producerIdExpirationMs?: number;
  /** Limits of the admin listener. */
  readonly http?: VariantHttpLimits;
  /** Consumer-group settings (§8). */
  readonly groups?: VariantGroups;
  /** Admin authentication (PW-ADMIN-046) with these bearer tokens; the variant's own admin client uses `admin`. */
  readonly adminTokens?: { readonly admin: string; readonly viewer: string };
}

/** A differently configured broker, started for one case. */
export interface VariantBroker extends AsyncDisposable {
  /** The URL of the first listener asked for. */
  readonly url: string;
  /** The URL of each listener, by scheme. */
  readonly urls: Readonly<Partial<Record<ListenerScheme, string>>>;
  createTopic(name: string, partitions: number, config?: Record<string, string>): Promise<void>;
  /** The variant's admin client (§11). */
  readonly admin: AdminClient;
  /** The variant's admin listener (`http://host:port`). */
  readonly adminUrl: string;
  /** Shuts the broker down gracefully: Drain, finish in-flight work, close (PW-SESS-015). */
  close(): Promise<void>;
}

/** A broker process the runner may kill and start again on the same data and port. */
export interface CrashableBroker extends AsyncDisposable {
  readonly url: string;
  createTopic(name: string, partitions: number, config?: Record<string, string>): Promise<void>;
  /** SIGKILL: no Drain, no flush, no Close. */
  kill(): Promise<void>;
  /** Starts the process again after `kill`. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** An admin listener that requires credentials, and the credentials (PW-ADMIN-003, PW-ADMIN-046). */
export interface AdminCredentials {
  /** Its base URL (`http://host:port`). */
  readonly url: string;
  /** A bearer token that may call every admin RPC. */
  readonly adminToken: string;
  /** A bearer token that may call only read-only RPCs, when the broker has such a role. */
  readonly viewerToken: string | undefined;
  /** Releases what was started for them (a variant broker); nothing for an external target. */
  close(): Promise<void>;
}

/**
 * The broker under test: where to connect, how to create topics (the admin
 * plane, or the embedded broker's library API), and what faults the runner
 * can inject.
 */
export interface Target {
  /** For the report: "embedded reference broker", a URL, a mutant's name. */
  readonly name: string;
  /** The data-plane URL cases connect to. */
  readonly url: string;
  /** TLS settings for `tls://` URLs. */
  readonly tls: DialTls | undefined;
  /** Opens the `memory://` URLs of brokers it starts in the runner's process (the embedded target's variants). */
  readonly inProcess?: InProcessDialer;
  readonly capabilities: TargetCapabilities;
  /** Creates a topic with `partitions` partitions and config overrides. */
  createTopic(name: string, partitions: number, config?: Record<string, string>): Promise<void>;
  /** The admin client, when the target has an admin URL. */
  readonly admin: AdminClient | undefined;
  /** The admin listener's base URL (`http://host:port`), when known. */
  readonly adminUrl: string | undefined;
  /** The bearer token admin calls carry, when the admin listener requires one (PW-ADMIN-046). */
  readonly adminToken: string | undefined;
  /** Stops and starts the broker on the same data; resolves once it accepts connections again. */
  restart(): Promise<void>;
  crashable(): Promise<CrashableBroker>;
  variant(options: VariantOptions): Promise<VariantBroker>;
  /** An admin listener with authentication: a variant for the embedded target, the declared tokens for an external one. */
  authenticatedAdmin(): Promise<AdminCredentials>;
  close(): Promise<void>;
}

/** Thrown when a case asks a target for something it cannot do. */
export class Unsupported extends Error {
  override readonly name = "Unsupported";
}
