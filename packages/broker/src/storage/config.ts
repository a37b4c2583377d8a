import { BATCH_HEADER_SIZE } from "@polywire/wasm-codec";
import { StorageError } from "./errors.js";
import type { FsyncPolicy } from "./storage.js";
import { quote } from "../quote.js";

/**
 * Built-in defaults of every topic config key (TopicConfig.entries). A broker
 * overrides them with `StorageOptions.topicDefaults`, a topic with its own
 * entries. `-1` means unlimited for the retention keys.
 */
export const TOPIC_CONFIG_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  "retention.ms": "604800000",
  "retention.bytes": "-1",
  "segment.bytes": "1073741824",
  "segment.ms": "604800000",
  "max.message.bytes": "8388608",
  "fsync.policy": "interval",
  "fsync.interval.ms": "1000",
});

/** Every config key storage understands. */
export const TOPIC_CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(TOPIC_CONFIG_DEFAULTS));

/** A topic's effective configuration, parsed. */
export interface TopicSettings {
  /** Segments whose newest record is older than this are deleted; -1 keeps them. */
  readonly retentionMs: number;
  /** Oldest segments are deleted while the partition is larger than this; -1 keeps them. */
  readonly retentionBytes: number;
  /** A segment rolls before it would grow past this. */
  readonly segmentBytes: number;
  /** A segment rolls once it is this old. */
  readonly segmentMs: number;
  /** Largest batch a topic accepts. */
  readonly maxMessageBytes: number;
  readonly fsyncPolicy: FsyncPolicy;
  readonly fsyncIntervalMs: number;
}

const INTEGER = /^-?(0|[1-9][0-9]*)$/;

function integer(key: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!INTEGER.test(value)) {
    throw new StorageError("INVALID_CONFIG", `${key} must be a decimal integer, got ${quote(value)}`);
  }
  const n = Number(value);
  if (n < min || n > max) {
    throw new StorageError("INVALID_CONFIG", `${key} must be between ${min} and ${max}, got ${quote(value)}`);
  }
  return n;
}

function retention(key: string, value: string): number {
  const n = integer(key, value, -1);
  if (n === 0) throw new StorageError("INVALID_CONFIG", `${key} must be positive or -1 (unlimited), got 0`);
  return n;
}

function fsyncPolicy(value: string): FsyncPolicy {
  if (value === "always" || value === "interval" || value === "never") return value;
  throw new StorageError("INVALID_CONFIG", `fsync.policy must be always, interval or never, got ${quote(value)}`);
}

/** Rejects keys storage does not know, so a typo never passes silently. */
export function checkConfigKeys(entries: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(entries)) {
    if (!Object.hasOwn(TOPIC_CONFIG_DEFAULTS, key)) {
      throw new StorageError("INVALID_CONFIG", `unknown topic config key ${quote(key)}; known keys: ${TOPIC_CONFIG_KEYS.join(", ")}`);
    }
  }
}

/** Merges built-in defaults, broker defaults and topic overrides into the effective entries. */
export function effectiveConfig(
  brokerDefaults: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  return { ...TOPIC_CONFIG_DEFAULTS, ...brokerDefaults, ...overrides };
}

/** Parses and validates effective entries; throws `INVALID_CONFIG` naming the bad key. */
export function parseSettings(entries: Readonly<Record<string, string>>): TopicSettings {
  checkConfigKeys(entries);
  const get = (key: string): string => entries[key] ?? (TOPIC_CONFIG_DEFAULTS[key] as string);
  return {
    retentionMs: retention("retention.ms", get("retention.ms")),
    retentionBytes: retention("retention.bytes", get("retention.bytes")),
    segmentBytes: integer("segment.bytes", get("segment.bytes"), 1024, 2 ** 31 - 1),
    segmentMs: integer("segment.ms", get("segment.ms"), 1),
    // No batch is smaller than its header.
    maxMessageBytes: integer("max.message.bytes", get("max.message.bytes"), BATCH_HEADER_SIZE, 2 ** 31 - 1),
    fsyncPolicy: fsyncPolicy(get("fsync.policy")),
    fsyncIntervalMs: integer("fsync.interval.ms", get("fsync.interval.ms"), 1, 2 ** 31 - 1),
  };
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Topic names become directory names, so they are restricted as Kafka
 * restricts them: 1-249 characters of `[A-Za-z0-9._-]`, not `.` or `..`.
 */
export function checkTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === "." || name === "..") {
    throw new StorageError("INVALID_TOPIC", `invalid topic name ${quote(name)}: use 1-249 characters of A-Z a-z 0-9 . _ -, not "." or ".."`);
  }
}

/** Partition counts are 1..100 000. */
export const MAX_PARTITIONS = 100_000;

export function checkPartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new StorageError("INVALID_ARGUMENT", `partition count must be an integer from 1 to ${MAX_PARTITIONS}, got ${count}`);
  }
}
