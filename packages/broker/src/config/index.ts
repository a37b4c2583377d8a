/**
 * The broker's configuration: the config file's schema, the reader that
 * turns a file into broker options, and the error every bad setting is.
 */
export { BrokerConfigError } from "./errors.js";
export { brokerOptionsFromConfig, upgradeBrokerConfig } from "./read.js";
export { BROKER_CONFIG_ALIASES } from "./schema.js";
export type { AdminTokenFileEntry, BrokerConfig, StorageFileConfig, TopicFileSpec } from "./schema.js";
export { DEFAULT_DATA_DIR, DEFAULT_LISTENERS, DEFAULT_TIMINGS } from "./settings.js";
export type { BrokerTimings } from "./settings.js";
