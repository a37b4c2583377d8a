import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { BrokerConfigError, brokerOptionsFromConfig, upgradeBrokerConfig, type BrokerOptions } from "@polywire/broker";
import { integerFlag, parseFlags, UsageError } from "./args.js";

/**
 * `polywire broker`'s flags, each the command-line name of one key of the
 * broker's config file (`BrokerConfig`, owned by `@polywire/broker`): a flag
 * is laid over the file's value of its key, and the broker reads and checks
 * the result as it reads any config file. Old flag names stay as aliases.
 */
export const BROKER_FLAGS = {
  config: { type: "string" },
  listener: { type: "string", multiple: true },
  listen: { type: "string", multiple: true },
  "storage-dir": { type: "string" },
  "data-dir": { type: "string" },
  memory: { type: "boolean" },
  fsync: { type: "string" },
  topic: { type: "string", multiple: true },
  "http-port": { type: "string" },
  "metrics-port": { type: "string" },
  "http-host": { type: "string" },
  "metrics-host": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  "broker-id": { type: "string" },
  "cluster-id": { type: "string" },
  "drain-deadline-ms": { type: "string" },
  "drain-ms": { type: "string" },
  "max-batch-size": { type: "string" },
  "max-frame-size": { type: "string" },
} as const;

type Values = ReturnType<typeof parseFlags<typeof BROKER_FLAGS>>["values"];
type Json = Record<string, unknown>;

/** A flag's value under its current name or its old one; both is a usage error. */
function either<T>(values: Values, name: keyof Values, old: keyof Values): T | undefined {
  if (values[name] !== undefined && values[old] !== undefined) throw new UsageError(`--${name} and --${String(old)} are the same flag (--${String(old)} is its old name); give one`);
  return (values[name] ?? values[old]) as T | undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The flags as config keys, and which flag set each key (to name the flag in errors). */
function flagSettings(values: Values, fileTopics: number): { overlay: Json; flagOf: Map<string, string> } {
  const overlay: Json = {};
  const flagOf = new Map<string, string>();
  const set = (flag: string, key: string, value: unknown): void => {
    const [head, tail] = key.split(".") as [string, string | undefined];
    if (tail === undefined) overlay[head] = value;
    else overlay[head] = { ...(overlay[head] as Json | undefined), [tail]: value };
    flagOf.set(key, flag);
  };
  const cwd = (p: string): string => resolve(p);
  const listeners = either<string[]>(values, "listener", "listen");
  if (listeners !== undefined) set("--listener", "listeners", listeners);
  const dir = either<string>(values, "storage-dir", "data-dir");
  if (values.memory === true && dir !== undefined) throw new UsageError("--memory and --storage-dir exclude each other");
  if (values.memory === true) set("--memory", "storage.engine", "memory");
  if (dir !== undefined) {
    set("--storage-dir", "storage.engine", "disk");
    set("--storage-dir", "storage.dir", cwd(dir));
  }
  if (values.fsync !== undefined) set("--fsync", "storage.fsync", values.fsync);
  (values.topic ?? []).forEach((t, i) => flagOf.set(`topics[${fileTopics + i}]`, "--topic"));
  if (values.topic !== undefined) overlay.topics = values.topic;
  const port = either<string>(values, "http-port", "metrics-port");
  if (port === "off") overlay.http = false;
  else if (port !== undefined) set("--http-port", "http.port", integerFlag("http-port", port, 0));
  const host = either<string>(values, "http-host", "metrics-host");
  if (host !== undefined && port !== "off") set("--http-host", "http.host", host);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (values["tls-ca"] !== undefined && values["tls-cert"] === undefined) throw new UsageError("--tls-ca needs --tls-cert and --tls-key");
  if (values["tls-cert"] !== undefined) {
    overlay.tls = { cert: cwd(values["tls-cert"]), key: cwd(values["tls-key"] as string), ...(values["tls-ca"] === undefined ? {} : { ca: cwd(values["tls-ca"]) }) };
    for (const part of ["cert", "key", "ca"]) flagOf.set(`tls.${part}`, `--tls-${part}`);
  }
  if (values["broker-id"] !== undefined) set("--broker-id", "brokerId", values["broker-id"]);
  if (values["cluster-id"] !== undefined) set("--cluster-id", "clusterId", values["cluster-id"]);
  const drain = either<string>(values, "drain-deadline-ms", "drain-ms");
  if (drain !== undefined) set("--drain-deadline-ms", "drainDeadlineMs", integerFlag("drain-deadline-ms", drain, 0));
  if (values["max-batch-size"] !== undefined) set("--max-batch-size", "limits.maxBatchSize", integerFlag("max-batch-size", values["max-batch-size"], 0));
  if (values["max-frame-size"] !== undefined) set("--max-frame-size", "limits.maxFrameSize", integerFlag("max-frame-size", values["max-frame-size"], 0));
  return { overlay, flagOf };
}

/**
 * Lays flags over a config file: a flag replaces its key's value, `--topic`
 * adds to the file's topics, and a flag that picks the storage engine
 * drops the file's settings of the other engine.
 */
function overlayConfig(file: Json, overlay: Json): Json {
  const merged: Json = { ...file };
  for (const [key, value] of Object.entries(overlay)) {
    const base = file[key];
    if (key === "topics" && Array.isArray(base)) merged.topics = [...base, ...(value as unknown[])];
    else if (isObject(base) && isObject(value)) merged[key] = { ...base, ...value };
    else merged[key] = value;
  }
  const storage = merged.storage;
  if (isObject(storage) && isObject(overlay.storage) && overlay.storage.engine === "memory") {
    const { dir: _dir, fsync: _fsync, maxOpenFiles: _maxOpenFiles, ...shared } = storage;
    merged.storage = { ...shared, ...overlay.storage };
  }
  return merged;
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--config: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${path}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The flag that set `key` (or a key inside it), if a flag did. */
function flagFor(key: string, flagOf: ReadonlyMap<string, string>): string | undefined {
  for (const [k, flag] of flagOf) {
    if (key === k || key.startsWith(`${k}.`) || key.startsWith(`${k}[`)) return flag;
  }
  return undefined;
}

/**
 * The Broker options `polywire broker` runs with for `argv`: flags over the
 * config file, read and checked by the broker; a bad value is a usage error
 * naming the flag, or the file and key.
 */
export function brokerOptions(argv: readonly string[]): BrokerOptions {
  const { values } = parseFlags(argv, BROKER_FLAGS);
  const file = values.config === undefined ? {} : upgradeOrUsage(values.config, readJson(values.config));
  const { overlay, flagOf } = flagSettings(values, Array.isArray(file.topics) ? file.topics.length : 0);
  try {
    return brokerOptionsFromConfig(overlayConfig(file, overlay), values.config === undefined ? process.cwd() : dirname(resolve(values.config)));
  } catch (error) {
    if (!(error instanceof BrokerConfigError)) throw error;
    const flag = flagFor(error.key, flagOf);
    throw new UsageError(flag !== undefined ? `${flag}${error.problem.startsWith(":") ? "" : " "}${error.problem}` : `config file ${values.config ?? "(none)"}: ${error.message}`);
  }
}

function upgradeOrUsage(path: string, json: unknown): Json {
  try {
    return upgradeBrokerConfig(json);
  } catch (error) {
    if (error instanceof BrokerConfigError) throw new UsageError(`config file ${path}: ${error.message}`);
    throw error;
  }
}
