#!/usr/bin/env node
// In-process pub/sub (issue 17, PW-TRANS-012): a broker and its clients in
// one process over memory://, where publish→deliver takes the in-process
// path (no frames). 64-byte messages, one publisher → one subscriber:
//   copy       publish(subject, bytes, { ack: false }): the body is copied
//              once at publish (the caller may reuse its buffer)
//   transfer   the same with { transfer: true }: the subscriber gets the
//              publisher's array by reference
//   framed     the same publishes over tcp://127.0.0.1 to the same broker
//              (frames, socket), for scale
// The publisher publishes slices of 1,024 messages synchronously and keeps
// at most 32,768 not yet read by the subscriber's `for await` loop (well
// under max_pending, so nothing is dropped; the run fails if anything is).
// Rate = messages / time from the first publish to the last one read.
// Latency: one message in flight, publish → the loop has it, p50 and p99.
// Cells interleaved, min / median / max over the rounds.
//
//   node bench/pubsub/inproc.mjs [--rounds 5] [--messages 1000000] [--samples 20000]
import { parseArgs } from "node:util";
import os from "node:os";
import { Broker } from "@polywire/broker";
import { connect } from "@polywire/runtime";
import { percentile, spread } from "../log/measure.mjs";

const SIZE = 64;
const SLICE = 1024;
const WINDOW = 32_768;

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "5" }, messages: { type: "string", default: "1000000" }, samples: { type: "string", default: "20000" } } });
const rounds = Number(args.rounds);
const messages = Number(args.messages);
const samples = Number(args.samples);

const broker = await Broker.start({ storage: { engine: "memory" }, listeners: [`memory://bench-${process.pid}`, "tcp://127.0.0.1:0"], keepaliveIntervalMs: 0 });
const [memoryUrl, tcpUrl] = broker.urls;

async function throughput(url, transfer, count) {
  const publisher = await connect(url);
  const subscriber = await connect(url);
  try {
    return await pump(publisher, subscriber, transfer, count);
  } finally {
    await Promise.all([publisher.close(), subscriber.close()]);
  }
}

async function pump(publisher, subscriber, transfer, count) {
  const sub = subscriber.subscribe("bench.x");
  await sub.ready;
  let received = 0;
  let wake;
  const reader = (async () => {
    for await (const m of sub) {
      if (m.data.byteLength !== SIZE) throw new Error("wrong size");
      received++;
      if (wake !== undefined && (received === count || received % SLICE === 0)) {
        const w = wake;
        wake = undefined;
        w();
      }
      if (received === count) break;
    }
  })();
  const reused = new Uint8Array(SIZE).fill(7);
  const options = { ack: false, transfer };
  const started = performance.now();
  for (let sent = 0; sent < count; ) {
    while (sent - received >= WINDOW) await new Promise((resolve) => (wake = resolve));
    const n = Math.min(SLICE, count - sent);
    for (let i = 0; i < n; i++) void publisher.publish("bench.x", transfer ? new Uint8Array(SIZE).fill(7) : reused, options);
    sent += n;
    // Lets the broker's flush and the loop run, as an application's tick would.
    await new Promise((resolve) => setImmediate(resolve));
  }
  while (received < count) await new Promise((resolve) => (wake = resolve));
  const seconds = (performance.now() - started) / 1000;
  await reader;
  if (sub.dropped !== 0 || sub.missed !== 0) throw new Error(`dropped ${sub.dropped}, missed ${sub.missed}`);
  return count / seconds;
}

async function latency(url, count) {
  const publisher = await connect(url);
  const subscriber = await connect(url);
  try {
    return await oneInFlight(publisher, subscriber, count);
  } finally {
    await Promise.all([publisher.close(), subscriber.close()]);
  }
}

async function oneInFlight(publisher, subscriber, count) {
  const sub = subscriber.subscribe("bench.lat");
  await sub.ready;
  const iterator = sub[Symbol.asyncIterator]();
  const body = new Uint8Array(SIZE).fill(1);
  const times = [];
  for (let i = 0; i < count + 1000; i++) {
    const started = performance.now();
    void publisher.publish("bench.lat", body, { ack: false });
    await iterator.next();
    if (i >= 1000) times.push((performance.now() - started) * 1000);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const cells = [
  { name: "in-process, copy", run: () => throughput(memoryUrl, false, messages) },
  { name: "in-process, transfer", run: () => throughput(memoryUrl, true, messages) },
  { name: "tcp://127.0.0.1, framed", run: () => throughput(tcpUrl, false, Math.min(messages, 200_000)) },
];
const results = new Map(cells.map((c) => [c.name, []]));
const lat = new Map([["in-process", { p50: [], p99: [] }], ["tcp", { p50: [], p99: [] }]]);
for (const cell of cells) await cell.run(); // warm-up
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < cells.length; k++) {
    const cell = cells[(round + k) % cells.length];
    results.get(cell.name).push(await cell.run());
  }
  for (const [name, url] of [["in-process", memoryUrl], ["tcp", tcpUrl]]) {
    const { p50, p99 } = await latency(url, samples);
    lat.get(name).p50.push(p50);
    lat.get(name).p99.push(p99);
  }
  console.error(`round ${round + 1}/${rounds} done`);
}
await broker.close();

const k = (x) => Math.round(x).toLocaleString("en");
console.log(`Run ${new Date().toISOString()}; ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${rounds} rounds of ${messages.toLocaleString("en")} messages of ${SIZE} bytes (framed: ${Math.min(messages, 200_000).toLocaleString("en")}).`);
console.log("");
console.log("| publish→subscriber, 64 B | msg/s (min / median / max) | ÷ Psyne's 800,000 |");
console.log("| --- | --- | --- |");
for (const cell of cells) {
  const s = spread(results.get(cell.name));
  console.log(`| ${cell.name} | ${k(s.min)} / **${k(s.median)}** / ${k(s.max)} | ${(s.median / 800_000).toFixed(2)}× |`);
}
console.log("");
console.log("| one message in flight | p50 µs (min / median / max) | p99 µs (min / median / max) |");
console.log("| --- | --- | --- |");
for (const [name, { p50, p99 }] of lat) {
  const a = spread(p50);
  const b = spread(p99);
  console.log(`| ${name} | ${a.min.toFixed(1)} / **${a.median.toFixed(1)}** / ${a.max.toFixed(1)} | ${b.min.toFixed(1)} / **${b.median.toFixed(1)}** / ${b.max.toFixed(1)} |`);
}
