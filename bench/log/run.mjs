#!/usr/bin/env node
// Log-plane benchmark (issues 5 and 15): Polywire's broker and TypeScript
// client against core NATS, NATS JetStream, Redis Streams and Apache Kafka
// (KafkaJS and Kafka's Java perf tools), with raw Node loopback TCP as the
// ceiling, all started here on 127.0.0.1 and measured in one run,
// interleaved.
//
//   node bench/log/run.mjs [--runs 5] [--seconds 2] [--consume-records 200000]
//                          [--window 32768] [--partitions 32] [--java-consume-records 4000000]
//                          [--json bench/out/log.json] [--filter "name|..."] [--profile DIR]
//                          [--only produce,produce-partitions,consume,consume-partitions,latency]
//
// Prints the measurements as they come, then a markdown section for
// bench/RESULTS.md (tables of min/median/max and the ratios against the
// issue's targets). --profile DIR runs the Polywire brokers under
// `node --cpu-prof` (profiles in DIR); for the client, run this script under
// `node --cpu-prof`. --only (sections) and --filter (systems whose name
// contains one of the words) are for profiling: published results use the
// full run. Kafka is started only when the filter lets a Kafka cell through.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import "./sources.mjs";

const { Broker } = await import("@polywire/broker");
const { create, toBinary } = await import("@bufbuild/protobuf");
const { Acks, ProduceRequestSchema } = await import("@polywire/proto/log");
const { encodeBatch, init: initCodec } = await import("@polywire/wasm-codec");
const { interleave, spread } = await import("./measure.mjs");
const { PolywireTarget } = await import("./polywire.mjs");
const { NatsTarget } = await import("./nats.mjs");
const { RedisTarget } = await import("./redis.mjs");
const { KafkaTarget } = await import("./kafka.mjs");
const kafkaCells = await import("./kafka-cells.mjs");
const { startKafka } = await import("../peers/kafka.mjs");
const raw = await import("./raw-tcp.mjs");
const servers = await import("./servers.mjs");

const root = fileURLToPath(new URL("../../", import.meta.url));
const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    seconds: { type: "string", default: "2" },
    "consume-records": { type: "string", default: "200000" },
    window: { type: "string", default: "32768" },
    partitions: { type: "string", default: "32" },
    "java-consume-records": { type: "string", default: "4000000" },
    "js-window": { type: "string", default: "512" },
    json: { type: "string", default: join(root, "bench/out/log.json") },
    only: { type: "string" },
    filter: { type: "string" },
    profile: { type: "string" },
  },
});
const RUNS = Number(args.runs);
const RUN_MS = Number(args.seconds) * 1000;
const WARM_MS = Math.max(500, RUN_MS / 2);
const CONSUME_RECORDS = Number(args["consume-records"]);
const WINDOW = Number(args.window);
const JS_WINDOW = Number(args["js-window"]);
const PARTITIONS = Number(args.partitions);
const JAVA_CONSUME_RECORDS = Number(args["java-consume-records"]);
const sections = new Set((args.only ?? "produce,produce-partitions,consume,consume-partitions,latency").split(","));
const filter = args.filter?.split("|");
/** Whether --filter lets any of these systems through (untimed setup is skipped for the others). */
const kept = (...names) => filter === undefined || names.some((name) => filter.some((word) => name.includes(word)));
const withKafka = kept(...kafkaCells.KAFKA_CELLS);
for (const [name, value] of Object.entries({ runs: RUNS, seconds: RUN_MS, "consume-records": CONSUME_RECORDS, window: WINDOW, "js-window": JS_WINDOW, partitions: PARTITIONS, "java-consume-records": JAVA_CONSUME_RECORDS })) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
}

const log = (line) => process.stderr.write(`${line}\n`);
const uptime = () => execFileSync("uptime", { encoding: "utf8" }).trim();
const value100 = new Uint8Array(100).fill(0x61);
const value1k = new Uint8Array(1024).fill(0x62);

const loadBefore = uptime();
log(`load before: ${loadBefore}`);
const dirs = [];
const started = [];
const targets = [];
async function dir(prefix) {
  const d = await servers.scratch(prefix);
  dirs.push(d);
  return d;
}
const nodeArgs = (name) => (args.profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", resolve(args.profile), "--cpu-prof-name", `broker-${name}-${process.pid}.cpuprofile`]);

const results = {};
let inProcess;
try {
  await initCodec();
  // Each server is stopped at the end even if another failed to start.
  const track = (promise) => promise.then((server) => {
    started.push(server);
    return server;
  });
  const [pwMem, pwDisk, nats, redis, peer, kafkaNode] = await Promise.all([
    track(servers.startPolywire({ storage: "memory", socketDir: await dir("mem"), nodeArgs: nodeArgs("memory") })),
    track(servers.startPolywire({ storage: { dir: join(await dir("disk"), "data"), fsync: "interval" }, socketDir: await dir("disk-sock"), nodeArgs: nodeArgs("disk") })),
    track(servers.startNats({ storeDir: await dir("nats") })),
    track(servers.startRedis({ dir: await dir("redis") })),
    track(servers.startTcpPeer()),
    withKafka ? track(startKafka({ log })) : undefined,
  ]);
  inProcess = await Broker.start({ listeners: [`memory://log-bench-${process.pid}`], storage: { engine: "memory" }, http: { host: "127.0.0.1", port: 0 } });

  const pw = {
    "polywire tcp, memory": new PolywireTarget(pwMem.tcp, pwMem.http),
    "polywire tcp, disk": new PolywireTarget(pwDisk.tcp, pwDisk.http),
    "polywire unix, memory": new PolywireTarget(pwMem.unix, pwMem.http),
    "polywire memory://, in-process": new PolywireTarget(inProcess.urls[0], inProcess.httpUrl),
  };
  const natsTarget = new NatsTarget(nats.url);
  const redisTarget = new RedisTarget(redis.port);
  const kafka = kafkaNode === undefined ? undefined : new KafkaTarget(kafkaNode);
  for (const t of [...Object.values(pw), natsTarget, redisTarget, ...(kafka === undefined ? [] : [kafka])]) {
    await t.open();
    targets.push(t);
  }
  await natsTarget.stream("PRODUCE", "produce.>");
  await natsTarget.stream("CONSUME", "consume.>");
  await natsTarget.stream("LATENCY", "latency.>");

  const versions = {
    node: process.version,
    "nats-server": nats.version,
    redis: redis.version,
    "nats (npm)": (await import("nats/package.json", { with: { type: "json" } })).default.version,
    "ioredis (npm)": (await import("ioredis/package.json", { with: { type: "json" } })).default.version,
    ...(kafkaNode === undefined ? {} : {
      kafka: kafkaNode.version,
      java: servers.versionOf("java"),
      "kafkajs (npm)": (await import("kafkajs/package.json", { with: { type: "json" } })).default.version,
    }),
  };
  log(`versions: ${JSON.stringify(versions)}`);

  const records = (r) => `${Math.round(r.rate).toLocaleString("en-US")} rec/s`;
  const mbps = (size) => (r) => `${Math.round(r.rate).toLocaleString("en-US")} rec/s, ${(r.rate * size / 1e6).toFixed(1)} MB/s`;
  const micros = (r) => `p50 ${r.p50.toFixed(0)} µs, p99 ${r.p99.toFixed(0)} µs (${r.samples} round trips)`;
  // Every cell's run(ms): the warm-up runs for WARM_MS, the measured runs for RUN_MS.
  const withDuration = (cells) => cells.filter((c) => kept(c.name)).map((c) => {
    let warm = true;
    return { ...c, run: () => {
      const ms = warm ? WARM_MS : RUN_MS;
      warm = false;
      return c.run(ms);
    } };
  });

  // Polywire's producer over TCP to the memory and the disk broker, a fresh
  // topic of `partitions` partitions per run; the rows without "acks all"
  // are acks leader.
  const polywireProduceCell = ({ name, target, value, label, describe, acks = "leader", partitions = 1 }) => {
    let topic;
    return {
      name,
      describe,
      before: async () => {
        topic = await target.topic(`produce-${label}`, partitions);
      },
      run: (durationMs) => target.produce({ topic, value, durationMs, windowRecords: WINDOW, acks }),
      after: () => target.dropTopics(),
    };
  };
  const acksAllCells = (value, label, describe, partitions) => ["memory", "disk"].map((storage) => polywireProduceCell({
    name: `polywire tcp, ${storage}, acks all`, target: pw[`polywire tcp, ${storage}`], value, label, describe, acks: "all", partitions,
  }));

  const produceCells = (value, label) => {
    const describe = mbps(value.byteLength);
    const polywireCell = (name, target) => polywireProduceCell({ name, target, value, label, describe });
    const cells = [
      polywireCell("polywire tcp, memory", pw["polywire tcp, memory"]),
      polywireCell("polywire tcp, disk", pw["polywire tcp, disk"]),
      ...(label === "100B" ? [
        ...acksAllCells(value, label, describe, 1),
        polywireCell("polywire unix, memory", pw["polywire unix, memory"]),
        polywireCell("polywire memory://, in-process", pw["polywire memory://, in-process"]),
      ] : []),
      { name: "core NATS pub/sub", describe, run: (durationMs) => natsTarget.pubsub({ subject: `pubsub.${label}`, value, durationMs, windowRecords: WINDOW }) },
      {
        name: "JetStream async publish",
        describe,
        run: (durationMs) => natsTarget.publish({ stream: "PRODUCE", subject: `produce.${label}`, value, durationMs, windowRecords: JS_WINDOW }),
        after: () => natsTarget.purge("PRODUCE"),
      },
      {
        name: "Redis pipelined XADD",
        describe,
        run: (durationMs) => redisTarget.produce({ key: `produce-${label}`, value, durationMs, windowRecords: WINDOW }),
        after: () => redisTarget.drop(`produce-${label}`),
      },
    ];
    if (value.byteLength === 1024) {
      cells.push({ name: "raw TCP, 1 KiB writes", describe: (r) => `${r.mbps.toFixed(1)} MB/s`, run: (durationMs) => raw.bandwidth({ port: peer.sinkPort, writeBytes: 1024, durationMs }) });
    }
    if (label === "100B" && kafka !== undefined) cells.push(...kafkaCells.kafkaProduceCells({ kafka, value, partitions: 1, windowRecords: WINDOW, describe, label }));
    return withDuration(cells);
  };
  const produceResults = (measured, value) => Object.fromEntries([...measured].map(([name, list]) => [name, {
    records: spread(list.map((r) => r.rate)),
    mbps: spread(list.map((r) => r.mbps ?? (r.rate * value.byteLength) / 1e6)),
  }]));

  if (sections.has("produce")) {
    for (const [value, label] of [[value100, "100B"], [value1k, "1KiB"]]) {
      log(`produce ${label}:`);
      results[`produce ${label}`] = produceResults(await interleave(produceCells(value, label), { runs: RUNS, log }), value);
    }
  }

  if (sections.has("produce-partitions")) {
    // 100 B records to a topic of --partitions partitions: Polywire (sticky
    // partitioner) with acks leader and all, and Kafka.
    const label = `100B-${PARTITIONS}p`;
    const describe = mbps(value100.byteLength);
    const cells = [
      ...["memory", "disk"].map((storage) => polywireProduceCell({ name: `polywire tcp, ${storage}`, target: pw[`polywire tcp, ${storage}`], value: value100, label, describe, partitions: PARTITIONS })),
      ...acksAllCells(value100, label, describe, PARTITIONS),
      ...(kafka === undefined ? [] : kafkaCells.kafkaProduceCells({ kafka, value: value100, partitions: PARTITIONS, windowRecords: WINDOW, describe, label })),
    ];
    log(`produce 100B, ${PARTITIONS} partitions:`);
    results["produce 100B partitions"] = produceResults(await interleave(withDuration(cells), { runs: RUNS, log }), value100);
  }

  const consume = (target, topic, batches = false) => (durationMs) => target.consume({ topic, records: CONSUME_RECORDS, durationMs, batches });

  if (sections.has("consume")) {
    log(`consume: filling ${CONSUME_RECORDS} records of 100 B into each system`);
    const memTopic = kept("polywire tcp, memory", "polywire unix, memory") ? await pw["polywire tcp, memory"].fill("consume", value100, CONSUME_RECORDS) : undefined;
    const diskTopic = kept("polywire tcp, disk") ? await pw["polywire tcp, disk"].fill("consume", value100, CONSUME_RECORDS) : undefined;
    const inProcessTopic = kept("polywire memory://, in-process") ? await pw["polywire memory://, in-process"].fill("consume", value100, CONSUME_RECORDS) : undefined;
    if (kept("JetStream ordered consumer")) await natsTarget.fill({ stream: "CONSUME", subject: "consume.100B", value: value100, records: CONSUME_RECORDS });
    if (kept("Redis XREAD COUNT 5000")) await redisTarget.fill({ key: "consume-100B", value: value100, records: CONSUME_RECORDS });
    const kafkaTopics = kafka === undefined ? undefined : await kafkaCells.kafkaConsumeTopics({ kafka, value: value100, partitions: 1, records: CONSUME_RECORDS, javaRecords: JAVA_CONSUME_RECORDS, label: "100B" });
    const cells = withDuration([
      { name: "polywire tcp, memory", describe: records, run: consume(pw["polywire tcp, memory"], memTopic) },
      { name: "polywire tcp, memory, batches()", describe: records, run: consume(pw["polywire tcp, memory"], memTopic, true) },
      { name: "polywire tcp, disk", describe: records, run: consume(pw["polywire tcp, disk"], diskTopic) },
      { name: "polywire unix, memory", describe: records, run: consume(pw["polywire unix, memory"], memTopic) },
      { name: "polywire memory://, in-process", describe: records, run: consume(pw["polywire memory://, in-process"], inProcessTopic) },
      { name: "JetStream ordered consumer", describe: records, run: (durationMs) => natsTarget.consume({ subject: "consume.>", records: CONSUME_RECORDS, durationMs }) },
      { name: "Redis XREAD COUNT 5000", describe: records, run: (durationMs) => redisTarget.consume({ key: "consume-100B", records: CONSUME_RECORDS, durationMs, count: 5000 }) },
      ...(kafkaTopics === undefined ? [] : kafkaCells.kafkaConsumeCells({ kafka, topics: kafkaTopics, describe: records })),
    ]);
    log("consume 100B:");
    const measured = await interleave(cells, { runs: RUNS, log });
    results["consume 100B"] = Object.fromEntries([...measured].map(([name, list]) => [name, { records: spread(list.map((r) => r.rate)) }]));
    for (const t of Object.values(pw)) await t.dropTopics();
    await natsTarget.purge("CONSUME");
    await redisTarget.drop("consume-100B");
    await kafka?.dropTopics();
  }

  if (sections.has("consume-partitions")) {
    log(`consume: filling ${CONSUME_RECORDS} records of 100 B into topics of ${PARTITIONS} partitions`);
    const memTopic = kept("polywire tcp, memory") ? await pw["polywire tcp, memory"].fill("consume", value100, CONSUME_RECORDS, PARTITIONS) : undefined;
    const diskTopic = kept("polywire tcp, disk") ? await pw["polywire tcp, disk"].fill("consume", value100, CONSUME_RECORDS, PARTITIONS) : undefined;
    const kafkaTopics = kafka === undefined ? undefined : await kafkaCells.kafkaConsumeTopics({ kafka, value: value100, partitions: PARTITIONS, records: CONSUME_RECORDS, javaRecords: JAVA_CONSUME_RECORDS, label: `100B-${PARTITIONS}p` });
    const cells = withDuration([
      { name: "polywire tcp, memory", describe: records, run: consume(pw["polywire tcp, memory"], memTopic) },
      { name: "polywire tcp, memory, batches()", describe: records, run: consume(pw["polywire tcp, memory"], memTopic, true) },
      { name: "polywire tcp, disk", describe: records, run: consume(pw["polywire tcp, disk"], diskTopic) },
      ...(kafkaTopics === undefined ? [] : kafkaCells.kafkaConsumeCells({ kafka, topics: kafkaTopics, describe: records })),
    ]);
    log(`consume 100B, ${PARTITIONS} partitions:`);
    const measured = await interleave(cells, { runs: RUNS, log });
    results["consume 100B partitions"] = Object.fromEntries([...measured].map(([name, list]) => [name, { records: spread(list.map((r) => r.rate)) }]));
    for (const t of Object.values(pw)) await t.dropTopics();
    await kafka?.dropTopics();
  }

  if (sections.has("latency")) {
    const topics = new Map();
    for (const [name, target] of Object.entries(pw)) topics.set(name, await target.topic("latency-100B"));
    // The raw echo sends frames of the size of Polywire's produce request
    // for one 100 B record (idempotent batch, acks=leader, the same topic).
    const batch = encodeBatch([{ value: value100, timestamp: Date.now() }], { producerId: 1n, producerEpoch: 0, baseSequence: 0 });
    const request = toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { topic: topics.get("polywire tcp, memory"), partition: 0, acks: Acks.LEADER, timeoutMs: 30_000 }));
    const frameBytes = 16 + request.byteLength + batch.byteLength;
    const polywireCell = (name, target) => ({
      name,
      describe: micros,
      run: (durationMs) => target.latency({ topic: topics.get(name), value: value100, durationMs }),
    });
    const cells = withDuration([
      polywireCell("polywire tcp, memory", pw["polywire tcp, memory"]),
      polywireCell("polywire tcp, disk", pw["polywire tcp, disk"]),
      polywireCell("polywire unix, memory", pw["polywire unix, memory"]),
      polywireCell("polywire memory://, in-process", pw["polywire memory://, in-process"]),
      { name: `raw TCP echo, ${frameBytes} B`, describe: micros, run: (durationMs) => raw.echoLatency({ port: peer.echoPort, frameBytes, durationMs }) },
      { name: "JetStream publish, awaited", describe: micros, run: (durationMs) => natsTarget.latency({ subject: "latency.100B", value: value100, durationMs }) },
      { name: "Redis XADD, awaited", describe: micros, run: (durationMs) => redisTarget.latency({ key: "latency-100B", value: value100, durationMs }) },
    ]);
    log(`produce-ack latency, unbatched, 100 B (raw echo frame ${frameBytes} B):`);
    const measured = await interleave(cells, { runs: RUNS, log });
    results["latency 100B"] = Object.fromEntries([...measured].map(([name, list]) => [name, { p50: spread(list.map((r) => r.p50)), p99: spread(list.map((r) => r.p99)) }]));
    results.echoFrameBytes = frameBytes;
    await redisTarget.drop("latency-100B");
  }

  const loadAfter = uptime();
  log(`load after: ${loadAfter}`);
  const report = {
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
    load: { before: loadBefore, after: loadAfter },
    versions,
    settings: { runs: RUNS, seconds: RUN_MS / 1000, consumeRecords: CONSUME_RECORDS, window: WINDOW, jsWindow: JS_WINDOW, partitions: PARTITIONS, javaConsumeRecords: JAVA_CONSUME_RECORDS },
    results,
  };
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  const { markdown } = await import("./report.mjs");
  process.stdout.write(markdown(report));
  log(`wrote ${args.json}`);
} finally {
  for (const t of targets.reverse()) await t.close().catch((error) => log(`closing a client: ${error.message}`));
  await inProcess?.close();
  for (const s of started) await s.stop();
  for (const d of dirs) await servers.cleanup(d);
}
