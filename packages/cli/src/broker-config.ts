import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { AdminToken } from "@polywire/broker";
import { UsageError } from "./args.js";

/**
 * The broker's config file (`polywire broker --config broker.json`), JSON.
 * Every key is optional; command-line flags override it. Relative paths
 * (`dataDir`, `tls.*`) are relative to the file's directory.
 */
export interface BrokerConfigFile {
  listen?: string[];
  dataDir?: string;
  memory?: boolean;
  fsync?: "always" | "interval" | "never";
  /** `"name:partitions"` or `{ name, partitions, config }`. */
  topics?: Array<string | { name: string; partitions: number; config?: Record<string, string> }>;
  /** The admin listener; false serves none (default `{ port: 7421 }`, PW-ADMIN-062). `maxRequestBytes` is the largest admin request message read (the broker checks its range). */
  http?: { host?: string; port: number; maxRequestBytes?: number } | false;
  tls?: { cert: string; key: string; ca?: string };
  brokerId?: string;
  clusterId?: string;
  drainMs?: number;
  /** PW-SESS-008, PW-TRANS-008: from accept to Welcome, TLS handshake included, ms (default 10 000). */
  handshakeTimeoutMs?: number;
  limits?: Record<string, number>;
  topicDefaults?: Record<string, string>;
  health?: { minFreeBytes?: number; minFreeRatio?: number };
  /** How often retention and producer-id expiry run, ms (storage `retentionCheckIntervalMs`). */
  retentionCheckIntervalMs?: number;
  /** Producer ids idle this long are forgotten, ms; -1 never (storage `producerIdExpirationMs`, PW-IDEM-011). */
  producerIdExpirationMs?: number;
  /** Admin bearer tokens (PW-ADMIN-046); each entry gives `token` or `tokenFile` (a file holding it), read here. */
  adminAuth?: { tokens: AdminToken[] };
}

const KEYS = ["listen", "dataDir", "memory", "fsync", "topics", "http", "tls", "brokerId", "clusterId", "drainMs", "handshakeTimeoutMs", "limits", "topicDefaults", "health", "adminAuth", "retentionCheckIntervalMs", "producerIdExpirationMs"];
const LIMIT_KEYS = ["maxFrameSize", "maxBatchSize", "maxUncompressedBatchSize", "idempotenceWindow", "maxInFlight", "maxConnections", "maxBufferedInboundBytes"];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function fail(file: string, message: string): never {
  throw new UsageError(`config file ${file}: ${message}`);
}

function object(file: string, key: string, value: Json | undefined, keys: readonly string[]): Record<string, Json> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(file, `${key} must be an object`);
  for (const k of Object.keys(value)) {
    if (keys.length > 0 && !keys.includes(k)) fail(file, `unknown key ${JSON.stringify(`${key}.${k}`)}; known: ${keys.join(", ")}`);
  }
  return value;
}

function string(file: string, key: string, value: Json | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") fail(file, `${key} must be a string`);
  return value;
}

function number(file: string, key: string, value: Json | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) fail(file, `${key} must be a non-negative number`);
  return value;
}

function strings(file: string, key: string, value: Json | undefined): Record<string, string> | undefined {
  const o = object(file, key, value, []);
  if (o === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[k] = string(file, `${key}.${k}`, v) as string;
  return out;
}

/** Reads and validates a broker config file; every problem is a usage error naming the file and key. */
export function readBrokerConfig(path: string): BrokerConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--config: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch (error) {
    return fail(path, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const root = object(path, "(top level)", parsed, KEYS) ?? {};
  const base = dirname(resolve(path));
  const relative = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(base, p));
  const config: BrokerConfigFile = {};
  if (root.listen !== undefined) {
    if (!Array.isArray(root.listen) || root.listen.length === 0) fail(path, "listen must be a non-empty array of URLs");
    config.listen = root.listen.map((u, i) => string(path, `listen[${i}]`, u) as string);
  }
  const dataDir = relative(string(path, "dataDir", root.dataDir));
  if (dataDir !== undefined) config.dataDir = dataDir;
  if (root.memory !== undefined) {
    if (typeof root.memory !== "boolean") fail(path, "memory must be true or false");
    config.memory = root.memory;
  }
  const fsync = string(path, "fsync", root.fsync);
  if (fsync !== undefined) {
    if (fsync !== "always" && fsync !== "interval" && fsync !== "never") fail(path, `fsync must be always, interval or never, got ${JSON.stringify(fsync)}`);
    config.fsync = fsync;
  }
  if (root.topics !== undefined) {
    if (!Array.isArray(root.topics)) fail(path, "topics must be an array");
    config.topics = root.topics.map((t, i) => {
      if (typeof t === "string") return t;
      const o = object(path, `topics[${i}]`, t, ["name", "partitions", "config"]) ?? {};
      const name = string(path, `topics[${i}].name`, o.name);
      const partitions = number(path, `topics[${i}].partitions`, o.partitions);
      if (name === undefined || partitions === undefined || !Number.isInteger(partitions) || partitions < 1) fail(path, `topics[${i}] needs a name and a partition count of at least 1`);
      const topicConfig = strings(path, `topics[${i}].config`, o.config);
      return { name, partitions, ...(topicConfig === undefined ? {} : { config: topicConfig }) };
    });
  }
  const http = root.http === false ? undefined : object(path, "http", root.http, ["host", "port", "maxRequestBytes"]);
  if (root.http === false) config.http = false;
  if (http !== undefined) {
    const port = number(path, "http.port", http.port);
    if (port === undefined || !Number.isInteger(port) || port > 65_535) fail(path, "http.port must be a port number (0 picks a free one)");
    const host = string(path, "http.host", http.host);
    const maxRequestBytes = number(path, "http.maxRequestBytes", http.maxRequestBytes);
    config.http = { port, ...(host === undefined ? {} : { host }), ...(maxRequestBytes === undefined ? {} : { maxRequestBytes }) };
  }
  const tls = object(path, "tls", root.tls, ["cert", "key", "ca"]);
  if (tls !== undefined) {
    const cert = relative(string(path, "tls.cert", tls.cert));
    const key = relative(string(path, "tls.key", tls.key));
    if (cert === undefined || key === undefined) fail(path, "tls needs cert and key (PEM file paths)");
    const ca = relative(string(path, "tls.ca", tls.ca));
    config.tls = { cert, key, ...(ca === undefined ? {} : { ca }) };
  }
  for (const key of ["brokerId", "clusterId"] as const) {
    const v = string(path, key, root[key]);
    if (v !== undefined) config[key] = v;
  }
  const drainMs = number(path, "drainMs", root.drainMs);
  if (drainMs !== undefined) config.drainMs = drainMs;
  const handshakeTimeoutMs = number(path, "handshakeTimeoutMs", root.handshakeTimeoutMs);
  if (handshakeTimeoutMs !== undefined) {
    if (!Number.isInteger(handshakeTimeoutMs) || handshakeTimeoutMs < 1) fail(path, "handshakeTimeoutMs must be a positive number of milliseconds");
    config.handshakeTimeoutMs = handshakeTimeoutMs;
  }
  const limits = object(path, "limits", root.limits, LIMIT_KEYS);
  if (limits !== undefined) config.limits = Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, number(path, `limits.${k}`, v) as number]));
  const topicDefaults = strings(path, "topicDefaults", root.topicDefaults);
  if (topicDefaults !== undefined) config.topicDefaults = topicDefaults;
  const health = object(path, "health", root.health, ["minFreeBytes", "minFreeRatio"]);
  if (health !== undefined) {
    const minFreeBytes = number(path, "health.minFreeBytes", health.minFreeBytes);
    const minFreeRatio = number(path, "health.minFreeRatio", health.minFreeRatio);
    config.health = { ...(minFreeBytes === undefined ? {} : { minFreeBytes }), ...(minFreeRatio === undefined ? {} : { minFreeRatio }) };
  }
  const retentionCheckIntervalMs = number(path, "retentionCheckIntervalMs", root.retentionCheckIntervalMs);
  if (retentionCheckIntervalMs !== undefined) config.retentionCheckIntervalMs = retentionCheckIntervalMs;
  if (root.producerIdExpirationMs !== undefined) {
    const expiry = root.producerIdExpirationMs;
    if (expiry !== -1 && (typeof expiry !== "number" || !Number.isInteger(expiry) || expiry < 1)) fail(path, "producerIdExpirationMs must be a positive number of milliseconds, or -1 to never forget producer ids");
    config.producerIdExpirationMs = expiry;
  }
  const adminAuth = object(path, "adminAuth", root.adminAuth, ["tokens"]);
  if (adminAuth !== undefined) config.adminAuth = { tokens: adminTokens(path, adminAuth.tokens, relative) };
  return config;
}

function adminTokens(file: string, value: Json | undefined, relative: (p: string | undefined) => string | undefined): AdminToken[] {
  if (!Array.isArray(value) || value.length === 0) fail(file, "adminAuth.tokens must be a non-empty array of { principal, role, token | tokenFile }");
  return value.map((entry, i) => {
    const key = `adminAuth.tokens[${i}]`;
    const o = object(file, key, entry, ["principal", "role", "token", "tokenFile"]) ?? {};
    const principal = string(file, `${key}.principal`, o.principal);
    if (principal === undefined || principal === "") fail(file, `${key} needs a principal (a name for logs and errors)`);
    const role = string(file, `${key}.role`, o.role);
    if (role !== "viewer" && role !== "admin") fail(file, `${key}.role must be "viewer" (read-only RPCs) or "admin" (every RPC)`);
    const inline = string(file, `${key}.token`, o.token);
    const tokenFile = relative(string(file, `${key}.tokenFile`, o.tokenFile));
    if ((inline === undefined) === (tokenFile === undefined)) fail(file, `${key} needs exactly one of token and tokenFile`);
    let token = inline;
    if (tokenFile !== undefined) {
      try {
        // A secret mounted as a file usually ends with a newline that is not part of it.
        token = readFileSync(tokenFile, "utf8").trim();
      } catch (error) {
        fail(file, `${key}.tokenFile: cannot read ${tokenFile}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (token === undefined || token === "") fail(file, `${key}: the token is empty`);
    return { principal, role, token };
  });
}
