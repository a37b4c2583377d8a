#!/usr/bin/env node
// Many partitions under a low file-descriptor limit (issue 12, item 2): a real
// broker process (packages/broker/scripts/fd-child.ts) started under
// `ulimit -n`, with disk storage, creates topics × partitions through the
// admin API, takes one record on every partition, restarts cleanly, is read
// back completely, takes a second record everywhere, is killed with SIGKILL,
// recovers, and is read back again. Prints the time of every phase, and the
// broker's open descriptors and RSS after each.
//
//   node bench/storage/fds.mjs [--topics 1000] [--partitions 100] [--ulimit 1024] [--max-open-files 256] [--dir DIR]
//
// Without --max-open-files the broker runs with its default. The data
// directory is removed at the end unless --dir names one.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import "../log/sources.mjs";

const { Connection } = await import("@polywire/runtime/connection");
const { encodeBatch, decodeBatch, splitBatches, init } = await import("@polywire/wasm-codec");
const { FrameKind } = await import("@polywire/proto/session");
const { Acks } = await import("@polywire/proto/log");
const { TopicService } = await import("@polywire/proto/admin");
const { createClient } = await import("@connectrpc/connect");
const { createConnectTransport } = await import("@connectrpc/connect-node");

const { values: args } = parseArgs({
  options: {
    topics: { type: "string", default: "1000" },
    partitions: { type: "string", default: "100" },
    ulimit: { type: "string", default: "1024" },
    "max-open-files": { type: "string" },
    dir: { type: "string" },
  },
});
const TOPICS = Number(args.topics);
const PARTITIONS = Number(args.partitions);
const ULIMIT = Number(args.ulimit);
/** Requests in flight per connection: below the broker's max_in_flight (1024). */
const WINDOW = 512;
const CONNECTIONS = 4;

const root = new URL("../../", import.meta.url).pathname;
const script = join(root, "packages/broker/scripts/fd-child.ts");
const text = new TextEncoder();
const decoder = new TextDecoder();
await init();

function topicName(t) {
  return `fds-${String(t).padStart(5, "0")}`;
}

async function startBroker(dir) {
  const started = performance.now();
  const childArgs = [process.execPath, "--conditions=@polywire/source", "--import", "tsx", script, dir, ...(args["max-open-files"] === undefined ? [] : [args["max-open-files"]])];
  const child = spawn("sh", ["-c", `ulimit -n ${ULIMIT} && exec "$0" "$@"`, ...childArgs], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const line = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
    });
    exited.then((code) => reject(new Error(`broker exited with ${code} before it was ready`)));
  });
  const [, tcpUrl, adminUrl, openMs] = line.split(" ");
  return { child, exited, tcpUrl, adminUrl, openMs: Number(openMs), readyMs: performance.now() - started };
}

async function probe(child) {
  const fds = (await readdir(`/proc/${child.pid}/fd`)).length;
  const status = await readFile(`/proc/${child.pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  return { fds, rssMiB: Math.round(rssKiB / 1024) };
}

/** Runs `work(i)` for i in [0, count) with at most `window` outstanding. */
async function windowed(count, window, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function createTopics(adminUrl) {
  const topics = createClient(TopicService, createConnectTransport({ baseUrl: adminUrl, httpVersion: "1.1" }));
  await windowed(TOPICS, 4, (t) => topics.createTopic({ name: topicName(t), partitions: PARTITIONS }));
}

async function produceEverywhere(url, round) {
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => Connection.connect(url)));
  try {
    await windowed(TOPICS * PARTITIONS, WINDOW * CONNECTIONS, async (i) => {
      const t = Math.floor(i / PARTITIONS);
      const p = i % PARTITIONS;
      const value = `${round}:${topicName(t)}/${p}`;
      const response = await conns[i % CONNECTIONS].call(FrameKind.PRODUCE_REQUEST, { topic: topicName(t), partition: p, acks: Acks.LEADER }, encodeBatch([{ value: text.encode(value) }]));
      if (response.message.baseOffset !== BigInt(round)) throw new Error(`${value} landed at ${response.message.baseOffset}`);
    });
  } finally {
    for (const conn of conns) await conn.close();
  }
}

/** Fetches every partition from offset 0 (one request per topic) and checks it holds exactly `rounds` records, in order. */
async function readEverything(url, rounds) {
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => Connection.connect(url)));
  let records = 0;
  try {
    await windowed(TOPICS, 64, async (t) => {
      const partitions = Array.from({ length: PARTITIONS }, (_, p) => ({ topic: topicName(t), partition: p, offset: 0n }));
      const response = await conns[t % CONNECTIONS].call(FrameKind.FETCH_REQUEST, { partitions, maxBytes: 1 << 24 });
      let at = 0;
      for (const result of response.message.partitions) {
        if (result.errorCode !== 0) throw new Error(`${result.topic}/${result.partition}: error ${result.errorCode}`);
        const values = splitBatches(response.payload.subarray(at, at + result.recordsSize)).flatMap((b) => decodeBatch(b).records.map((r) => decoder.decode(r.value)));
        at += result.recordsSize;
        const expected = Array.from({ length: rounds }, (_, r) => `${r}:${result.topic}/${result.partition}`);
        if (JSON.stringify(values) !== JSON.stringify(expected)) throw new Error(`${result.topic}/${result.partition} holds ${JSON.stringify(values)}`);
        records += values.length;
      }
    });
  } finally {
    for (const conn of conns) await conn.close();
  }
  return records;
}

async function timed(what, fn) {
  const started = performance.now();
  const result = await fn();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${what.padEnd(44)} ${seconds.toFixed(1).padStart(7)} s`);
  return result;
}

/** Storage's descriptors never exceed maxOpenFiles + 4; the rest of the count is the idle broker's and sockets (the bench's connections, admin keep-alives). */
const MAX_OPEN_FILES = Number(args["max-open-files"] ?? 256);
const SOCKETS = CONNECTIONS + 4;
let idleFds = 0;
let mostFds = 0;

function report(what, probed) {
  mostFds = Math.max(mostFds, probed.fds - idleFds);
  const bound = idleFds + MAX_OPEN_FILES + 4 + SOCKETS;
  if (idleFds > 0 && probed.fds > bound) throw new Error(`${probed.fds} descriptors open, above the bound ${bound}`);
  console.log(`${what.padEnd(44)} ${String(probed.fds).padStart(7)} fds ${String(probed.rssMiB).padStart(6)} MiB RSS`);
}

async function stop(broker, signal) {
  broker.child.kill(signal);
  const code = await broker.exited;
  if (code !== (signal === "SIGKILL" ? "SIGKILL" : 0)) throw new Error(`broker exited with ${code}`);
}

const dir = args.dir ?? (await mkdtemp(join(tmpdir(), "polywire-fds-")));
const total = TOPICS * PARTITIONS;
console.log(`${TOPICS} topics × ${PARTITIONS} partitions = ${total} partitions, ulimit -n ${ULIMIT}, maxOpenFiles ${args["max-open-files"] ?? "default"}, ${dir}`);
let broker = null;
try {
  broker = await startBroker(dir);
  const idle = await probe(broker.child);
  report("idle broker", idle);
  idleFds = idle.fds;
  await timed(`create ${TOPICS} topics (admin CreateTopic)`, () => createTopics(broker.adminUrl));
  report("after create", await probe(broker.child));
  await timed(`produce 1 record to each of ${total}`, () => produceEverywhere(broker.tcpUrl, 0));
  report("after produce", await probe(broker.child));
  await timed("clean shutdown (SIGTERM)", () => stop(broker, "SIGTERM"));

  broker = await startBroker(dir);
  console.log(`${"restart after clean shutdown: open storage".padEnd(44)} ${(broker.openMs / 1000).toFixed(1).padStart(7)} s (process start to ready ${(broker.readyMs / 1000).toFixed(1)} s)`);
  report("after restart", await probe(broker.child));
  const read = await timed("read every partition back", () => readEverything(broker.tcpUrl, 1));
  if (read !== total) throw new Error(`read ${read} records, expected ${total}`);
  report("after read", await probe(broker.child));
  await timed(`produce a 2nd record to each of ${total}`, () => produceEverywhere(broker.tcpUrl, 1));
  await stop(broker, "SIGKILL");

  broker = await startBroker(dir);
  console.log(`${"restart after SIGKILL: open and recover".padEnd(44)} ${(broker.openMs / 1000).toFixed(1).padStart(7)} s (process start to ready ${(broker.readyMs / 1000).toFixed(1)} s)`);
  report("after recovery", await probe(broker.child));
  const reread = await timed("read every partition back", () => readEverything(broker.tcpUrl, 2));
  if (reread !== 2 * total) throw new Error(`read ${reread} records, expected ${2 * total}`);
  report("after read", await probe(broker.child));
  await stop(broker, "SIGTERM");
  console.log("every record read back, in order, after both restarts");
  console.log(`most descriptors above the idle broker's ${idleFds}: ${mostFds} (bound: maxOpenFiles ${MAX_OPEN_FILES} + 4 + ${SOCKETS} sockets)`);
} catch (error) {
  console.log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  // A broker left running by a failed phase would keep writing to the directory.
  if (broker !== null && broker.child.exitCode === null && broker.child.signalCode === null) {
    broker.child.kill("SIGKILL");
    await broker.exited;
  }
  if (args.dir === undefined) await rm(dir, { recursive: true, force: true });
}
