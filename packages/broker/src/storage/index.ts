/**
 * The broker's storage layer: the {@link Storage} contract and its two
 * engines, disk (durable, the default) and memory. Each partition is a
 * `PartitionFront` (the append rules: state, limits, idempotence, offsets)
 * over an engine's `PartitionEngine` (bytes placed, kept and served).
 */
export type * from "./storage.js";
export { StorageError, type StorageErrorCode } from "./errors.js";
export { TOPIC_CONFIG_DEFAULTS, TOPIC_CONFIG_KEYS, parseSettings, type TopicSettings } from "./config.js";
export { openDiskStorage } from "./disk.js";
export { openMemoryStorage } from "./memory.js";
