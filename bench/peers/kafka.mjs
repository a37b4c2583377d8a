#!/usr/bin/env node
// Apache Kafka as a benchmark peer: a single KRaft node (broker and
// controller in one JVM) on 127.0.0.1, from Kafka's jars on Maven Central,
// started and stopped by the benchmark like nats-server and redis-server.
// Reusable by any benchmark that needs a Kafka broker (log plane, groups,
// streams): `startKafka()` from a script, or from a shell
//
//   node bench/peers/kafka.mjs [--fetch-only] [--set key=value ...]
//
// which fetches the jars (once; cached in .cache/kafka/<version>/), starts a
// node, prints `bootstrap 127.0.0.1:<port>` and runs until SIGINT/SIGTERM.
//
// Needs Java 17 or newer (`java` on PATH; Debian's openjdk-17-jre-headless)
// and Maven (`mvn`, Debian's maven) for the first fetch.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { cleanup, freePort, scratch, start } from "../log/servers.mjs";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));

export const KAFKA_VERSION = "4.4.0";

// kafka_2.13 is the broker (KRaft) and kafka-tools the perf tools
// (ProducerPerformance, ConsumerPerformance, ...); the log4j 2 binding for
// slf4j 1.x is what Kafka's own distribution ships for its logging.
const ARTIFACTS = [
  ["org.apache.kafka", "kafka_2.13", KAFKA_VERSION],
  ["org.apache.kafka", "kafka-tools", KAFKA_VERSION],
  ["org.apache.logging.log4j", "log4j-slf4j-impl", "2.25.5"],
];

// The JVM options of Kafka's kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS).
const JVM_OPTIONS = [
  "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
  "-XX:+ExplicitGCInvokesConcurrent", "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
];

function pom() {
  const dependencies = ARTIFACTS.map(([group, artifact, version]) =>
    `    <dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version></dependency>`);
  return [
    `<project xmlns="http://maven.apache.org/POM/4.0.0">`,
    "  <modelVersion>4.0.0</modelVersion>",
    "  <groupId>polywire.bench</groupId>",
    "  <artifactId>kafka-peer</artifactId>",
    "  <version>0</version>",
    "  <packaging>pom</packaging>",
    "  <dependencies>",
    ...dependencies,
    "  </dependencies>",
    "</project>",
    "",
  ].join("\n");
}

/**
 * Kafka's jars and their runtime dependencies in .cache/kafka/<version>/lib,
 * fetched from Maven Central by `mvn dependency:copy-dependencies` the first
 * time; returns a Java classpath (`lib/*`). A `complete` marker is written
 * only after the copy, so an interrupted fetch is redone.
 */
export async function kafkaClasspath({ log = () => undefined } = {}) {
  const cache = join(root, ".cache/kafka", KAFKA_VERSION);
  const lib = join(cache, "lib");
  const marker = join(cache, "complete");
  if (!existsSync(marker)) {
    log(`kafka: fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${cache}`);
    await mkdir(cache, { recursive: true });
    await writeFile(join(cache, "pom.xml"), pom());
    const partial = `${lib}.partial`;
    await rm(partial, { recursive: true, force: true });
    await run("mvn", ["-B", "-q", "dependency:copy-dependencies", `-DoutputDirectory=${partial}`, "-DincludeScope=runtime"], { cwd: cache, maxBuffer: 16 * 2 ** 20 });
    await rm(lib, { recursive: true, force: true });
    await rename(partial, lib);
    await writeFile(marker, `${new Date().toISOString()}\n`);
  }
  return `${lib}/*`;
}

/** `java` arguments that run `main` with Kafka's classpath and Kafka's JVM options. */
export function javaArgs({ classpath, main, args = [], heap = "256m", jvm = [] }) {
  return [`-Xms${heap}`, `-Xmx${heap}`, ...JVM_OPTIONS, ...jvm, "-cp", classpath, main, ...args];
}

/** Runs a Kafka tool (a Java main class) to completion; resolves with its stdout and stderr. */
export async function runTool({ classpath, main, args, heap, timeoutMs = 600_000 }) {
  return run("java", javaArgs({ classpath, main, args, heap }), { cwd: root, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
}

/**
 * The node's settings. Log flush: an fsync of every partition with unflushed
 * data at most 1 s after a write, as Polywire's disk broker with
 * `fsync.policy` interval and its default `fsync.interval.ms` 1000 (Kafka's
 * default never fsyncs on a timer). Single-node replication factors; no
 * initial rebalance delay (a benchmark's consumer joins alone); both group
 * protocols, classic and KIP-848's consumer protocol. `overrides` win.
 */
export function kafkaConfig({ port, controllerPort, logDir, overrides = {} }) {
  return {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": logDir,
    "num.partitions": "1",
    "auto.create.topics.enable": "false",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "group.coordinator.rebalance.protocols": "classic,consumer",
    "log.flush.interval.ms": "1000",
    "log.flush.scheduler.interval.ms": "1000",
    ...overrides,
  };
}

// Warnings and errors only, plus the line that says the node is up.
const LOG4J2 = [
  "status = warn",
  "appender.console.type = Console",
  "appender.console.name = STDOUT",
  "appender.console.target = SYSTEM_OUT",
  "appender.console.layout.type = PatternLayout",
  "appender.console.layout.pattern = [%d] %p %m (%c)%n",
  "rootLogger.level = warn",
  "rootLogger.appenderRef.stdout.ref = STDOUT",
  "logger.raft.name = kafka.server.KafkaRaftServer",
  "logger.raft.level = info",
  "",
].join("\n");

/**
 * Formats KRaft storage in a new temp dir and starts a single node on
 * 127.0.0.1 (heap `heap`, settings from `kafkaConfig` with `overrides`);
 * resolves once it logs "Kafka Server started". `stop()` shuts it down
 * (SIGTERM: a controlled shutdown) and removes the temp dir.
 */
export async function startKafka({ heap = "1g", overrides = {}, log = () => undefined } = {}) {
  const classpath = await kafkaClasspath({ log });
  const dir = await scratch("kafka");
  try {
    const [port, controllerPort] = [await freePort(), await freePort()];
    const config = kafkaConfig({ port, controllerPort, logDir: join(dir, "data"), overrides });
    const properties = join(dir, "server.properties");
    await writeFile(properties, `${Object.entries(config).map(([k, v]) => `${k}=${v}`).join("\n")}\n`);
    await writeFile(join(dir, "log4j2.properties"), LOG4J2);
    // A cluster id is 16 random bytes in URL-safe base64, as `kafka-storage random-uuid` prints.
    const clusterId = randomBytes(16).toString("base64url");
    await runTool({ classpath, main: "kafka.tools.StorageTool", args: ["format", "--cluster-id", clusterId, "--config", properties, "--ignore-formatted"], timeoutMs: 120_000 });
    const server = await start("kafka", "java", javaArgs({
      classpath,
      main: "kafka.Kafka",
      args: [properties],
      heap,
      jvm: [`-Dlog4j2.configurationFile=${join(dir, "log4j2.properties")}`, `-Dkafka.logs.dir=${dir}`],
    }), { ready: /Kafka Server started/, timeoutMs: 120_000 });
    log(`kafka: ${KAFKA_VERSION} ready on 127.0.0.1:${port}`);
    return {
      ...server,
      version: KAFKA_VERSION,
      bootstrap: `127.0.0.1:${port}`,
      port,
      classpath,
      config,
      dir,
      stop: async () => {
        const result = await server.stop();
        await cleanup(dir);
        return result;
      },
    };
  } catch (error) {
    await cleanup(dir);
    throw error;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { "fetch-only": { type: "boolean" }, set: { type: "string", multiple: true } } });
  const log = (line) => process.stderr.write(`${line}\n`);
  if (values["fetch-only"]) {
    log(`classpath ${await kafkaClasspath({ log })}`);
  } else {
    const overrides = Object.fromEntries((values.set ?? []).map((pair) => {
      const at = pair.indexOf("=");
      if (at <= 0) throw new Error(`--set takes key=value, got ${JSON.stringify(pair)}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }));
    const kafka = await startKafka({ overrides, log });
    process.stdout.write(`bootstrap ${kafka.bootstrap}\n`);
    const stop = async () => {
      await kafka.stop();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  }
}
