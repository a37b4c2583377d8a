import type { GroupCoordinator } from "../groups/index.js";
import type { BrokerMetrics } from "../metrics.js";
import type { Storage } from "../storage/storage.js";

/** Thresholds below which the `storage` health check reports DEGRADED (PW-ADMIN-041). */
export interface HealthThresholds {
  /** Free bytes below this degrade. Default 1 GiB. */
  readonly minFreeBytes: number;
  /** Free space as a fraction of the file system below this degrades. Default 0.1. */
  readonly minFreeRatio: number;
}

/** The spec's suggestion (PW-ADMIN-041): below 10% or 1 GiB free. */
export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = Object.freeze({ minFreeBytes: 2 ** 30, minFreeRatio: 0.1 });

/** The lifecycle states the admin plane distinguishes. */
export type AdminBrokerState = "running" | "draining" | "closed";

/**
 * What the admin services read from the broker. A narrow view rather than
 * the Broker itself, so the services can be tested and reasoned about on
 * their own and the broker stays the only owner of its state.
 */
export interface AdminContext {
  readonly storage: Storage;
  readonly metrics: BrokerMetrics;
  readonly brokerId: string;
  readonly clusterId: string;
  /** Software version (GetHealthResponse.version, BrokerDescription.version). */
  readonly version: string;
  /** Protocol versions the broker speaks. */
  readonly protocolVersions: { readonly min: number; readonly max: number };
  /** `performance.now()` when the broker started. */
  readonly startedAt: number;
  /** Connection limit (PW-LIM-004), for the `connections` health check. */
  readonly maxConnections: number;
  readonly healthThresholds: HealthThresholds;
  /** Data-plane listener URLs. */
  urls(): readonly string[];
  /** The admin listener's base URL. */
  adminUrl(): string;
  state(): AdminBrokerState;
  /** Open data-plane connections. */
  connections(): number;
  /** The consumer-group coordinator; undefined when the broker has no groups plane (PW-ADMIN-029). */
  readonly groups?: GroupCoordinator | undefined;
}
