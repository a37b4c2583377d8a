#!/usr/bin/env node
// Publish→deliver of 64-byte messages, Polywire against core NATS in one
// run, interleaved (bench/log/measure.mjs): one publisher and one
// subscriber, and one publisher fanned out to 10 subscribers, each on its
// own connection; then latency with one message in flight.
//
//   node --expose-gc bench/pubsub/throughput.mjs [--rounds 5] [--seconds 2]
//
// Servers: a Polywire broker through the CLI in its own process (memory
// storage) over TCP, and nats-server (Debian) over TCP, both on 127.0.0.1;
// clients in this process: @polywire/runtime and the npm `nats` client.
// Throughput: fire-and-forget publishes in slices of 1,024 with at most
// 32,768 messages not yet received by every subscriber, counted as
// messages published per second once every subscriber got them all (a lost
// message would hang the slice: none may be). Latency: publish, await the
// one subscriber's receipt, repeat, for `seconds`.
import { parseArgs } from "node:util";
import { connect as natsConnect } from "nats";
import { connect as polywireConnect } from "@polywire/runtime";
import { interleave, latency, pump, spread } from "../log/measure.mjs";
import { cleanup, scratch, startNats, startPolywire } from "../log/servers.mjs";

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "2" } } });
const ROUNDS = Number(args.rounds);
const DURATION = Number(args.seconds) * 1000;
const BODY = new Uint8Array(64).fill(97);
const SLICE = 1024;
const WINDOW = 32_768;
const log = (line) => process.stderr.write(`${line}\n`);

/** Counts arrivals per subscriber and resolves waiters once every subscriber reached a count. */
class Arrivals {
  constructor(subscribers) {
    this.counts = new Array(subscribers).fill(0);
    this.waiters = [];
  }
  got(i) {
    this.counts[i]++;
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

async function polywireShape(url, subscribers) {
  const pub = await polywireConnect(url, { clientId: "bench-pub" });
  const subs = [];
  const arrivals = new Arrivals(subscribers);
  const subject = `bench.p${subscribers}`;
  for (let i = 0; i < subscribers; i++) {
    const client = await polywireConnect(url, { clientId: `bench-sub-${i}` });
    const sub = client.subscribe(subject, { maxPending: 1 << 20 });
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

async function natsShape(url, subscribers) {
  const pub = await natsConnect({ servers: url, name: "bench-pub" });
  const subs = [];
  const arrivals = new Arrivals(subscribers);
  const subject = `bench.n${subscribers}`;
  for (let i = 0; i < subscribers; i++) {
    const nc = await natsConnect({ servers: url, name: `bench-sub-${i}` });
    nc.subscribe(subject, { callback: () => arrivals.got(i) });
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
    for (const n of [1, 10]) shapes.push({ name: `${name} 1→${n}`, shape: await open(url, n) });
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
    console.log(`| ${cell.name.split(" ").pop()} | ${cell.name.replace(/ 1→\d+$/, "")} | ${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)} |`);
  }
  for (const n of [1, 10]) {
    const p = spread(results.get(`polywire 1→${n}`).map((r) => r.rate)).median;
    const q = spread(results.get(`core NATS 1→${n}`).map((r) => r.rate)).median;
    console.log(`ratio 1→${n} polywire / NATS (medians): ${(p / q).toFixed(2)}`);
  }
  console.log("\n| system | p50 µs (min / median / max) | p99 µs (min / median / max) |\n| --- | --- | --- |");
  for (const cell of latencyCells) {
    const rs = results.get(cell.name);
    const a = spread(rs.map((r) => r.p50));
    const b = spread(rs.map((r) => r.p99));
    console.log(`| ${cell.name.replace(" 1→1 latency", "")} | ${a.min.toFixed(0)} / ${a.median.toFixed(0)} / ${a.max.toFixed(0)} | ${b.min.toFixed(0)} / ${b.median.toFixed(0)} / ${b.max.toFixed(0)} |`);
  }
  for (const { shape } of shapes) await shape.close();
} finally {
  await polywire.stop();
  await nats.stop();
  await cleanup(dir);
}
