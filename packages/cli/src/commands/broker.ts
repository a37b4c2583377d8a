import { readFileSync } from "node:fs";
import { Broker, type BrokerOptions, type TopicSpec } from "@polywire/broker";
import { integerFlag, parseFlags, UsageError } from "../args.js";
import { readBrokerConfig, type BrokerConfigFile } from "../broker-config.js";
import type { Command, CommandIO } from "../command.js";

/** The default port of the admin listener (PW-ADMIN-062), next to the data plane's 7420. */
const DEFAULT_ADMIN_PORT = 7421;

const usage = `usage: polywire broker [flags]

Runs a Polywire broker until SIGTERM or SIGINT, then shuts down gracefully
(Drain to clients, finish in-flight work, flush storage). Prints the bound
URLs, then "ready".

  --config <file>          read settings from a JSON file (see below); flags override it
  --listen <url>           listener URL, repeatable: tcp://host:port, tls://host:port,
                           unix:///path, ws://host:port/path, wss://..., memory://name
                           (default tcp://127.0.0.1:7420; port 0 picks a free port)
  --data-dir <dir>         disk storage directory (default ./polywire-data)
  --memory                 keep data in memory instead of on disk
  --fsync <policy>         default fsync.policy of topics: always, interval, never
  --topic <name:partitions>  create the topic at start if missing, repeatable
  --http-port <port|off>   serve the admin services (Connect, gRPC, gRPC-Web; HTTP/1.1
                           and h2c), /metrics, /healthz and /readyz on this port
                           (default 7421, the default admin port; 0 picks a free port;
                           off serves none; --metrics-port is the same flag). Clients
                           learn the admin URL from the handshake (PW-ADMIN-060)
  --http-host <host>       host of the HTTP listener (default 127.0.0.1; --metrics-host)
  --tls-cert <file>        server certificate (PEM) for tls:// and wss://
  --tls-key <file>         server private key (PEM)
  --tls-ca <file>          CA (PEM) that client certificates must verify against (mutual TLS)
  --broker-id <id>         broker id (default: random)
  --cluster-id <id>        cluster id (default: the broker id)
  --drain-ms <ms>          drain deadline announced at shutdown (default 5000)
  --max-batch-size <bytes> largest record batch accepted (limits.maxBatchSize;
                           default 8388608); clients learn it from Welcome
  --max-frame-size <bytes> largest frame accepted (limits.maxFrameSize; default 16777216):
                           a produced batch must fit in one frame with its request

config file (JSON, every key optional; relative paths are relative to the file):
  {
    "listen": ["tcp://0.0.0.0:7420", "ws://0.0.0.0:7422/polywire"],
    "dataDir": "data", "fsync": "interval",
    "topics": ["events:6", { "name": "audit", "partitions": 1, "config": { "retention.ms": "-1" } }],
    "http": { "host": "127.0.0.1", "port": 7421, "maxRequestBytes": 4194304 },   (false: no admin listener)
    "tls": { "cert": "server.pem", "key": "server.key", "ca": "clients-ca.pem" },
    "brokerId": "b1", "clusterId": "c1", "drainMs": 5000, "handshakeTimeoutMs": 10000,
    "limits": { "maxConnections": 1000, "maxBatchSize": 8388608, "maxBufferedInboundBytes": 268435456 },
    "topicDefaults": { "retention.ms": "86400000" },
    "health": { "minFreeBytes": 1073741824, "minFreeRatio": 0.1 },
    "retentionCheckIntervalMs": 60000, "producerIdExpirationMs": 86400000,
    "adminAuth": { "tokens": [
      { "principal": "ops", "role": "admin", "tokenFile": "ops.token" },
      { "principal": "grafana", "role": "viewer", "token": "…" } ] }
  }
  adminAuth: admin RPCs then need "Authorization: Bearer <token>" (clients:
  --admin-token or $POLYWIRE_ADMIN_TOKEN); a viewer may only call read-only
  RPCs; /metrics, /healthz, /readyz and grpc.health.v1.Health stay open.
  http.maxRequestBytes: the largest admin request message read (default
  4 MiB); a larger one is refused with resource_exhausted.

examples:
  polywire broker --memory --topic demo:3
  polywire broker --config broker.json --listen tcp://0.0.0.0:7420
`;

function parseTopic(spec: string): TopicSpec {
  const match = /^(.+):([1-9][0-9]*)$/.exec(spec);
  if (match === null) throw new UsageError(`--topic must be name:partitions, got ${JSON.stringify(spec)}`);
  return { name: match[1] as string, partitions: Number(match[2]) };
}

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The Broker options `polywire broker` runs with for `argv` (flags over the config file over defaults). */
export function brokerOptions(argv: readonly string[]): BrokerOptions {
  const { values } = parseFlags(argv, {
    config: { type: "string" },
    listen: { type: "string", multiple: true },
    "data-dir": { type: "string" },
    memory: { type: "boolean" },
    fsync: { type: "string" },
    topic: { type: "string", multiple: true },
    "http-port": { type: "string" },
    "http-host": { type: "string" },
    "metrics-port": { type: "string" },
    "metrics-host": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "tls-ca": { type: "string" },
    "broker-id": { type: "string" },
    "cluster-id": { type: "string" },
    "drain-ms": { type: "string" },
    "max-batch-size": { type: "string" },
    "max-frame-size": { type: "string" },
  });
  const file: BrokerConfigFile = values.config === undefined ? {} : readBrokerConfig(values.config);
  if (values["http-port"] !== undefined && values["metrics-port"] !== undefined) throw new UsageError("--http-port and --metrics-port are the same flag; give one");
  if (values.memory && values["data-dir"] !== undefined) throw new UsageError("--memory and --data-dir exclude each other");
  if (file.memory === true && file.dataDir !== undefined) throw new UsageError(`config file ${values.config}: memory and dataDir exclude each other`);
  // A flag picks the storage over the file's choice.
  const memory = values.memory === true || (values["data-dir"] === undefined && file.memory === true);
  const fsync = values.fsync ?? file.fsync;
  if (fsync !== undefined && fsync !== "always" && fsync !== "interval" && fsync !== "never") {
    throw new UsageError(`--fsync must be always, interval or never, got ${JSON.stringify(fsync)}`);
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (values["tls-ca"] !== undefined && values["tls-cert"] === undefined) throw new UsageError("--tls-ca needs --tls-cert and --tls-key");
  const tlsFiles = values["tls-cert"] !== undefined
    ? { cert: values["tls-cert"], key: values["tls-key"] as string, ca: values["tls-ca"] }
    : file.tls;
  const httpPortFlag = values["http-port"] ?? values["metrics-port"];
  const fileHttp = file.http === false ? undefined : file.http;
  const httpHost = values["http-host"] ?? values["metrics-host"] ?? fileHttp?.host ?? "127.0.0.1";
  // PW-ADMIN-062: the admin plane is on by default, on the default admin port.
  const httpPort = httpPortFlag === "off" ? undefined
    : httpPortFlag !== undefined ? integerFlag("http-port", httpPortFlag, 0)
    : file.http === false ? undefined
    : fileHttp?.port ?? DEFAULT_ADMIN_PORT;
  const topicDefaults = file.topicDefaults;
  const topics: TopicSpec[] = [
    ...(file.topics ?? []).map((t) => (typeof t === "string" ? parseTopic(t) : t)),
    ...(values.topic ?? []).map(parseTopic),
  ];
  const limits = {
    ...file.limits,
    ...(values["max-batch-size"] === undefined ? {} : { maxBatchSize: integerFlag("max-batch-size", values["max-batch-size"], 0) }),
    ...(values["max-frame-size"] === undefined ? {} : { maxFrameSize: integerFlag("max-frame-size", values["max-frame-size"], 0) }),
  };
  const housekeeping = {
    ...(file.retentionCheckIntervalMs === undefined ? {} : { retentionCheckIntervalMs: file.retentionCheckIntervalMs }),
    ...(file.producerIdExpirationMs === undefined ? {} : { producerIdExpirationMs: file.producerIdExpirationMs }),
  };
  const options: BrokerOptions = {
    listeners: values.listen ?? file.listen ?? ["tcp://127.0.0.1:7420"],
    storage: memory
      ? { engine: "memory", ...housekeeping, ...(topicDefaults === undefined ? {} : { topicDefaults }) }
      : { engine: "disk", dir: values["data-dir"] ?? file.dataDir ?? "polywire-data", ...housekeeping, ...(fsync === undefined ? {} : { fsync }), ...(topicDefaults === undefined ? {} : { topicDefaults }) },
    topics,
    drainDeadlineMs: values["drain-ms"] === undefined ? (file.drainMs ?? 5_000) : integerFlag("drain-ms", values["drain-ms"], 5_000),
    ...(Object.keys(limits).length === 0 ? {} : { limits }),
    ...(file.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: file.handshakeTimeoutMs }),
    ...(file.health === undefined ? {} : { health: file.health }),
    ...(file.adminAuth === undefined ? {} : { adminAuth: file.adminAuth }),
    ...(values["broker-id"] ?? file.brokerId) === undefined ? {} : { brokerId: (values["broker-id"] ?? file.brokerId) as string },
    ...(values["cluster-id"] ?? file.clusterId) === undefined ? {} : { clusterId: (values["cluster-id"] ?? file.clusterId) as string },
    ...(httpPort === undefined
      ? {}
      : { http: { host: httpHost, port: httpPort, ...(file.http === false || file.http?.maxRequestBytes === undefined ? {} : { maxRequestBytes: file.http.maxRequestBytes }) } }),
    ...(tlsFiles === undefined
      ? {}
      : {
        tls: {
          cert: readPem("tls-cert", tlsFiles.cert),
          key: readPem("tls-key", tlsFiles.key),
          ...(tlsFiles.ca === undefined ? {} : { ca: readPem("tls-ca", tlsFiles.ca) }),
        },
      }),
  };
  return options;
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const options = brokerOptions(argv);
  let broker: Broker;
  try {
    broker = await Broker.start(options);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  io.out(`polywire broker ${broker.id}`);
  for (const url of broker.urls) io.out(`  listen ${url}`);
  if (broker.httpUrl !== undefined) io.out(`  http   ${broker.httpUrl}`);
  io.out("ready");
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        io.err(`${signal} again: exiting without finishing the shutdown`);
        process.exit(1);
      }
      stopping = true;
      io.out(`${signal}: draining`);
      broker.close().then(resolve, (error: unknown) => {
        io.err(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  io.out("stopped");
  return 0;
}

/** `polywire broker`: runs a broker in the foreground. */
export const command: Command = { name: "broker", summary: "run a broker until SIGTERM/SIGINT", usage, run };
