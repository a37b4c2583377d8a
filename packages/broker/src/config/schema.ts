import type { HealthThresholds } from "../admin/context.js";
import type { GroupConfig } from "../groups/config.js";
import type { HttpListenerOptions } from "../http-settings.js";
import type { BrokerLimits } from "../limits.js";
import type { RpcOptions } from "../rpc-plane.js";
import type { FsyncPolicy } from "../storage/storage.js";

/**
 * A broker's config file (JSON), as `polywire broker --config` reads it and
 * {@link brokerOptionsFromConfig} turns it into {@link BrokerOptions}. Its
 * keys are the option names of `BrokerOptions`; every key is optional;
 * relative paths (`storage.dir`, `tls.*`, `tokenFile`) are relative to the
 * file's directory. Each value is checked by the same function the broker
 * runs on its options, so a bad one is a {@link BrokerConfigError} naming
 * its key.
 *
 * ```json
 * {
 *   "listeners": ["tcp://0.0.0.0:7420", "ws://0.0.0.0:7422/polywire"],
 *   "storage": { "dir": "data", "fsync": "interval", "maxOpenFiles": 512 },
 *   "topics": ["events:6", { "name": "audit", "partitions": 1, "config": { "retention.ms": "-1" } }],
 *   "http": { "host": "127.0.0.1", "port": 7421, "maxConnections": 256 },
 *   "drainDeadlineMs": 5000
 * }
 * ```
 */
export interface BrokerConfig {
  /** Listener URLs (PW-TRANS-001). Default `["tcp://127.0.0.1:7420"]`. */
  readonly listeners?: readonly string[];
  /** Where data lives. Default: disk, in `polywire-data` of the working directory. */
  readonly storage?: StorageFileConfig;
  /** Topics created at start when missing: `"name:partitions"` or `{ name, partitions, config }`. */
  readonly topics?: ReadonlyArray<string | TopicFileSpec>;
  /**
   * The admin listener (§11), `/metrics`, `/healthz` and `/readyz`; `false`
   * serves none. Unlike `BrokerOptions.http`, a config file without it
   * serves the admin plane on 127.0.0.1:7421 (PW-ADMIN-062), and `port` may
   * be left out for 7421.
   */
  readonly http?: Partial<HttpListenerOptions> | false;
  /** PEM files of the `tls://` and `wss://` listeners; `ca` turns on client certificates (PW-TRANS-004). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string };
  /** Limits advertised in Welcome and enforced (§4). */
  readonly limits?: Partial<BrokerLimits>;
  /** Admin bearer tokens (PW-ADMIN-046). */
  readonly adminAuth?: { readonly tokens: readonly AdminTokenFileEntry[] };
  /** When the `storage` health check turns DEGRADED (PW-ADMIN-041). */
  readonly health?: Partial<HealthThresholds>;
  /** Consumer-group settings (§8), or false for a broker without groups. */
  readonly groups?: Partial<GroupConfig> | false;
  /** Request/reply bounds (§10, PW-RPC-006): `maxCallsPerConnection`, `maxRespondersPerConnection`, `maxWaitingCalls`, `maxWaitingBytes`. */
  readonly rpc?: RpcOptions;
  readonly brokerId?: string;
  readonly clusterId?: string;
  readonly handshakeTimeoutMs?: number;
  readonly keepaliveIntervalMs?: number;
  readonly drainDeadlineMs?: number;
  readonly produceTimeoutMs?: number;
  readonly checksumFrames?: boolean;
}

/** `BrokerConfig.storage`: which engine, and its settings. */
export interface StorageFileConfig {
  /** Default `disk`. */
  readonly engine?: "disk" | "memory";
  /** Data directory of the disk engine. Default `polywire-data` in the working directory. */
  readonly dir?: string;
  /** Default `fsync.policy` of topics on disk. */
  readonly fsync?: FsyncPolicy;
  /** Broker-wide topic config defaults (§11.3). */
  readonly topicDefaults?: Readonly<Record<string, string>>;
  readonly retentionCheckIntervalMs?: number;
  readonly producerIdExpirationMs?: number;
  /** Most file descriptors the disk engine holds at once. */
  readonly maxOpenFiles?: number;
}

/** A topic of `BrokerConfig.topics` in object form. */
export interface TopicFileSpec {
  readonly name: string;
  readonly partitions: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** An admin token of the config file: the secret inline (`token`) or in a file (`tokenFile`, read at start; a final newline is dropped). */
export interface AdminTokenFileEntry {
  readonly principal: string;
  readonly role: "viewer" | "admin";
  readonly token?: string;
  readonly tokenFile?: string;
}

/**
 * Old names of config keys, still read as the new ones: a file may use
 * either name of a key, not both. `memory: true` is `storage.engine:
 * "memory"`.
 */
export const BROKER_CONFIG_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  listen: "listeners",
  dataDir: "storage.dir",
  memory: "storage.engine",
  fsync: "storage.fsync",
  topicDefaults: "storage.topicDefaults",
  retentionCheckIntervalMs: "storage.retentionCheckIntervalMs",
  producerIdExpirationMs: "storage.producerIdExpirationMs",
  drainMs: "drainDeadlineMs",
});
