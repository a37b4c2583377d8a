#!/usr/bin/env node
// Pub/sub between threads over worker:// (issue 17, PW-TRANS-013): a
// broker in the main thread, 64-byte messages published with
// publish(..., { ack: false }) by a client in a worker thread, in slices
// of 1,024, at most 32,768 not yet read by the subscriber (counted through
// a SharedArrayBuffer, so the publisher never outruns the 64 MiB bound).
//   thread → main     the subscriber is in the broker's thread (memory://,
//                     the in-process path): one thread boundary
//   thread → thread   the subscriber is in a second worker thread, over
//                     worker:// too: publisher thread → broker thread →
//                     subscriber thread
//   tcp, thread → main  as the first, over tcp://127.0.0.1 instead (for scale)
// Rate = messages / time from "go" to the subscriber's last message. Cells
// interleaved, min / median / max over the rounds.
//
//   node bench/pubsub/worker.mjs [--rounds 5] [--messages 300000]
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { parseArgs } from "node:util";
import os from "node:os";

const SIZE = 64;
const SLICE = 1024;
const WINDOW = 32_768;

if (isMainThread) await main();
else await thread(workerData);

async function main() {
  const { Broker, workerPort } = await import("@polywire/broker");
  const { connect } = await import("@polywire/runtime");
  const { spread } = await import("../log/measure.mjs");
  const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "5" }, messages: { type: "string", default: "300000" } } });
  const rounds = Number(args.rounds);
  const messages = Number(args.messages);
  const name = `bench-${process.pid}`;
  const broker = await Broker.start({ storage: { engine: "memory" }, listeners: [`worker://${name}`, `memory://${name}`, "tcp://127.0.0.1:0"], keepaliveIntervalMs: 0 });
  const [, memoryUrl, tcpUrl] = broker.urls;

  function spawn(data) {
    const port = data.url === undefined ? workerPort(name) : undefined;
    const worker = new Worker(new URL(import.meta.url), { workerData: { ...data, name, port }, transferList: port === undefined ? [] : [port] });
    // Messages are queued from the start: one posted before anyone waits is not lost.
    const queued = [];
    const waiting = [];
    let failure;
    worker.on("message", (m) => (waiting.length > 0 ? waiting.shift().resolve(m) : queued.push(m)));
    worker.on("error", (error) => {
      failure = error;
      for (const w of waiting.splice(0)) w.reject(error);
    });
    const next = () => {
      if (queued.length > 0) return Promise.resolve(queued.shift());
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    };
    return { worker, next };
  }

  async function run(shape) {
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const publisher = spawn({ role: "publisher", messages, progress, url: shape === "tcp" ? tcpUrl : undefined });
    let finished;
    let stop = async () => {};
    if (shape === "thread") {
      const subscriber = spawn({ role: "subscriber", messages, progress });
      if ((await subscriber.next()) !== "ready") throw new Error("subscriber thread not ready");
      finished = subscriber.next();
      stop = () => subscriber.worker.terminate();
    } else {
      const client = await connect(memoryUrl);
      const sub = client.subscribe("bench.x");
      await sub.ready;
      finished = (async () => {
        let n = 0;
        for await (const m of sub) {
          if (m.data.byteLength !== SIZE) throw new Error("wrong size");
          if (++n % SLICE === 0 || n === messages) Atomics.store(progress, 0, n);
          if (n === messages) break;
        }
        if (sub.dropped !== 0 || sub.missed !== 0) throw new Error(`dropped ${sub.dropped}, missed ${sub.missed}`);
        return "done";
      })();
      stop = () => client.close();
    }
    await publisher.next(); // connected
    const started = performance.now();
    publisher.worker.postMessage("go");
    await finished;
    const seconds = (performance.now() - started) / 1000;
    await Promise.all([publisher.worker.terminate(), stop()]);
    return messages / seconds;
  }

  const shapes = [["thread → main (worker://, subscriber in process)", "main"], ["thread → thread (worker:// both sides)", "thread"], ["tcp, thread → main", "tcp"]];
  const results = new Map(shapes.map(([label]) => [label, []]));
  for (const [, shape] of shapes) await run(shape); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < shapes.length; k++) {
      const [label, shape] = shapes[(round + k) % shapes.length];
      results.get(label).push(await run(shape));
    }
    console.error(`round ${round + 1}/${rounds} done`);
  }
  await broker.close();
  const k = (x) => Math.round(x).toLocaleString("en");
  console.log(`Run ${new Date().toISOString()}; ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${rounds} rounds of ${messages.toLocaleString("en")} messages of ${SIZE} bytes.`);
  console.log("");
  console.log("| publish→subscriber between threads, 64 B | msg/s (min / median / max) |");
  console.log("| --- | --- |");
  for (const [label] of shapes) {
    const s = spread(results.get(label));
    console.log(`| ${label} | ${k(s.min)} / **${k(s.median)}** / ${k(s.max)} |`);
  }
}

async function thread({ role, name, port, url, messages, progress }) {
  const { connect, registerWorkerPort } = await import("@polywire/runtime");
  if (port !== undefined) registerWorkerPort(name, port);
  const client = await connect(url ?? `worker://${name}`);
  if (role === "subscriber") {
    const sub = client.subscribe("bench.x");
    await sub.ready;
    parentPort.postMessage("ready");
    let n = 0;
    for await (const m of sub) {
      if (m.data.byteLength !== SIZE) throw new Error("wrong size");
      if (++n % SLICE === 0 || n === messages) Atomics.store(progress, 0, n);
      if (n === messages) break;
    }
    if (sub.dropped !== 0 || sub.missed !== 0) throw new Error(`dropped ${sub.dropped}, missed ${sub.missed}`);
    parentPort.postMessage("done");
    return;
  }
  parentPort.postMessage("connected");
  await new Promise((resolve) => parentPort.once("message", resolve));
  const body = new Uint8Array(SIZE).fill(7);
  const options = { ack: false };
  for (let sent = 0; sent < messages; ) {
    while (sent - Atomics.load(progress, 0) >= WINDOW) await new Promise((resolve) => setImmediate(resolve));
    const n = Math.min(SLICE, messages - sent);
    for (let i = 0; i < n; i++) void client.publish("bench.x", body, options);
    sent += n;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
