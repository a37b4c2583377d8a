import { readFileSync } from "node:fs";
import { Broker, type BrokerOptions, type TopicSpec } from "@polywire/broker";
import { integerFlag, parseFlags, UsageError } from "../args.js";
import type { Command, CommandIO } from "../command.js";

const usage = `usage: polywire broker [flags]

Runs a Polywire broker until SIGTERM or SIGINT, then shuts down gracefully
(Drain to clients, finish in-flight work, flush storage).

  --listen <url>           listener URL, repeatable: tcp://host:port, tls://host:port,
                           unix:///path, ws://host:port/path, wss://..., memory://name
                           (default tcp://127.0.0.1:7420; port 0 picks a free port)
  --data-dir <dir>         disk storage directory (default ./polywire-data)
  --memory                 keep data in memory instead of on disk
  --fsync <policy>         default fsync.policy of topics: always, interval, never
  --topic <name:partitions>  create the topic at start if missing, repeatable
  --metrics-port <port>    serve /metrics, /healthz, /readyz over HTTP on this port
  --metrics-host <host>    host of the HTTP listener (default 127.0.0.1)
  --tls-cert <file>        server certificate (PEM) for tls:// and wss://
  --tls-key <file>         server private key (PEM)
  --tls-ca <file>          CA (PEM) that client certificates must verify against (mutual TLS)
  --broker-id <id>         broker id (default: random)
  --drain-ms <ms>          drain deadline announced at shutdown (default 5000)
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

function optionsFrom(argv: readonly string[]): BrokerOptions {
  const { values } = parseFlags(argv, {
    listen: { type: "string", multiple: true },
    "data-dir": { type: "string" },
    memory: { type: "boolean" },
    fsync: { type: "string" },
    topic: { type: "string", multiple: true },
    "metrics-port": { type: "string" },
    "metrics-host": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "tls-ca": { type: "string" },
    "broker-id": { type: "string" },
    "drain-ms": { type: "string" },
  });
  if (values.memory && values["data-dir"] !== undefined) throw new UsageError("--memory and --data-dir exclude each other");
  const fsync = values.fsync;
  if (fsync !== undefined && fsync !== "always" && fsync !== "interval" && fsync !== "never") {
    throw new UsageError(`--fsync must be always, interval or never, got ${JSON.stringify(fsync)}`);
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (values["tls-ca"] !== undefined && values["tls-cert"] === undefined) throw new UsageError("--tls-ca needs --tls-cert and --tls-key");
  const options: BrokerOptions = {
    listeners: values.listen ?? ["tcp://127.0.0.1:7420"],
    storage: values.memory
      ? { engine: "memory" }
      : { engine: "disk", dir: values["data-dir"] ?? "polywire-data", ...(fsync === undefined ? {} : { fsync }) },
    topics: (values.topic ?? []).map(parseTopic),
    drainDeadlineMs: integerFlag("drain-ms", values["drain-ms"], 5_000),
    ...(values["broker-id"] === undefined ? {} : { brokerId: values["broker-id"] }),
    ...(values["metrics-port"] === undefined
      ? {}
      : { http: { host: values["metrics-host"] ?? "127.0.0.1", port: integerFlag("metrics-port", values["metrics-port"], 0) } }),
    ...(values["tls-cert"] === undefined
      ? {}
      : {
        tls: {
          cert: readPem("tls-cert", values["tls-cert"]),
          key: readPem("tls-key", values["tls-key"] as string),
          ...(values["tls-ca"] === undefined ? {} : { ca: readPem("tls-ca", values["tls-ca"]) }),
        },
      }),
  };
  return options;
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const options = optionsFrom(argv);
  const broker = await Broker.start(options);
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
export const brokerCommand: Command = { name: "broker", summary: "run a broker until SIGTERM/SIGINT", usage, run };
