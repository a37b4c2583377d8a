import { DEFAULT_HEALTH_THRESHOLDS, type HealthThresholds } from "../admin/context.js";
import { DEFAULT_GROUP_CONFIG, resolveGroupConfig, type GroupConfig } from "../groups/config.js";
import { quote } from "../quote.js";
import { badSetting, integerSetting } from "./errors.js";

/**
 * The broker's own settings that are plain values, with their defaults and
 * checks in one place: {@link Broker} runs them on its options, the config
 * file reader on the file, so a setting has one default and one check.
 */

/** Where a broker listens when told nothing (PW-TRANS-006). */
export const DEFAULT_LISTENERS: readonly string[] = Object.freeze(["tcp://127.0.0.1:7420"]);

/** Where the disk engine keeps data when told nothing: relative to the working directory. */
export const DEFAULT_DATA_DIR = "polywire-data";

/** The broker's deadlines and periods, in milliseconds. */
export interface BrokerTimings {
  /** From accept to Welcome, TLS handshake included (PW-SESS-008, PW-TRANS-008). */
  readonly handshakeTimeoutMs: number;
  /** `Welcome.keepalive_interval_ms`; silent connections close after twice this; 0 turns keepalive off. */
  readonly keepaliveIntervalMs: number;
  /** Drain deadline sent to clients at shutdown (PW-SESS-015); 0 closes at once. */
  readonly drainDeadlineMs: number;
  /** ACKS_ALL deadline when a produce says 0 (PW-LOG-008). */
  readonly produceTimeoutMs: number;
}

/** Defaults of {@link BrokerTimings}. */
export const DEFAULT_TIMINGS: BrokerTimings = Object.freeze({
  handshakeTimeoutMs: 10_000,
  keepaliveIntervalMs: 30_000,
  drainDeadlineMs: 5_000,
  produceTimeoutMs: 30_000,
});

/** The longest delay a Node.js timer takes; every period must fit in `Welcome`'s uint32 too. */
const MAX_MS = 2_147_483_647;

/** Fills defaults and checks every timing; a {@link BrokerConfigError} naming the key otherwise. */
export function resolveTimings(given: Partial<BrokerTimings>): BrokerTimings {
  const ms = (key: keyof BrokerTimings, min: number): number =>
    integerSetting(key, given[key] ?? DEFAULT_TIMINGS[key], min, MAX_MS, "a number of milliseconds");
  return {
    handshakeTimeoutMs: ms("handshakeTimeoutMs", 1),
    keepaliveIntervalMs: ms("keepaliveIntervalMs", 0),
    drainDeadlineMs: ms("drainDeadlineMs", 0),
    produceTimeoutMs: ms("produceTimeoutMs", 1),
  };
}

/** Fills defaults and checks the `storage` health check's thresholds (PW-ADMIN-041). */
export function resolveHealthThresholds(given: Partial<HealthThresholds> = {}): HealthThresholds {
  const minFreeBytes = integerSetting("health.minFreeBytes", given.minFreeBytes ?? DEFAULT_HEALTH_THRESHOLDS.minFreeBytes, 0, Number.MAX_SAFE_INTEGER, "a number of bytes");
  const minFreeRatio = given.minFreeRatio ?? DEFAULT_HEALTH_THRESHOLDS.minFreeRatio;
  if (typeof minFreeRatio !== "number" || !(minFreeRatio >= 0 && minFreeRatio <= 1)) badSetting("health.minFreeRatio", `must be a fraction from 0 to 1, got ${quote(minFreeRatio)}`);
  return { minFreeBytes, minFreeRatio };
}

/** Checks a broker or cluster id: a non-empty string. */
export function checkId(key: "brokerId" | "clusterId", value: unknown): string {
  if (typeof value !== "string" || value === "") badSetting(key, "must be a non-empty string");
  return value;
}

/**
 * Checks the consumer-group settings (`groups`, spec §8): known keys, each a
 * positive integer, consistent with each other; a {@link BrokerConfigError}
 * naming the key otherwise.
 */
export function resolveGroupSettings(given: Partial<GroupConfig>): GroupConfig {
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(DEFAULT_GROUP_CONFIG, key)) badSetting(`groups.${key}`, `is not a setting; use ${Object.keys(DEFAULT_GROUP_CONFIG).join(", ")}`);
  }
  try {
    return resolveGroupConfig(given);
  } catch (error) {
    // resolveGroupConfig names the key first: "groups.sessionTimeoutMs must be ...".
    const named = error instanceof RangeError ? /^(groups\.\w+) (.*)$/s.exec(error.message) : null;
    if (named !== null) badSetting(named[1] as string, named[2] as string, { cause: error });
    throw error;
  }
}
