import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseTransportUrl } from "@polywire/core";
import { adminTokenProblem, type AdminToken } from "../admin/auth.js";
import type { BrokerOptions, TopicSpec } from "../broker.js";
import { DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT, DEFAULT_HTTP_LIMITS, resolveHttpListener, type HttpListenerOptions } from "../http-settings.js";
import { DEFAULT_LIMITS, resolveLimits } from "../limits.js";
import type { BrokerTlsOptions } from "../broker.js";
import { clip, quote } from "../quote.js";
import type { StorageConfig } from "../storage/engine-config.js";
import { checkProducerIdExpiration, checkRetentionInterval } from "../storage/catalog.js";
import { checkPartitionCount, checkTopicName, parseSettings } from "../storage/config.js";
import { StorageError } from "../storage/errors.js";
import { checkMaxOpenFiles } from "../storage/file-pool.js";
import { badSetting } from "./errors.js";
import { array, boolean, child, number, object, string, strings } from "./json.js";
import { BROKER_CONFIG_ALIASES } from "./schema.js";
import { DEFAULT_GROUP_CONFIG } from "../groups/config.js";
import { checkRpcOptions, RPC_OPTION_KEYS } from "../rpc-plane.js";
import { checkId, DEFAULT_DATA_DIR, DEFAULT_TIMINGS, resolveGroupSettings, resolveHealthThresholds, resolveTimings, type BrokerTimings } from "./settings.js";

/** The keys of a config file, by the object holding them ("" the top level). */
export const CONFIG_KEYS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  "": ["listeners", "storage", "topics", "http", "tls", "limits", "adminAuth", "health", "groups", "rpc", "brokerId", "clusterId", ...Object.keys(DEFAULT_TIMINGS), "checksumFrames"],
  storage: ["engine", "dir", "fsync", "topicDefaults", "retentionCheckIntervalMs", "producerIdExpirationMs", "maxOpenFiles"],
  http: ["host", "port", "maxRequestBytes", ...Object.keys(DEFAULT_HTTP_LIMITS)],
  tls: ["cert", "key", "ca"],
  limits: Object.keys(DEFAULT_LIMITS),
  adminAuth: ["tokens"],
  "adminAuth.tokens[]": ["principal", "role", "token", "tokenFile"],
  health: ["minFreeBytes", "minFreeRatio"],
  groups: Object.keys(DEFAULT_GROUP_CONFIG),
  rpc: RPC_OPTION_KEYS,
  "topics[]": ["name", "partitions", "config"],
});
const keys = (of: string): readonly string[] => CONFIG_KEYS[of] as readonly string[];
/** Settings of the disk engine alone. */
const DISK_KEYS = ["dir", "fsync", "maxOpenFiles"];

/**
 * A config file with its old key names (`BROKER_CONFIG_ALIASES`) rewritten
 * to the current ones; naming a key by both names is an error. A tool that
 * lays its own settings over a file (flags) does it on this form.
 */
export function upgradeBrokerConfig(json: unknown): Record<string, unknown> {
  const root = { ...object("", json) };
  let storage: Record<string, unknown> | undefined;
  for (const [old, current] of Object.entries(BROKER_CONFIG_ALIASES)) {
    if (!(old in root)) continue;
    let value = root[old];
    delete root[old];
    if (old === "memory") value = boolean(old, value) === true ? "memory" : "disk";
    const [head, tail] = current.split(".") as [string, string | undefined];
    if (tail === undefined) {
      if (head in root) badSetting(old, `is the old name of ${current}; give one of them`);
      root[head] = value;
      continue;
    }
    storage ??= { ...object("storage", root.storage) };
    if (tail in storage) badSetting(old, `is the old name of ${current}; give one of them`);
    storage[tail] = value;
  }
  if (storage !== undefined) root.storage = storage;
  return root;
}

/**
 * Reads a parsed config file (a {@link BrokerConfig}, old key names
 * included) into {@link BrokerOptions}: paths relative to `baseDir`,
 * PEM and token files read, every value checked by the check the broker
 * runs on it. Settings the file leaves out are left out of the options, so
 * the broker's defaults apply; only `http` has a default of its own here
 * (see `BrokerConfig.http`). A bad value is a {@link BrokerConfigError}
 * naming its key.
 */
export function brokerOptionsFromConfig(json: unknown, baseDir: string): BrokerOptions {
  const root = object("", upgradeBrokerConfig(json), keys("")) as Record<string, unknown>;
  const path = (key: string, value: unknown): string | undefined => {
    const p = string(key, value);
    return p === undefined ? undefined : resolve(baseDir, p);
  };
  const storage = storageConfig(root.storage, path);
  const topicDefaults = storage !== undefined && "topicDefaults" in storage ? storage.topicDefaults : undefined;
  const timings: Partial<Record<keyof BrokerTimings, number>> = {};
  for (const key of Object.keys(DEFAULT_TIMINGS) as Array<keyof BrokerTimings>) {
    const value = number(key, root[key]);
    if (value !== undefined) timings[key] = value;
  }
  resolveTimings(timings);
  const brokerId = root.brokerId === undefined ? undefined : checkId("brokerId", root.brokerId);
  const clusterId = root.clusterId === undefined ? undefined : checkId("clusterId", root.clusterId);
  const checksumFrames = boolean("checksumFrames", root.checksumFrames);
  const listeners = listenerUrls(root.listeners);
  const topics = topicSpecs(root.topics, topicDefaults ?? {});
  const http = httpListener(root.http);
  const tls = tlsFiles(root.tls, path);
  const limits = numbers("limits", root.limits, keys("limits"));
  if (limits !== undefined) resolveLimits(limits);
  const health = numbers("health", root.health, keys("health"));
  if (health !== undefined) resolveHealthThresholds(health);
  const groups = root.groups === false ? false : numbers("groups", root.groups, keys("groups"));
  if (groups !== undefined && groups !== false) resolveGroupSettings(groups);
  const rpc = numbers("rpc", root.rpc, keys("rpc"));
  if (rpc !== undefined) checkRpcOptions(rpc);
  const adminAuth = object("adminAuth", root.adminAuth, keys("adminAuth"));
  return {
    ...(listeners === undefined ? {} : { listeners }),
    ...(storage === undefined ? {} : { storage }),
    ...(topics === undefined ? {} : { topics }),
    ...(http === undefined ? {} : { http }),
    ...(tls === undefined ? {} : { tls }),
    ...(limits === undefined ? {} : { limits }),
    ...(adminAuth === undefined ? {} : { adminAuth: { tokens: adminTokens(adminAuth.tokens, path) } }),
    ...(health === undefined ? {} : { health }),
    ...(groups === undefined ? {} : { groups }),
    ...(rpc === undefined ? {} : { rpc }),
    ...(brokerId === undefined ? {} : { brokerId }),
    ...(clusterId === undefined ? {} : { clusterId }),
    ...timings,
    ...(checksumFrames === undefined ? {} : { checksumFrames }),
  };
}

/** Runs one of storage's own checks, naming `key` when it fails. */
function storageCheck(key: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof StorageError) badSetting(key, `: ${error.message}`, { cause: error });
    throw error;
  }
}

function numbers(key: string, value: unknown, known: readonly string[]): Record<string, number> | undefined {
  const o = object(key, value, known);
  if (o === undefined) return undefined;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, number(child(key, k), v) as number]));
}

function listenerUrls(value: unknown): string[] | undefined {
  const urls = array("listeners", value);
  if (urls === undefined) return undefined;
  if (urls.length === 0) badSetting("listeners", "must name at least one listener URL");
  return urls.map((u, i) => {
    const url = string(`listeners[${i}]`, u) as string;
    try {
      parseTransportUrl(url);
    } catch (error) {
      // The transport's message quotes the URL whole.
      badSetting(`listeners[${i}]`, `: ${clip(error instanceof Error ? error.message : String(error))}`, { cause: error });
    }
    return url;
  });
}

function storageConfig(value: unknown, path: (key: string, value: unknown) => string | undefined): StorageConfig | undefined {
  const o = object("storage", value, keys("storage"));
  if (o === undefined) return undefined;
  const engine = string("storage.engine", o.engine) ?? "disk";
  if (engine !== "disk" && engine !== "memory") badSetting("storage.engine", `must be "disk" or "memory", got ${quote(engine)}`);
  const topicDefaults = strings("storage.topicDefaults", o.topicDefaults);
  if (topicDefaults !== undefined) storageCheck("storage.topicDefaults", () => parseSettings(topicDefaults));
  const retentionCheckIntervalMs = number("storage.retentionCheckIntervalMs", o.retentionCheckIntervalMs);
  storageCheck("storage.retentionCheckIntervalMs", () => checkRetentionInterval(retentionCheckIntervalMs));
  const producerIdExpirationMs = number("storage.producerIdExpirationMs", o.producerIdExpirationMs);
  storageCheck("storage.producerIdExpirationMs", () => checkProducerIdExpiration(producerIdExpirationMs));
  const shared = {
    ...(topicDefaults === undefined ? {} : { topicDefaults }),
    ...(retentionCheckIntervalMs === undefined ? {} : { retentionCheckIntervalMs }),
    ...(producerIdExpirationMs === undefined ? {} : { producerIdExpirationMs }),
  };
  if (engine === "memory") {
    const diskOnly = DISK_KEYS.find((k) => o[k] !== undefined);
    if (diskOnly !== undefined) badSetting(`storage.${diskOnly}`, "is a setting of the disk engine, but storage.engine is memory");
    return { engine, ...shared };
  }
  const fsync = string("storage.fsync", o.fsync);
  if (fsync !== undefined) storageCheck("storage.fsync", () => parseSettings({ "fsync.policy": fsync }));
  const maxOpenFiles = number("storage.maxOpenFiles", o.maxOpenFiles);
  storageCheck("storage.maxOpenFiles", () => checkMaxOpenFiles(maxOpenFiles));
  return {
    engine,
    dir: path("storage.dir", o.dir) ?? DEFAULT_DATA_DIR,
    ...(fsync === undefined ? {} : { fsync: fsync as "always" | "interval" | "never" }),
    ...(maxOpenFiles === undefined ? {} : { maxOpenFiles }),
    ...shared,
  };
}

const TOPIC = /^(.+):([1-9][0-9]*)$/;

function topicSpecs(value: unknown, topicDefaults: Readonly<Record<string, string>>): TopicSpec[] | undefined {
  return array("topics", value)?.map((t, i) => {
    const key = `topics[${i}]`;
    let spec: TopicSpec;
    if (typeof t === "string") {
      const match = TOPIC.exec(t);
      if (match === null) badSetting(key, `must be name:partitions (or an object { name, partitions, config }), got ${quote(t)}`);
      spec = { name: match[1] as string, partitions: Number(match[2]) };
    } else {
      const o = object(key, t, keys("topics[]")) as Record<string, unknown>;
      const name = string(`${key}.name`, o.name);
      const partitions = number(`${key}.partitions`, o.partitions);
      if (name === undefined || partitions === undefined) badSetting(key, "needs a name and a partition count");
      const config = strings(`${key}.config`, o.config);
      spec = { name, partitions, ...(config === undefined ? {} : { config }) };
    }
    storageCheck(`${key}.name`, () => checkTopicName(spec.name));
    storageCheck(`${key}.partitions`, () => checkPartitionCount(spec.partitions));
    const config = spec.config;
    if (config !== undefined) storageCheck(`${key}.config`, () => parseSettings({ ...topicDefaults, ...config }));
    return spec;
  });
}

function httpListener(value: unknown): HttpListenerOptions | undefined {
  if (value === false) return undefined;
  const o = object("http", value ?? {}, keys("http")) as Record<string, unknown>;
  const given: Record<string, unknown> = {};
  for (const k of keys("http")) {
    const v = k === "host" ? string("http.host", o[k]) : number(`http.${k}`, o[k]);
    if (v !== undefined) given[k] = v;
  }
  const options = { host: DEFAULT_ADMIN_HOST, port: DEFAULT_ADMIN_PORT, ...given } as HttpListenerOptions;
  resolveHttpListener(options);
  return options;
}

function readSecret(key: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    return badSetting(key, `: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function tlsFiles(value: unknown, path: (key: string, value: unknown) => string | undefined): BrokerTlsOptions | undefined {
  const o = object("tls", value, keys("tls"));
  if (o === undefined) return undefined;
  const cert = path("tls.cert", o.cert);
  const key = path("tls.key", o.key);
  if (cert === undefined || key === undefined) badSetting("tls", "needs cert and key (PEM files)");
  const ca = path("tls.ca", o.ca);
  return { cert: readSecret("tls.cert", cert), key: readSecret("tls.key", key), ...(ca === undefined ? {} : { ca: readSecret("tls.ca", ca) }) };
}

function adminTokens(value: unknown, path: (key: string, value: unknown) => string | undefined): AdminToken[] {
  const entries = array("adminAuth.tokens", value);
  if (entries === undefined || entries.length === 0) badSetting("adminAuth.tokens", "must list at least one { principal, role, token | tokenFile }");
  return entries.map((entry, i) => {
    const key = `adminAuth.tokens[${i}]`;
    const o = object(key, entry, keys("adminAuth.tokens[]")) as Record<string, unknown>;
    const inline = string(`${key}.token`, o.token);
    const tokenFile = path(`${key}.tokenFile`, o.tokenFile);
    if ((inline === undefined) === (tokenFile === undefined)) badSetting(key, "needs exactly one of token and tokenFile");
    // A secret mounted as a file usually ends with a newline that is not part of it.
    const token = inline ?? readSecret(`${key}.tokenFile`, tokenFile as string).trim();
    const candidate = { principal: o.principal, role: o.role, token };
    const problem = adminTokenProblem(candidate);
    if (problem !== undefined) badSetting(problem.field === "token" && tokenFile !== undefined ? `${key}.tokenFile` : `${key}.${problem.field}`, problem.problem);
    return candidate as AdminToken;
  });
}
