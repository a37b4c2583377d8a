#!/usr/bin/env node
// Publish→deliver of 100-byte messages, Polywire against core NATS in one
// run, interleaved (bench/log/measure.mjs): one publisher and one
// subscriber, one publisher fanned out to 10 subscribers, and one publisher
// to a queue group of 10 members (each message to one of them), every
// subscriber on its own connection; then latency with one message in flight.
//
//   node --expose-gc bench/pubsub/throughput.mjs [--rounds 5] [--seconds 2]
//
// Servers: a Polywire broker through the CLI in its own process (memory
// storage) over TCP, and nats-server (Debian) over TCP, both on 127.0.0.1;
// clients in this process: @polywire/runtime and the npm `nats` client.
// Throughput: fire-and-forget publishes in slices of 1,024 with at most
// 32,768 messages not yet received by every subscriber (by the group, for
// the queue group), counted as messages published per second once every
// subscriber got them all (a lost message would hang the slice: none may be). Latency: publish, await the
// one subscriber's receipt, repeat, for `seconds`.
import { parseArgs } from "node:util";
import { connect as natsConnect } from "nats";
import { connect as polywireConnect } from "@polywire/runtime";
import { interleave, latency, pump, spread } from "../log/measure.mjs";
import { cleanup, scratch, startNats, startPolywire } from "../log/servers.mjs";

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "2" } } });
const ROUNDS = Number(args.rounds);
const DURATION = Number(args.seconds) * 1000;
const BODY = new Uint8Array(100).fill(97);
const QUEUE = 10;
const SLICE = 1024;
const WINDOW = 32_768;
const log = (line) => process.stderr.write(`${line}\n`);

/**
 * Counts arrivals per subscriber and resolves waiters once every subscriber
 * reached a count; the members of a queue group count as one subscriber.
 */
class Arrivals {
  constructor(subscribers, queue) {
    this.counts = new Array(queue ? 1 : subscribers).fill(0);
    this.queue = queue;
    this.waiters = [];
  }
  got(i) {
    this.counts[this.queue ? 0 : i]++;
    if (this.waiters.length > 0) this.#check();
  }
  /** Resolves when every subscriber has received `total` messages. */
  until(total) {
    return new Promise((resolve) => {
      this.waiters.push({ total, resolve });
      this.#check();
    });
  }
  #check() {
    const low = Math.min(...this.counts);
    this.waiters = this.waiters.filter((w) => (low >= w.total ? (w.resolve(), false) : true));
  }
}

/** A shape: `subscribers` subscriptions on their own connections, members of one queue group when `queue`. */
async function polywireShape(url, subscribers, queue) {
  const pub = await polywireConnect(url, { clientId: "bench-pub" });
  const subs = [];
  const arrivals = new Arrivals(subscribers, queue);
  const subject = `bench.p${subscribers}${queue ? "q" : ""}`;
  for (let i = 0; i < subscribers; i++) {
    const client = await polywireConnect(url, { clientId: `bench-sub-${i}` });
    const sub = client.subscribe(subject, { maxPending: 1 << 20, ...(queue ? { queue: "workers" } : {}) });
    await sub.ready;
    void (async () => {
      for await (const _ of sub) arrivals.got(i);
    })();
    subs.push(client);
  }
  let published = 0;
  return {
    publish: (n) => {
      for (let k = 0; k < n; k++) void pub.publish(subject, BODY, { ack: false });
      published += n;
      return arrivals.until(published);
    },
    close: async () => {
      for (const c of subs) await c.close();
      await pub.close();
    },
  };
}

async function natsShape(url, subscribers, queue) {
  const pub = await natsConnect({ servers: url, name: "bench-pub" });
  const subs = [];
  const arrivals = new Arrivals(subscribers, queue);
  const subject = `bench.n${subscribers}${queue ? "q" : ""}`;
  for (let i = 0; i < subscribers; i++) {
    const nc = await natsConnect({ servers: url, name: `bench-sub-${i}` });
    nc.subscribe(subject, { callback: () => arrivals.got(i), ...(queue ? { queue: "workers" } : {}) });
    await nc.flush();
    subs.push(nc);
  }
  let published = 0;
  return {
    publish: (n) => {
      for (let k = 0; k < n; k++) pub.publish(subject, BODY);
      published += n;
      return arrivals.until(published);
    },
    close: async () => {
      for (const c of subs) await c.close();
      await pub.close();
    },
  };
}

const dir = await scratch("pubsub-bench");
const polywire = await startPolywire({ storage: "memory", socketDir: dir });
const nats = await startNats({ storeDir: dir });
try {
  const shapes = [];
  for (const [name, open, url] of [["polywire", polywireShape, polywire.tcp], ["core NATS", natsShape, nats.url]]) {
    for (const n of [1, 10]) shapes.push({ name: `${name} 1→${n}`, shape: await open(url, n, false) });
    shapes.push({ name: `${name} 1→queue${QUEUE}`, shape: await open(url, QUEUE, true) });
  }
  const cells = shapes.map(({ name, shape }) => ({
    name,
    run: () => pump({ durationMs: DURATION, sliceRecords: SLICE, windowRecords: WINDOW, slice: (n) => shape.publish(n) }),
    describe: (r) => `${Math.round(r.rate).toLocaleString("en")} msg/s`,
  }));
  const latencyCells = shapes.filter(({ name }) => name.endsWith("1→1")).map(({ name, shape }) => ({
    name: `${name} latency`,
    run: () => latency({ durationMs: DURATION, once: () => shape.publish(1) }),
    describe: (r) => `p50 ${r.p50.toFixed(0)} µs, p99 ${r.p99.toFixed(0)} µs (${r.samples} samples)`,
  }));
  const results = await interleave([...cells, ...latencyCells], { runs: ROUNDS, log });
  const fmt = (n) => Math.round(n).toLocaleString("en");
  console.log("| shape | system | msg/s (min / median / max) |\n| --- | --- | --- |");
  for (const cell of cells) {
    const s = spread(results.get(cell.name).map((r) => r.rate));
    console.log(`| ${cell.name.split(" ").pop()} | ${cell.name.replace(/ 1→\w+$/, "")} | ${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)} |`);
  }
  // The ratio of each round (both cells ran in it, under the same load), then their spread.
  for (const n of ["1", "10", `queue${QUEUE}`]) {
    const p = results.get(`polywire 1→${n}`);
    const q = results.get(`core NATS 1→${n}`);
    const r = spread(p.map((run, i) => run.rate / q[i].rate));
    console.log(`ratio 1→${n} polywire / NATS per round (min / median / max): ${r.min.toFixed(2)} / ${r.median.toFixed(2)} / ${r.max.toFixed(2)}`);
  }
  console.log("\n| system | p50 µs (min / median / max) | p99 µs (min / median / max) |\n| --- | --- | --- |");
  for (const cell of latencyCells) {
    const rs = results.get(cell.name);
    const a = spread(rs.map((r) => r.p50));
    const b = spread(rs.map((r) => r.p99));
    console.log(`| ${cell.name.replace(" 1→1 latency", "")} | ${a.min.toFixed(0)} / ${a.median.toFixed(0)} / ${a.max.toFixed(0)} | ${b.min.toFixed(0)} / ${b.median.toFixed(0)} / ${b.max.toFixed(0)} |`);
  }
  const p50 = spread(results.get("polywire 1→1 latency").map((run, i) => run.p50 / results.get("core NATS 1→1 latency")[i].p50));
  console.log(`ratio p50 polywire / NATS per round (min / median / max): ${p50.min.toFixed(2)} / ${p50.median.toFixed(2)} / ${p50.max.toFixed(2)}`);
  for (const { shape } of shapes) await shape.close();
} finally {
  await polywire.stop();
  await nats.stop();
  await cleanup(dir);
}
