/** The group coordinator's broker settings (spec §8). */
export interface GroupConfig {
  /** PW-GROUP-005: a member silent this long is removed. Default 45,000 ms. */
  readonly sessionTimeoutMs: number;
  /** PW-GROUP-004: `heartbeat_interval_ms` for a member with nothing to reconcile. Default 5,000 ms. */
  readonly heartbeatIntervalMs: number;
  /**
   * `heartbeat_interval_ms` for a member with reconciliation under way
   * (partitions to revoke, or target partitions still held by others), so
   * each step of PW-GROUP-020..022 follows the previous one quickly and a
   * freed partition reaches its owner soon (PW-GROUP-024). Default 250 ms.
   */
  readonly reconcileHeartbeatIntervalMs: number;
  /** PW-GROUP-023: used when a heartbeat's `rebalance_timeout_ms` is 0. Default 300,000 ms. */
  readonly defaultRebalanceTimeoutMs: number;
  /** A member cannot hold partitions back longer than this, whatever it asks (PW-GROUP-023). Default 1,800,000 ms. */
  readonly maxRebalanceTimeoutMs: number;
  /** PW-GROUP-012: members per group (reserved static members count). Default unlimited. */
  readonly maxGroupSize: number;
  /** PW-GROUP-017: groups the broker holds (with members or committed offsets). Default 100,000. */
  readonly maxGroups: number;
  /** PW-GROUP-017: members across all groups. Default 100,000. */
  readonly maxMembers: number;
  /** PW-GROUP-046: committed offsets of a group empty this long expire. Default 7 days. */
  readonly offsetRetentionMs: number;
}

export const DEFAULT_GROUP_CONFIG: GroupConfig = Object.freeze({
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 5_000,
  reconcileHeartbeatIntervalMs: 250,
  defaultRebalanceTimeoutMs: 300_000,
  maxRebalanceTimeoutMs: 1_800_000,
  maxGroupSize: Number.POSITIVE_INFINITY,
  maxGroups: 100_000,
  maxMembers: 100_000,
  offsetRetentionMs: 7 * 24 * 3_600_000,
});

/** Fills defaults and checks the settings against each other. */
export function resolveGroupConfig(overrides: Partial<GroupConfig> = {}): GroupConfig {
  const config = { ...DEFAULT_GROUP_CONFIG, ...overrides };
  for (const [key, value] of Object.entries(config)) {
    const unlimited = key === "maxGroupSize" && value === Number.POSITIVE_INFINITY;
    if (!unlimited && (!Number.isSafeInteger(value) || value < 1)) throw new RangeError(`groups.${key} must be a positive integer, got ${String(value)}`);
  }
  // A member heartbeating at the interval must never look dead.
  if (config.heartbeatIntervalMs >= config.sessionTimeoutMs) throw new RangeError("groups.heartbeatIntervalMs must be below groups.sessionTimeoutMs");
  if (config.reconcileHeartbeatIntervalMs > config.heartbeatIntervalMs) throw new RangeError("groups.reconcileHeartbeatIntervalMs must not exceed groups.heartbeatIntervalMs");
  if (config.defaultRebalanceTimeoutMs > config.maxRebalanceTimeoutMs) throw new RangeError("groups.defaultRebalanceTimeoutMs must not exceed groups.maxRebalanceTimeoutMs");
  // heartbeat_interval_ms is a uint32 on the wire.
  if (config.heartbeatIntervalMs > 0xffff_ffff) throw new RangeError("groups.heartbeatIntervalMs must fit in 32 bits");
  return Object.freeze(config);
}
