#!/usr/bin/env node
// Which transport between worker_threads for pub/sub (issue 17): 64-byte
// messages from a producer worker to a consumer worker, msg/s, through
//   sab-ring       a single-producer single-consumer byte ring in a
//                  SharedArrayBuffer (length-prefixed records, Atomics for
//                  the indices, Atomics.wait only when empty or full), the
//                  tail published after every message; the consumer copies
//                  each message out (it owns it, as it would own a
//                  structured clone)
//   sab-ring-batched  the same, the tail published every 64 messages and
//                  at the end of the burst (as a transport would at the end
//                  of a tick)
//   sab-ring-batched-view  the same, the consumer reads each message in place
//   sab-ring-async  sab-ring-batched-view with a consumer that keeps its
//                  event loop: when the ring is empty it awaits
//                  Atomics.waitAsync instead of blocking in Atomics.wait,
//                  as a client or broker thread that does other work must
//   port           MessagePort.postMessage of each message (structured
//                  clone of a 64-byte Uint8Array), credit-based flow control
//   port-batched   MessagePort with 256 messages packed per ArrayBuffer,
//                  transferred (not copied), the same flow control
// Each consumer checks every message's sequence number, so a lost,
// repeated or reordered message fails the run.
//
//   node bench/pubsub/threads.mjs [--rounds 5] [--messages 2000000]
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { parseArgs } from "node:util";
import os from "node:os";

const SIZE = 64;
const RECORD = 4 + SIZE; // u32 length, then the message
const RING_BYTES = 1 << 20;
const BATCH = 256;
const WINDOW = 16_384; // messages a port producer may have unacknowledged
const CREDIT_EVERY = 1024;
// Control words of the ring: [head, tail, consumer waiting, producer waiting].
const HEAD = 0;
const TAIL = 1;
const C_WAIT = 2;
const P_WAIT = 3;
const SPIN = 200;

if (isMainThread) await main();
else await worker(workerData);

async function main() {
  const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "5" }, messages: { type: "string", default: "2000000" } } });
  const rounds = Number(args.rounds);
  const messages = Number(args.messages);
  const kinds = ["sab-ring", "sab-ring-batched", "sab-ring-batched-view", "sab-ring-async", "port", "port-batched"];
  const results = new Map(kinds.map((k) => [k, []]));
  await run(kinds[0], 100_000); // warm-up of the script's own code paths
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(round + k) % kinds.length];
      results.get(kind).push(await run(kind, messages));
    }
    console.error(`round ${round + 1}/${rounds} done`);
  }
  const summary = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
  };
  const peer = summary(results.get("port-batched")).median;
  const m = (x) => `${(x / 1e6).toFixed(2)} M`;
  console.log(`Run ${new Date().toISOString()}; ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${rounds} rounds of ${messages.toLocaleString("en")} messages of ${SIZE} bytes; msg/s, min / **median** / max.`);
  console.log("");
  console.log("| transport | msg/s | this ÷ port-batched |");
  console.log("|---|---|---|");
  for (const kind of kinds) {
    const { min, median, max } = summary(results.get(kind));
    console.log(`| ${kind} | ${m(min)} / **${m(median)}** / ${m(max)} | ${(median / peer).toFixed(2)}× |`);
  }
}

// One measured transfer: fresh workers, timed from "go" to the consumer's "done".
async function run(kind, messages) {
  const setup = { kind, messages };
  if (kind.startsWith("sab")) {
    setup.control = new SharedArrayBuffer(16);
    setup.data = new SharedArrayBuffer(RING_BYTES);
  } else {
    const data = new MessageChannel();
    const credit = new MessageChannel();
    setup.producerPorts = { data: data.port1, credit: credit.port2 };
    setup.consumerPorts = { data: data.port2, credit: credit.port1 };
  }
  const url = new URL(import.meta.url);
  const { producerPorts, consumerPorts, ...common } = setup;
  const producer = new Worker(url, { workerData: { ...common, role: "producer", ports: producerPorts }, transferList: producerPorts ? [producerPorts.data, producerPorts.credit] : [] });
  const consumer = new Worker(url, { workerData: { ...common, role: "consumer", ports: consumerPorts }, transferList: consumerPorts ? [consumerPorts.data, consumerPorts.credit] : [] });
  const ready = (w) => new Promise((resolve, reject) => {
    w.once("error", reject);
    w.once("message", (m) => (m === "ready" ? resolve() : reject(new Error(String(m)))));
  });
  await Promise.all([ready(producer), ready(consumer)]);
  const done = new Promise((resolve, reject) => {
    consumer.once("error", reject);
    producer.once("error", reject);
    consumer.once("message", (m) => (m === "done" ? resolve() : reject(new Error(String(m)))));
  });
  const start = process.hrtime.bigint();
  consumer.postMessage("go");
  producer.postMessage("go");
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all([producer.terminate(), consumer.terminate()]);
  return messages / seconds;
}

async function worker({ role, kind, messages, control, data, ports }) {
  const go = new Promise((resolve) => parentPort.once("message", resolve));
  parentPort.postMessage("ready");
  await go;
  if (kind.startsWith("sab")) {
    const ctl = new Int32Array(control);
    const bytes = new Uint8Array(data);
    if (role === "producer") ringProduce(ctl, bytes, messages, kind === "sab-ring" ? 1 : 64);
    else if (kind === "sab-ring-async") await ringConsumeAsync(ctl, bytes, messages);
    else ringConsume(ctl, bytes, messages, kind.endsWith("-view"));
  } else if (role === "producer") {
    await portProduce(ports, messages, kind === "port-batched");
  } else {
    await portConsume(ports, messages, kind === "port-batched");
  }
  if (role === "consumer") parentPort.postMessage("done");
}

function ringProduce(ctl, bytes, messages, publishEvery) {
  const view = new DataView(bytes.buffer);
  const mask = RING_BYTES - 1;
  const payload = new Uint8Array(SIZE).fill(7);
  const payloadView = new DataView(payload.buffer);
  let tail = 0;
  let head = Atomics.load(ctl, HEAD);
  for (let seq = 1; seq <= messages; seq++) {
    let at = tail & mask;
    // A record never wraps: if it does not fit before the end, the rest of the ring is skipped.
    const skip = at + RECORD > RING_BYTES ? RING_BYTES - at : 0;
    for (let spins = 0; RING_BYTES - ((tail - head) >>> 0) < RECORD + skip; spins++) {
      // Full: what is written must be visible before waiting for room.
      publish(ctl, tail);
      head = Atomics.load(ctl, HEAD);
      if (spins > SPIN && RING_BYTES - ((tail - head) >>> 0) < RECORD + skip) {
        Atomics.store(ctl, P_WAIT, 1);
        Atomics.wait(ctl, HEAD, head, 1);
        Atomics.store(ctl, P_WAIT, 0);
      }
    }
    if (skip > 0) {
      if (skip >= 4) view.setUint32(at, 0xffffffff);
      tail = (tail + skip) >>> 0;
      at = 0;
    }
    payloadView.setUint32(0, seq);
    view.setUint32(at, SIZE);
    bytes.set(payload, at + 4);
    tail = (tail + RECORD) >>> 0;
    if (seq % publishEvery === 0) publish(ctl, tail);
  }
  publish(ctl, tail);
}

function publish(ctl, tail) {
  Atomics.store(ctl, TAIL, tail | 0);
  if (Atomics.load(ctl, C_WAIT) === 1) Atomics.notify(ctl, TAIL);
}

function ringConsume(ctl, bytes, messages, inPlace) {
  const view = new DataView(bytes.buffer);
  const mask = RING_BYTES - 1;
  let head = 0;
  let expected = 1;
  let check = 0;
  for (let spins = 0; expected <= messages; ) {
    const tail = Atomics.load(ctl, TAIL) >>> 0;
    if (tail === head) {
      if (++spins > SPIN) {
        Atomics.store(ctl, C_WAIT, 1);
        if ((Atomics.load(ctl, TAIL) >>> 0) === head) Atomics.wait(ctl, TAIL, head | 0, 1);
        Atomics.store(ctl, C_WAIT, 0);
      }
      continue;
    }
    spins = 0;
    while (head !== tail) {
      const at = head & mask;
      if (RING_BYTES - at < 4 || view.getUint32(at) === 0xffffffff) {
        head = (head + (RING_BYTES - at)) >>> 0;
        continue;
      }
      const length = view.getUint32(at);
      let seq;
      if (inPlace) {
        seq = view.getUint32(at + 4);
        check ^= bytes[at + 4 + length - 1];
      } else {
        const message = bytes.slice(at + 4, at + 4 + length);
        seq = (message[0] << 24 | message[1] << 16 | message[2] << 8 | message[3]) >>> 0;
        check ^= message[length - 1];
      }
      if (seq !== expected) throw new Error(`ring: got ${seq}, expected ${expected}`);
      expected++;
      head = (head + 4 + length) >>> 0;
    }
    Atomics.store(ctl, HEAD, head | 0);
    if (Atomics.load(ctl, P_WAIT) === 1) Atomics.notify(ctl, HEAD);
  }
  if (check !== 0 && check !== 7) throw new Error("ring: corrupt payload");
}

// The consumer of sab-ring-async: reads what is there in place, then, when
// the ring is empty, yields to its event loop until the producer notifies.
async function ringConsumeAsync(ctl, bytes, messages) {
  // A pending Atomics.waitAsync does not keep Node 20's event loop alive: without this the
  // thread exits in its first wait and the run never ends.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await ringConsumeAsyncLoop(ctl, bytes, messages);
  } finally {
    clearInterval(keepAlive);
  }
}

async function ringConsumeAsyncLoop(ctl, bytes, messages) {
  const view = new DataView(bytes.buffer);
  const mask = RING_BYTES - 1;
  let head = 0;
  let expected = 1;
  while (expected <= messages) {
    const tail = Atomics.load(ctl, TAIL) >>> 0;
    if (tail === head) {
      Atomics.store(ctl, C_WAIT, 1);
      const waited = Atomics.waitAsync(ctl, TAIL, head | 0, 10);
      if (waited.async) await waited.value;
      Atomics.store(ctl, C_WAIT, 0);
      continue;
    }
    while (head !== tail) {
      const at = head & mask;
      if (RING_BYTES - at < 4 || view.getUint32(at) === 0xffffffff) {
        head = (head + (RING_BYTES - at)) >>> 0;
        continue;
      }
      const length = view.getUint32(at);
      const seq = view.getUint32(at + 4);
      if (seq !== expected) throw new Error(`ring: got ${seq}, expected ${expected}`);
      expected++;
      head = (head + 4 + length) >>> 0;
    }
    Atomics.store(ctl, HEAD, head | 0);
    if (Atomics.load(ctl, P_WAIT) === 1) Atomics.notify(ctl, HEAD);
  }
}

async function portProduce({ data, credit }, messages, batched) {
  let acked = 0;
  let wake;
  credit.on("message", (n) => {
    acked = n;
    wake?.();
  });
  const payload = new Uint8Array(SIZE).fill(7);
  const pv = new DataView(payload.buffer);
  for (let seq = 1; seq <= messages; ) {
    while (seq - 1 - acked >= WINDOW) await new Promise((resolve) => (wake = resolve));
    if (batched) {
      const count = Math.min(BATCH, messages - seq + 1);
      const buffer = new ArrayBuffer(count * RECORD);
      const out = new Uint8Array(buffer);
      const ov = new DataView(buffer);
      for (let i = 0; i < count; i++, seq++) {
        pv.setUint32(0, seq);
        ov.setUint32(i * RECORD, SIZE);
        out.set(payload, i * RECORD + 4);
      }
      data.postMessage(out, [buffer]);
    } else {
      pv.setUint32(0, seq);
      data.postMessage(payload);
      seq++;
    }
  }
  credit.close();
}

function portConsume({ data, credit }, messages, batched) {
  let expected = 1;
  return new Promise((resolve, reject) => {
    const take = (message) => {
      const seq = new DataView(message.buffer, message.byteOffset).getUint32(0);
      if (seq !== expected) throw new Error(`port: got ${seq}, expected ${expected}`);
      expected++;
      if ((expected - 1) % CREDIT_EVERY === 0) credit.postMessage(expected - 1);
    };
    data.on("message", (m) => {
      try {
        if (batched) {
          const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
          for (let at = 0; at < m.byteLength; ) {
            const length = v.getUint32(at);
            take(m.subarray(at + 4, at + 4 + length));
            at += 4 + length;
          }
        } else {
          take(m);
        }
        if (expected > messages) {
          data.close();
          resolve();
        }
      } catch (error) {
        reject(error);
      }
    });
  });
}
