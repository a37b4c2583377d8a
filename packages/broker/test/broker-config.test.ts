import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_KEYS } from "../src/config/read.js";
import { Broker, BrokerConfigError, brokerOptionsFromConfig, DEFAULT_LIMITS, type BrokerConfig, type BrokerOptions } from "../src/index.js";
import { makeCerts, tempDir, type TestCerts } from "./helpers.js";

let dir: { path: string; remove(): void };
let certs: TestCerts;

beforeAll(async () => {
  dir = tempDir("broker-config");
  certs = await makeCerts();
  writeFileSync(join(dir.path, "server.pem"), certs.serverCert);
  writeFileSync(join(dir.path, "server.key"), certs.serverKey);
  writeFileSync(join(dir.path, "ca.pem"), certs.ca);
  writeFileSync(join(dir.path, "ops.token"), "ops-token-from-file\n");
}, 60_000);

afterAll(() => dir.remove());

/** A config file setting every key of a BrokerConfig, none at its default. */
function everyKey(): BrokerConfig {
  return {
    listeners: ["tcp://127.0.0.1:0", "ws://127.0.0.1:0/polywire"],
    storage: {
      engine: "disk", dir: "data", fsync: "always", topicDefaults: { "retention.ms": "3600000" },
      retentionCheckIntervalMs: 1_000, producerIdExpirationMs: 60_000, maxOpenFiles: 64,
    },
    topics: ["events:3", { name: "audit", partitions: 1, config: { "retention.ms": "-1" } }],
    http: { host: "127.0.0.1", port: 0, maxRequestBytes: 65_536, maxConnections: 9, headersTimeoutMs: 1_500, requestTimeoutMs: 2_500, maxConcurrentStreams: 7 },
    tls: { cert: "server.pem", key: "server.key", ca: "ca.pem" },
    limits: { maxFrameSize: 1 << 20, maxBatchSize: 1 << 19, maxUncompressedBatchSize: 1 << 21, idempotenceWindow: 3, maxInFlight: 17, maxConnections: 99, maxBufferedInboundBytes: 1 << 25 },
    adminAuth: { tokens: [{ principal: "ops", role: "admin", tokenFile: "ops.token" }, { principal: "grafana", role: "viewer", token: "viewer-token" }] },
    health: { minFreeBytes: 4096, minFreeRatio: 0.25 },
    groups: { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 2_000, reconcileHeartbeatIntervalMs: 100, defaultRebalanceTimeoutMs: 60_000, maxRebalanceTimeoutMs: 120_000, maxGroupSize: 50, maxGroups: 1_000, maxMembers: 5_000, offsetRetentionMs: 86_400_000 },
    rpc: { maxCallsPerConnection: 64, maxRespondersPerConnection: 8, maxWaitingCalls: 32, maxWaitingBytes: 1048576 },
    brokerId: "b-1",
    clusterId: "c-1",
    handshakeTimeoutMs: 1_234,
    keepaliveIntervalMs: 0,
    drainDeadlineMs: 321,
    produceTimeoutMs: 4_321,
    checksumFrames: true,
  };
}

/** What reading {@link everyKey} from `dir` must give. */
function expectedOptions(base: string): BrokerOptions {
  return {
    listeners: ["tcp://127.0.0.1:0", "ws://127.0.0.1:0/polywire"],
    storage: {
      engine: "disk", dir: join(base, "data"), fsync: "always", topicDefaults: { "retention.ms": "3600000" },
      retentionCheckIntervalMs: 1_000, producerIdExpirationMs: 60_000, maxOpenFiles: 64,
    },
    topics: [{ name: "events", partitions: 3 }, { name: "audit", partitions: 1, config: { "retention.ms": "-1" } }],
    http: { host: "127.0.0.1", port: 0, maxRequestBytes: 65_536, maxConnections: 9, headersTimeoutMs: 1_500, requestTimeoutMs: 2_500, maxConcurrentStreams: 7 },
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
    limits: { maxFrameSize: 1 << 20, maxBatchSize: 1 << 19, maxUncompressedBatchSize: 1 << 21, idempotenceWindow: 3, maxInFlight: 17, maxConnections: 99, maxBufferedInboundBytes: 1 << 25 },
    adminAuth: { tokens: [{ principal: "ops", role: "admin", token: "ops-token-from-file" }, { principal: "grafana", role: "viewer", token: "viewer-token" }] },
    health: { minFreeBytes: 4096, minFreeRatio: 0.25 },
    groups: { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 2_000, reconcileHeartbeatIntervalMs: 100, defaultRebalanceTimeoutMs: 60_000, maxRebalanceTimeoutMs: 120_000, maxGroupSize: 50, maxGroups: 1_000, maxMembers: 5_000, offsetRetentionMs: 86_400_000 },
    rpc: { maxCallsPerConnection: 64, maxRespondersPerConnection: 8, maxWaitingCalls: 32, maxWaitingBytes: 1048576 },
    brokerId: "b-1",
    clusterId: "c-1",
    handshakeTimeoutMs: 1_234,
    keepaliveIntervalMs: 0,
    drainDeadlineMs: 321,
    produceTimeoutMs: 4_321,
    checksumFrames: true,
  };
}

/** Writes `config` as a file and reads it back the way `polywire broker --config` does. */
function fromFile(config: unknown): BrokerOptions {
  const file = join(dir.path, "broker.json");
  writeFileSync(file, JSON.stringify(config));
  return brokerOptionsFromConfig(JSON.parse(readFileSync(file, "utf8")), dir.path);
}

/** The keys a config object uses, by the object holding them, as CONFIG_KEYS names them. */
function keysUsed(config: Record<string, unknown>): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const note = (of: string, o: object): void => {
    const set = used.get(of) ?? new Set<string>();
    for (const k of Object.keys(o)) set.add(k);
    used.set(of, set);
  };
  note("", config);
  for (const of of ["storage", "http", "tls", "limits", "adminAuth", "health", "groups", "rpc"]) note(of, config[of] as object);
  for (const t of config.topics as unknown[]) if (typeof t === "object") note("topics[]", t as object);
  for (const t of (config.adminAuth as { tokens: object[] }).tokens) note("adminAuth.tokens[]", t);
  return used;
}

describe("BrokerConfig: the broker's config file", () => {
  it("every key of a config file reaches the broker options, paths resolved against the file's directory and files read", () => {
    const config = everyKey();
    // Every key the reader knows appears in the file (token and tokenFile in different entries).
    const used = keysUsed(config as Record<string, unknown>);
    for (const [of, known] of Object.entries(CONFIG_KEYS)) expect([...(used.get(of) ?? [])].sort(), `keys of ${of || "the top level"}`).toEqual([...known].sort());
    expect(fromFile(config)).toEqual(expectedOptions(dir.path));
  });

  it("the old key names read as the new ones, and naming a key by both names is an error", () => {
    const old = { listen: ["tcp://127.0.0.1:0"], dataDir: "data", fsync: "never", topicDefaults: { "segment.ms": "1000" }, retentionCheckIntervalMs: 500, producerIdExpirationMs: -1, drainMs: 10 };
    expect(fromFile(old)).toEqual(fromFile({
      listeners: ["tcp://127.0.0.1:0"],
      storage: { dir: "data", fsync: "never", topicDefaults: { "segment.ms": "1000" }, retentionCheckIntervalMs: 500, producerIdExpirationMs: -1 },
      drainDeadlineMs: 10,
    }));
    expect(fromFile({ memory: true })).toEqual(fromFile({ storage: { engine: "memory" } }));
    expectBad({ listen: ["tcp://127.0.0.1:0"], listeners: ["tcp://127.0.0.1:0"] }, "listen", /listen is the old name of listeners; give one of them/);
    expectBad({ dataDir: "a", storage: { dir: "b" } }, "dataDir", /old name of storage\.dir/);
    expectBad({ drainMs: 1, drainDeadlineMs: 2 }, "drainMs");
  });

  it("PW-ADMIN-062: a file without http serves the admin plane on 127.0.0.1:7421; false serves none; the broker's defaults fill the rest", () => {
    expect(fromFile({})).toEqual({ http: { host: "127.0.0.1", port: 7421 } });
    expect(fromFile({ http: false })).toEqual({});
    expect(fromFile({ http: { maxConnections: 3 } })).toEqual({ http: { host: "127.0.0.1", port: 7421, maxConnections: 3 } });
    expect(fromFile({ storage: { fsync: "never" } }).storage).toEqual({ engine: "disk", dir: "polywire-data", fsync: "never" });
  });

  // [config, the key the error must name]: every way a value can be bad, for every key.
  const BAD: Array<[unknown, string]> = [
    [[], "(top level)"],
    [{ bogus: 1 }, "bogus"],
    [{ listeners: "tcp://127.0.0.1:0" }, "listeners"],
    [{ listeners: [] }, "listeners"],
    [{ listeners: [7] }, "listeners[0]"],
    [{ listeners: ["tcp://127.0.0.1:0", "nope://x"] }, "listeners[1]"],
    [{ storage: 5 }, "storage"],
    [{ storage: { bogus: 1 } }, "storage.bogus"],
    [{ storage: { engine: "ssd" } }, "storage.engine"],
    [{ storage: { dir: 5 } }, "storage.dir"],
    [{ storage: { fsync: "sometimes" } }, "storage.fsync"],
    [{ storage: { engine: "memory", fsync: "always" } }, "storage.fsync"],
    [{ storage: { engine: "memory", maxOpenFiles: 10 } }, "storage.maxOpenFiles"],
    [{ storage: { topicDefaults: { "retention.ms": "soon" } } }, "storage.topicDefaults"],
    [{ storage: { topicDefaults: { "retention.mss": "1" } } }, "storage.topicDefaults"],
    [{ storage: { topicDefaults: { "retention.ms": 5 } } }, 'storage.topicDefaults["retention.ms"]'],
    [{ storage: { retentionCheckIntervalMs: -1 } }, "storage.retentionCheckIntervalMs"],
    [{ storage: { producerIdExpirationMs: 0 } }, "storage.producerIdExpirationMs"],
    [{ storage: { maxOpenFiles: 2 } }, "storage.maxOpenFiles"],
    [{ memory: "yes" }, "memory"],
    [{ topics: "a:1" }, "topics"],
    [{ topics: ["a"] }, "topics[0]"],
    [{ topics: ["a:1", { name: "b" }] }, "topics[1]"],
    [{ topics: [{ name: "a", partitions: 1, bogus: 1 }] }, "topics[0].bogus"],
    [{ topics: [{ name: "a b", partitions: 1 }] }, "topics[0].name"],
    [{ topics: [{ name: "a", partitions: 0 }] }, "topics[0].partitions"],
    [{ topics: [{ name: "a", partitions: 1, config: { "segment.bytes": "1" } }] }, "topics[0].config"],
    [{ http: 7421 }, "http"],
    [{ http: { bogus: 1 } }, "http.bogus"],
    [{ http: { host: "" } }, "http.host"],
    [{ http: { port: 65_536 } }, "http.port"],
    [{ http: { port: "7421" } }, "http.port"],
    [{ http: { maxRequestBytes: 1023 } }, "http.maxRequestBytes"],
    [{ http: { maxConnections: 0 } }, "http.maxConnections"],
    [{ http: { headersTimeoutMs: 0 } }, "http.headersTimeoutMs"],
    [{ http: { requestTimeoutMs: 1.5 } }, "http.requestTimeoutMs"],
    [{ http: { maxConcurrentStreams: 0 } }, "http.maxConcurrentStreams"],
    [{ tls: { cert: "server.pem" } }, "tls"],
    [{ tls: { cert: "missing.pem", key: "server.key" } }, "tls.cert"],
    [{ tls: { cert: "server.pem", key: "server.key", ca: 5 } }, "tls.ca"],
    [{ limits: { bogus: 1 } }, "limits.bogus"],
    [{ limits: { maxConnections: 0 } }, "limits.maxConnections"],
    [{ limits: { maxBatchSize: "1" } }, "limits.maxBatchSize"],
    [{ limits: { maxFrameSize: 1024 } }, "limits.maxFrameSize"],
    [{ limits: { maxBufferedInboundBytes: 2 ** 32 } }, "limits.maxBufferedInboundBytes"],
    [{ adminAuth: { tokens: [] } }, "adminAuth.tokens"],
    [{ adminAuth: { tokens: [{ principal: "", role: "admin", token: "t" }] } }, "adminAuth.tokens[0].principal"],
    [{ adminAuth: { tokens: [{ principal: "p", role: "root", token: "t" }] } }, "adminAuth.tokens[0].role"],
    [{ adminAuth: { tokens: [{ principal: "p", role: "admin", token: "" }] } }, "adminAuth.tokens[0].token"],
    [{ adminAuth: { tokens: [{ principal: "p", role: "admin", token: "t", tokenFile: "ops.token" }] } }, "adminAuth.tokens[0]"],
    [{ adminAuth: { tokens: [{ principal: "p", role: "admin", tokenFile: "missing.token" }] } }, "adminAuth.tokens[0].tokenFile"],
    [{ health: { minFreeRatio: 2 } }, "health.minFreeRatio"],
    [{ health: { minFreeBytes: -1 } }, "health.minFreeBytes"],
    [{ groups: { sessionTimeoutMs: 0 } }, "groups.sessionTimeoutMs"],
    [{ groups: { heartbeatIntervalMs: 60_000 } }, "groups.heartbeatIntervalMs"],
    [{ groups: { sessionTimeout: 5 } }, "groups.sessionTimeout"],
    [{ groups: true }, "groups"],
    [{ rpc: { maxCallsPerConnection: 0 } }, "rpc.maxCallsPerConnection"],
    [{ rpc: { maxWaitingCalls: 1.5 } }, "rpc.maxWaitingCalls"],
    [{ rpc: { maxCalls: 5 } }, "rpc.maxCalls"],
    [{ brokerId: "" }, "brokerId"],
    [{ clusterId: 5 }, "clusterId"],
    [{ handshakeTimeoutMs: 0 }, "handshakeTimeoutMs"],
    [{ keepaliveIntervalMs: -1 }, "keepaliveIntervalMs"],
    [{ drainDeadlineMs: 1.5 }, "drainDeadlineMs"],
    [{ produceTimeoutMs: "1s" }, "produceTimeoutMs"],
    [{ checksumFrames: "yes" }, "checksumFrames"],
  ];

  it("every bad value is a BrokerConfigError (INVALID_CONFIG) naming its key", () => {
    for (const [config, key] of BAD) expectBad(config, key);
  });

  it("PW-ERR-007: a bad value is quoted cut short, however long", () => {
    const long = "x".repeat(1 << 20);
    for (const config of [{ storage: { engine: long } }, { topics: [long] }, { adminAuth: { tokens: [{ principal: "p", role: long, token: "t" }] } }, { listeners: [`nope://${long}`] }]) {
      const error = expectBad(config, undefined);
      expect(error.message.length, error.message.slice(0, 200)).toBeLessThan(1_024);
    }
  });

  it("the library's options are checked by the same functions: Broker.start refuses a bad one with the same error, before it opens anything", async () => {
    const cases: Array<[BrokerOptions, string]> = [
      [{ http: { port: 0, maxConnections: 0 } }, "http.maxConnections"],
      [{ http: { port: 0, maxRequestBytes: 1 } }, "http.maxRequestBytes"],
      [{ limits: { maxInFlight: 0 } }, "limits.maxInFlight"],
      [{ handshakeTimeoutMs: 0 }, "handshakeTimeoutMs"],
      [{ drainDeadlineMs: -5 }, "drainDeadlineMs"],
      [{ health: { minFreeRatio: -1 } }, "health.minFreeRatio"],
      [{ groups: { maxMembers: 0 } }, "groups.maxMembers"],
      [{ rpc: { maxRespondersPerConnection: 0 } }, "rpc.maxRespondersPerConnection"],
      [{ brokerId: "" }, "brokerId"],
    ];
    for (const [options, key] of cases) {
      const started = Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, ...options });
      const error = await started.then(() => undefined, (e: unknown) => e);
      expect(error, key).toBeInstanceOf(BrokerConfigError);
      expect((error as BrokerConfigError).key).toBe(key);
      // The same setting in a config file: the same key, the same problem.
      const file = expectBad(options, key);
      expect(file.problem).toBe((error as BrokerConfigError).problem);
    }
  });

  it("a broker starts from a file with every key and runs with what it says", { timeout: 60_000 }, async () => {
    await using broker = await Broker.start(fromFile(everyKey()));
    expect(broker.id).toBe("b-1");
    expect(broker.limits).toEqual({ ...DEFAULT_LIMITS, ...everyKey().limits });
    expect(broker.urls).toHaveLength(2);
    expect(broker.storage.listTopics().map((t) => [t.name, t.partitions])).toEqual([["audit", 1], ["events", 3]]);
    expect(broker.http?.connections).toBe(0);
    expect((await fetch(`${broker.httpUrl}/healthz`)).status).toBe(200);
  });
});

function expectBad(config: unknown, key: string | undefined, message?: RegExp): BrokerConfigError {
  let caught: unknown;
  try {
    fromFile(config);
  } catch (error) {
    caught = error;
  }
  const what = JSON.stringify(config).slice(0, 200);
  expect(caught, what).toBeInstanceOf(BrokerConfigError);
  const error = caught as BrokerConfigError;
  expect(error.code).toBe("INVALID_CONFIG");
  if (key !== undefined) {
    expect(error.key, `${what}: ${error.message}`).toBe(key);
    expect(error.message.startsWith(key), error.message).toBe(true);
  }
  if (message !== undefined) expect(error.message).toMatch(message);
  return error;
}
