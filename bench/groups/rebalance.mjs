#!/usr/bin/env node
// How long a consumer group takes to settle after a membership change:
// 10 members over a 32-partition topic; an 11th member joins; a member
// leaves gracefully; a member is killed (SIGKILL; session timeout 6 s, so
// the time after the timeout is what the protocol adds). Polywire (broker
// through the CLI, members through @polywire/runtime, cooperative-sticky
// and range) against Apache Kafka 4.4 in KRaft mode with Kafka's Java
// client on KIP-848's consumer protocol (server-side assignment; the
// broker's one assignor, uniform) and with KafkaJS 2.2.4 (the classic
// protocol, round-robin), interleaved round by round.
//
//   node bench/groups/rebalance.mjs [--rounds 3] [--heartbeat-ms 250] [--only polywire]
//
// Every member is its own process (the kill is a real SIGKILL). Settled
// means: the live members own every partition exactly once, balanced
// (counts differ by at most one), and each partition's owner has received
// a record of it since the event (bench/groups/members.mjs). A feeder
// produces one record to every partition every 10 ms throughout, so
// "consuming again" is visible within ~10 ms. Every system gets the same
// heartbeat interval (--heartbeat-ms: Polywire's broker setting
// heartbeatIntervalMs, Kafka's group.consumer.heartbeat.interval.ms and its
// minimum, KafkaJS's heartbeatInterval) and session timeout (6 s), and
// Kafka's assignment interval is set to 0 (its default batches assignment
// work for 1 s). Polywire's broker gives members with reconciliation under
// way its reconcileHeartbeatIntervalMs (default 250 ms, capped to the
// heartbeat interval); Kafka has no such setting.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import kafkajs from "kafkajs";
import { connect, Record } from "@polywire/runtime";
import { createAdminClient } from "@polywire/runtime/admin";
import { spread } from "../log/measure.mjs";
import { cleanup, scratch, start } from "../log/servers.mjs";
import { startKafka } from "../peers/kafka.mjs";
import { Member, settled, wallClock } from "./members.mjs";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    "heartbeat-ms": { type: "string", default: "250" },
    only: { type: "string" },
  },
});
const ROUNDS = Number(args.rounds);
const HEARTBEAT_MS = Number(args["heartbeat-ms"]);
const SESSION_TIMEOUT_MS = 6_000;
const PARTITIONS = 32;
const MEMBERS = 10;
const root = fileURLToPath(new URL("../../", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));
const source = ["--conditions=@polywire/source", "--import", "tsx"];
const log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const unique = (prefix) => `${prefix}-${process.pid}-${++counter}`;

// ---- Polywire ----------------------------------------------------------

async function startPolywireBroker(dir) {
  const config = join(dir, "broker.json");
  await writeFile(config, JSON.stringify({
    groups: {
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      reconcileHeartbeatIntervalMs: Math.min(250, HEARTBEAT_MS),
    },
  }));
  const server = await start("polywire broker", process.execPath, [
    ...source, join(root, "packages/cli/src/bin.ts"), "broker", "--config", config, "--memory",
    "--listener", "tcp://127.0.0.1:0", "--http-port", "0",
  ], { ready: /^ready$/m, timeoutMs: 60_000 });
  const tcp = /listen (tcp:\/\/\S+)/.exec(server.output)?.[1];
  const http = /http +(http:\/\/\S+)/.exec(server.output)?.[1];
  if (tcp === undefined || http === undefined) throw new Error(`cannot read the broker's URLs from:\n${server.output}`);
  return { ...server, tcp, http };
}

function polywireSystem(broker, assignor) {
  let client;
  const admin = createAdminClient(broker.http);
  return {
    name: `Polywire ${assignor}`,
    async open() {
      client = await connect(broker.tcp, { clientId: "rebalance-feeder" });
    },
    async topic() {
      const name = unique("rebalance");
      await admin.createTopic(name, { partitions: PARTITIONS });
      return name;
    },
    async feeder(topic) {
      const producer = client.producer({ lingerMs: 1 });
      return feed(async () => {
        const sends = [];
        for (let p = 0; p < PARTITIONS; p++) sends.push(producer.send(Record.text(topic, "x", { partition: p })));
        await Promise.all(sends);
      }, () => producer.close());
    },
    member: (i, group, topic) => new Member(`polywire member ${i}`, process.execPath, [...source, join(here, "member-polywire.mjs"), broker.tcp, group, topic, assignor]),
    async drop(topic) {
      await admin.deleteTopic(topic);
    },
    async close() {
      await client?.close();
    },
  };
}

// ---- Kafka ---------------------------------------------------------------

function kafkaSystem(kafka, kind) {
  let client;
  let admin;
  const classes = join(root, ".cache/bench-groups");
  return {
    name: kind === "java" ? "Kafka Java client (KIP-848, uniform)" : "KafkaJS 2.2.4 (classic, round-robin)",
    async open() {
      client = new kafkajs.Kafka({ clientId: "rebalance-feeder", brokers: [kafka.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
      admin = client.admin();
      await admin.connect();
      if (kind === "java" && !existsSync(join(classes, "Member.class"))) {
        mkdirSync(classes, { recursive: true });
        execFileSync("javac", ["-cp", kafka.classpath, "-d", classes, join(here, "Member.java")]);
      }
    },
    async topic() {
      const name = unique("rebalance");
      // KafkaJS's waitForLeaders can let UNKNOWN_TOPIC_OR_PARTITION escape uncaught
      // (bench/log/kafka.mjs): the topic is ready once ListOffsets answers for it.
      await admin.createTopics({ topics: [{ topic: name, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: false });
      for (let attempt = 0; ; attempt++) {
        try {
          const offsets = await admin.fetchTopicOffsets(name);
          if (offsets.length === PARTITIONS) break;
        } catch (error) {
          if (attempt > 300) throw error;
        }
        await sleep(100);
      }
      return name;
    },
    async feeder(topic) {
      // A producer per topic: KafkaJS keeps refreshing the metadata of every
      // topic a producer ever sent to, and fails sends once one was deleted.
      const producer = client.producer();
      await producer.connect();
      const messages = Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: "x" }));
      return feed(() => producer.send({ topic, acks: 1, messages }), () => producer.disconnect());
    },
    member(i, group, topic) {
      if (kind === "java") {
        return new Member(`kafka java member ${i}`, "java", ["-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", `${classes}:${kafka.classpath}`, "Member", kafka.bootstrap, group, topic]);
      }
      return new Member(`kafkajs member ${i}`, process.execPath, [join(here, "member-kafkajs.mjs"), kafka.bootstrap, group, topic, String(SESSION_TIMEOUT_MS), String(HEARTBEAT_MS)]);
    },
    async drop(topic) {
      await admin.deleteTopics({ topics: [topic] });
    },
    async close() {
      await admin?.disconnect();
    },
  };
}

// ---- the scenario ------------------------------------------------------------

/** Calls `once` every 10 ms until stopped; `stop()` waits for the last call and runs `close`. */
function feed(once, close) {
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await once();
      await sleep(Math.max(0, 10 - (performance.now() - started)));
    }
  })();
  return { stop: async () => { running = false; await loop; await close(); } };
}

let marks = 0;

async function event(members, live, act) {
  const markId = ++marks;
  const t0 = wallClock();
  for (const m of members) m.mark(markId, t0);
  await act();
  return settled({ live, partitions: PARTITIONS, markId, t0 });
}

async function scenario(system) {
  const topic = await system.topic();
  const group = unique("group");
  const feeder = await system.feeder(topic);
  const members = Array.from({ length: MEMBERS + 1 }, (_, i) => system.member(i, group, topic));
  try {
    await Promise.all(members.map((m) => m.ready()));
    const first = members.slice(0, MEMBERS);
    const initial = await event(members, first, async () => { for (const m of first) m.join(); });
    if (initial === null) throw new Error(`${system.name}: the first ${MEMBERS} members never settled`);
    const joiner = members[MEMBERS];
    const join = await event(members, members, async () => joiner.join());
    const leave = await event(members, first, async () => { await joiner.leave(); });
    const victim = members[0];
    const kill = await event(members, first.slice(1), async () => { await victim.kill(); });
    const errors = members.flatMap((m) => m.errors);
    if (errors.length > 0) throw new Error(`${system.name}: a member failed: ${errors[0]}`);
    return { initial, join, leave, kill: kill === null ? null : kill - SESSION_TIMEOUT_MS };
  } finally {
    await feeder.stop();
    await Promise.all(members.map((m) => m.stop()));
    await system.drop(topic).catch(() => undefined);
  }
}

// ---- main ------------------------------------------------------------------

const dir = await scratch("rebalance");
const servers = [];
try {
  const only = args.only;
  const systems = [];
  if (only === undefined || only === "polywire") {
    const broker = await startPolywireBroker(dir);
    servers.push(broker);
    systems.push(polywireSystem(broker, "cooperative-sticky"), polywireSystem(broker, "range"));
  }
  if (only === undefined || only === "kafka") {
    const kafka = await startKafka({
      log,
      overrides: {
        "group.consumer.heartbeat.interval.ms": String(HEARTBEAT_MS),
        "group.consumer.min.heartbeat.interval.ms": String(HEARTBEAT_MS),
        "group.consumer.session.timeout.ms": String(SESSION_TIMEOUT_MS),
        "group.consumer.min.session.timeout.ms": String(SESSION_TIMEOUT_MS),
        "group.consumer.assignment.interval.ms": "0",
        "group.consumer.min.assignment.interval.ms": "0",
        "group.min.session.timeout.ms": String(SESSION_TIMEOUT_MS),
      },
    });
    servers.push(kafka);
    systems.push(kafkaSystem(kafka, "java"), kafkaSystem(kafka, "kafkajs"));
  }
  for (const s of systems) await s.open();
  const results = new Map(systems.map((s) => [s.name, { initial: [], join: [], leave: [], kill: [] }]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const system of systems) {
      const r = await scenario(system);
      const into = results.get(system.name);
      for (const k of Object.keys(into)) into[k].push(r[k]);
      log(`round ${round} ${system.name}: ${Object.entries(r).map(([k, v]) => `${k} ${v === null ? "unsettled" : `${Math.round(v)} ms`}`).join(", ")}`);
    }
  }
  for (const s of systems) await s.close();
  report(results);
} finally {
  for (const s of servers.reverse()) await s.stop();
  await cleanup(dir);
}

function cell(values) {
  if (values.some((v) => v === null)) return `unsettled in ${values.filter((v) => v === null).length} of ${values.length}`;
  const { min, median, max } = spread(values);
  return `${Math.round(median)} (${Math.round(min)}–${Math.round(max)})`;
}

function report(results) {
  const lines = [
    `Rebalance, ${MEMBERS} members over ${PARTITIONS} partitions, ms until settled: median (min–max) of ${ROUNDS} rounds; heartbeat ${HEARTBEAT_MS} ms, session timeout ${SESSION_TIMEOUT_MS} ms (kill: time after the timeout).`,
    "",
    "| system | first 10 members | 11th joins | one leaves | one killed (after timeout) |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const [name, r] of results) lines.push(`| ${name} | ${cell(r.initial)} | ${cell(r.join)} | ${cell(r.leave)} | ${cell(r.kill)} |`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
