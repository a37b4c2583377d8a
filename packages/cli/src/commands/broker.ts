import { Broker } from "@polywire/broker";
import { UsageError } from "../args.js";
import { brokerOptions } from "../broker-config.js";
import type { Command, CommandIO } from "../command.js";

const usage = `usage: polywire broker [flags]

Runs a Polywire broker until SIGTERM or SIGINT, then shuts down gracefully
(Drain to clients, finish in-flight work, flush storage). Prints the bound
URLs, then "ready".

Each flag sets one key of the config file (right column) over the file's value:
  --config <file>            read settings from a JSON file (see below)
  --listener <url>           listeners[], repeatable: tcp://host:port, tls://host:port,
                             unix:///path, ws://host:port/path, wss://..., memory://name
                             (default tcp://127.0.0.1:7420; port 0 picks a free port)
  --storage-dir <dir>        storage.dir: disk storage directory (default ./polywire-data)
  --memory                   storage.engine "memory": keep data in memory instead of on disk
  --fsync <policy>           storage.fsync: default fsync.policy of topics (always, interval, never)
  --topic <name:partitions>  topics[]: create the topic at start if missing, repeatable
  --http-port <port|off>     http.port: serve the admin services (Connect, gRPC, gRPC-Web;
                             HTTP/1.1 and h2c), /metrics, /healthz and /readyz on this port
                             (default 7421; 0 picks a free port; off is "http": false and
                             serves none). Clients learn the admin URL from the handshake
                             (PW-ADMIN-060)
  --http-host <host>         http.host: host of the admin listener (default 127.0.0.1)
  --tls-cert <file>          tls.cert: server certificate (PEM) for tls:// and wss://
  --tls-key <file>           tls.key: server private key (PEM)
  --tls-ca <file>            tls.ca: CA (PEM) that client certificates must verify against
  --broker-id <id>           brokerId (default: random)
  --cluster-id <id>          clusterId (default: the broker id)
  --drain-deadline-ms <ms>   drainDeadlineMs: drain deadline announced at shutdown (default 5000)
  --max-batch-size <bytes>   limits.maxBatchSize: largest record batch accepted (default
                             8388608); clients learn it from Welcome
  --max-frame-size <bytes>   limits.maxFrameSize: largest frame accepted (default 16777216):
                             a produced batch must fit in one frame with its request
Old names, still accepted: --listen <url> (--listener), --data-dir <dir> (--storage-dir),
--drain-ms <ms> (--drain-deadline-ms), --metrics-port, --metrics-host (--http-port, --http-host).

config file (JSON, every key optional; relative paths are relative to the file):
  {
    "listeners": ["tcp://0.0.0.0:7420", "ws://0.0.0.0:7422/polywire"],
    "storage": { "engine": "disk", "dir": "data", "fsync": "interval", "maxOpenFiles": 256,
                 "topicDefaults": { "retention.ms": "86400000" },
                 "retentionCheckIntervalMs": 60000, "producerIdExpirationMs": 86400000 },
    "topics": ["events:6", { "name": "audit", "partitions": 1, "config": { "retention.ms": "-1" } }],
    "http": { "host": "127.0.0.1", "port": 7421, "maxRequestBytes": 4194304,
              "maxConnections": 256, "headersTimeoutMs": 10000, "requestTimeoutMs": 60000,
              "maxConcurrentStreams": 100 },   (false: no admin listener)
    "tls": { "cert": "server.pem", "key": "server.key", "ca": "clients-ca.pem" },
    "brokerId": "b1", "clusterId": "c1",
    "handshakeTimeoutMs": 10000, "keepaliveIntervalMs": 30000, "drainDeadlineMs": 5000,
    "produceTimeoutMs": 30000, "checksumFrames": false,
    "limits": { "maxConnections": 10000, "maxBatchSize": 8388608, "maxFrameSize": 16777216,
                "maxUncompressedBatchSize": 67108864, "idempotenceWindow": 5, "maxInFlight": 1024,
                "maxBufferedInboundBytes": 268435456 },
    "health": { "minFreeBytes": 1073741824, "minFreeRatio": 0.1 },
    "groups": { "sessionTimeoutMs": 45000, "heartbeatIntervalMs": 5000, "maxGroups": 100000,
                "maxMembers": 100000, "offsetRetentionMs": 604800000, ... },   (false: no groups)
    "adminAuth": { "tokens": [
      { "principal": "ops", "role": "admin", "tokenFile": "ops.token" },
      { "principal": "grafana", "role": "viewer", "token": "…" } ] }
  }
  Numbers shown are the defaults. Old key names, still read: listen (listeners),
  dataDir (storage.dir), memory: true (storage.engine "memory"), fsync,
  topicDefaults, retentionCheckIntervalMs, producerIdExpirationMs (storage.*),
  drainMs (drainDeadlineMs).
  adminAuth: admin RPCs then need "Authorization: Bearer <token>" (clients:
  --admin-token or $POLYWIRE_ADMIN_TOKEN); a viewer may only call read-only
  RPCs; /metrics, /healthz, /readyz and grpc.health.v1.Health stay open.
  http: the admin listener's limits (PW-ADMIN-051, PW-ADMIN-070..073). maxRequestBytes is
  the largest admin request message read (larger: resource_exhausted); at
  maxConnections a new connection replaces the one idle longest; a connection
  must send a request's headers within headersTimeoutMs of opening or of its
  last answer, and its body within requestTimeoutMs of the headers.

examples:
  polywire broker --memory --topic demo:3
  polywire broker --config broker.json --listener tcp://0.0.0.0:7420
`;

export { brokerOptions };

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
