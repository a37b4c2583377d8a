#!/usr/bin/env node
// Request/reply against NATS request/reply and raw loopback TCP, in one run,
// interleaved (bench/log/measure.mjs):
//   latency   one caller, 100-byte request and reply, one call at a time (p50/p99)
//   latency16 16 callers on one connection, each one call at a time (p50/p99, calls/s)
//   calls/s   4 responders (a queue group), 256 calls in flight from one caller
//   stream    one body of --stream-mib MiB (default 1024) to a responder that
//             counts it (Polywire; NATS has no streamed bodies) vs a raw TCP sink
//
//   node --expose-gc bench/rpc/rpc.mjs [--rounds 5] [--seconds 2] [--stream-mib 1024]
//
// Servers in their own processes: a Polywire broker through the CLI (memory
// storage), nats-server (Debian), the raw TCP echo and sink (tcp-peer.mjs);
// callers and responders in this process: @polywire/runtime and the npm
// `nats` client, each on its own connection.
import net from "node:net";
import { parseArgs } from "node:util";
import { connect as natsConnect } from "nats";
import { connect } from "@polywire/runtime";
import { interleave, latency, now, percentile, spread } from "../log/measure.mjs";
import { cleanup, scratch, startNats, startPolywire, startTcpPeer } from "../log/servers.mjs";

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "2" }, "stream-mib": { type: "string", default: "1024" } } });
const ROUNDS = Number(args.rounds);
const DURATION = Number(args.seconds) * 1000;
const STREAM = Number(args["stream-mib"]) * 1024 * 1024;
const BODY = new Uint8Array(100).fill(97);
const CHUNK = new Uint8Array(64 * 1024).fill(7);
const log = (line) => process.stderr.write(`${line}\n`);

/** `callers` loops of one call at a time for DURATION: latencies (µs) and calls/s. */
async function concurrent(callers, once) {
  const samples = [];
  const started = now();
  await Promise.all(Array.from({ length: callers }, async () => {
    while (now() - started < DURATION) {
      const t0 = process.hrtime.bigint();
      await once();
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }));
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), rate: samples.length / ((now() - started) / 1000) };
}

/** Calls/s with `inFlight` calls outstanding for DURATION. */
async function throughput(inFlight, once) {
  let done = 0;
  const started = now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (now() - started < DURATION) {
      await once();
      done++;
    }
  }));
  return { rate: done / ((now() - started) / 1000) };
}

async function* bytes(n) {
  for (let left = n; left > 0; left -= CHUNK.byteLength) yield left >= CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, left);
}

async function polywireSide(url) {
  const callers = await connect(url, { clientId: "bench-caller" });
  const servers = await Promise.all([0, 1, 2, 3].map(() => connect(url, { clientId: "bench-responder" })));
  const echo = (req) => req.body;
  const services = [
    servers[0].serve("bench.one", echo, { concurrency: 0 }),
    ...servers.map((s) => s.serve("bench.four", echo, { concurrency: 0 })),
    servers[0].serve("bench.sink", async (req) => {
      let n = 0;
      for await (const chunk of req.body) n += chunk.byteLength;
      return String(n);
    }, { concurrency: 0 }),
  ];
  await Promise.all(services.map((s) => s.ready));
  return {
    one: () => callers.request("bench.one", BODY),
    four: () => callers.request("bench.four", BODY),
    async stream() {
      const call = await callers.call("bench.sink", { timeout: 600_000, window: 1024 * 1024 });
      const sending = call.send(bytes(STREAM));
      const got = Number(await (await call.reply).body.text());
      await sending;
      if (got !== STREAM) throw new Error(`sink read ${got}`);
    },
    close: async () => {
      await Promise.all(services.map((s) => s.close()));
      await Promise.all([callers.close(), ...servers.map((s) => s.close())]);
    },
  };
}

async function natsSide(url) {
  const caller = await natsConnect({ servers: url, noEcho: true });
  const responders = await Promise.all([0, 1, 2, 3].map(() => natsConnect({ servers: url })));
  const serve = (nc, subject) => nc.subscribe(subject, { queue: "q", callback: (_err, msg) => msg.respond(msg.data) });
  serve(responders[0], "bench.one");
  for (const r of responders) serve(r, "bench.four");
  await Promise.all(responders.map((r) => r.flush()));
  return {
    one: () => caller.request("bench.one", BODY, { timeout: 30_000 }),
    four: () => caller.request("bench.four", BODY, { timeout: 30_000 }),
    close: async () => {
      await Promise.all([caller.close(), ...responders.map((r) => r.close())]);
    },
  };
}

function tcpSide(echoPort, sinkPort) {
  const socket = net.connect({ host: "127.0.0.1", port: echoPort, noDelay: true });
  let waiting;
  let got = 0;
  socket.on("data", (chunk) => {
    got += chunk.byteLength;
    if (got >= BODY.byteLength && waiting !== undefined) {
      got -= BODY.byteLength;
      const w = waiting;
      waiting = undefined;
      w();
    }
  });
  return {
    ready: new Promise((resolve) => socket.once("connect", resolve)),
    one: () => new Promise((resolve) => {
      waiting = resolve;
      socket.write(BODY);
    }),
    async stream() {
      const sink = net.connect({ host: "127.0.0.1", port: sinkPort, allowHalfOpen: true });
      await new Promise((resolve) => sink.once("connect", resolve));
      const answer = new Promise((resolve) => sink.once("data", resolve));
      for await (const chunk of bytes(STREAM)) if (!sink.write(chunk)) await new Promise((r) => sink.once("drain", r));
      sink.end();
      const n = Number((await answer).readBigUInt64BE(0));
      if (n !== STREAM) throw new Error(`tcp sink read ${n}`);
    },
    close: () => socket.destroy(),
  };
}

const dir = await scratch("rpc-bench");
const broker = await startPolywire({ storage: "memory", socketDir: dir });
const nats = await startNats({ storeDir: dir });
const tcpPeer = await startTcpPeer();
const pw = await polywireSide(broker.tcp);
const nt = await natsSide(nats.url);
const tcp = tcpSide(tcpPeer.echoPort, tcpPeer.sinkPort);
await tcp.ready;
const lat = (r) => `p50 ${r.p50.toFixed(0)} µs p99 ${r.p99.toFixed(0)} µs`;
const cells = [
  { name: "latency polywire", run: () => latency({ durationMs: DURATION, once: pw.one }), describe: lat },
  { name: "latency nats", run: () => latency({ durationMs: DURATION, once: nt.one }), describe: lat },
  { name: "latency tcp", run: () => latency({ durationMs: DURATION, once: tcp.one }), describe: lat },
  { name: "latency16 polywire", run: () => concurrent(16, pw.one), describe: (r) => `${lat(r)} ${r.rate.toFixed(0)} calls/s` },
  { name: "latency16 nats", run: () => concurrent(16, nt.one), describe: (r) => `${lat(r)} ${r.rate.toFixed(0)} calls/s` },
  { name: "calls/s polywire", run: () => throughput(256, pw.four), describe: (r) => `${r.rate.toFixed(0)} calls/s` },
  { name: "calls/s nats", run: () => throughput(256, nt.four), describe: (r) => `${r.rate.toFixed(0)} calls/s` },
  { name: "stream polywire", run: async () => { const t0 = now(); await pw.stream(); return { rate: STREAM / ((now() - t0) / 1000) / 1e6 }; }, describe: (r) => `${r.rate.toFixed(0)} MB/s` },
  { name: "stream tcp", run: async () => { const t0 = now(); await tcp.stream(); return { rate: STREAM / ((now() - t0) / 1000) / 1e6 }; }, describe: (r) => `${r.rate.toFixed(0)} MB/s` },
];
try {
  const results = await interleave(cells, { runs: ROUNDS, log });
  const summary = {};
  for (const [name, runs] of results) {
    summary[name] = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, spread(runs.map((r) => r[k]))]));
  }
  console.log(JSON.stringify({ rounds: ROUNDS, seconds: DURATION / 1000, streamBytes: STREAM, nats: nats.version, summary }, null, 1));
} finally {
  await pw.close();
  await nt.close();
  tcp.close();
  await Promise.all([broker.stop(), nats.stop(), tcpPeer.stop()]);
  await cleanup(dir);
}
