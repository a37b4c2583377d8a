#!/usr/bin/env node
// A hostile client for hostile.test.ts, in its own process so that its
// sockets and its event loop are not the test's: it opens `count`
// connections to host:port and misbehaves on each as `mode` says, opening a
// new connection whenever the broker closes one, until told to stop.
//
//   node hostile-attacker.mjs <mode> <host> <port> <count> [hex] [--once]
//
// Modes: partial (3 bytes of a frame header, then nothing), huge (a header
// announcing a 16 MiB frame, then nothing), hello-then-huge (the Hello in
// <hex>, and after the Welcome such a header), silent (nothing: on a tls:// port, a TLS
// handshake that never starts), slowloris (the Hello in <hex>, one byte
// every 500 ms). With --once a connection the broker closes is not opened
// again. Commands on stdin, one per line: "report" prints one JSON
// line of counters; "stop" closes everything, reports and exits.
import { connect } from "node:net";
import { createInterface } from "node:readline";

const once = process.argv.includes("--once");
const [mode, host, portText, countText, hex = ""] = process.argv.slice(2).filter((a) => a !== "--once");
const port = Number(portText);
const count = Number(countText);
const hello = Buffer.from(hex, "hex");
const MODES = ["partial", "huge", "hello-then-huge", "silent", "slowloris"];
if (!MODES.includes(mode) || !Number.isInteger(port) || !Number.isInteger(count)) {
  console.error(`usage: hostile-attacker.mjs <${MODES.join("|")}> <host> <port> <count> [hex]`);
  process.exit(2);
}

// 16 MiB - 4 after the length field: a frame of exactly the default maximum.
const hugeHeader = Buffer.from([0x00, 0xff, 0xff, 0xfc, 16, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 0]);
const stats = { connected: 0, closedByBroker: 0, errors: {}, lifetimesMs: [], bytesReceived: 0 };
const sockets = new Set();
let stopping = false;

function open() {
  if (stopping) return;
  const socket = connect({ host, port });
  const started = performance.now();
  let timer;
  sockets.add(socket);
  socket.on("error", (error) => {
    stats.errors[error.code ?? error.message] = (stats.errors[error.code ?? error.message] ?? 0) + 1;
  });
  let answered = false;
  socket.on("data", (chunk) => {
    stats.bytesReceived += chunk.length;
    // The Welcome: only now may a frame above 64 KiB follow (PW-FRAME-017).
    if (mode === "hello-then-huge" && !answered) socket.write(hugeHeader);
    answered = true;
  });
  socket.on("connect", () => {
    stats.connected++;
    if (mode === "partial") socket.write(hugeHeader.subarray(0, 3));
    else if (mode === "huge") socket.write(hugeHeader);
    else if (mode === "hello-then-huge") socket.write(hello);
    else if (mode === "slowloris") {
      let at = 0;
      timer = setInterval(() => {
        if (at < hello.length) socket.write(hello.subarray(at, ++at));
      }, 500);
    }
  });
  socket.on("close", () => {
    clearInterval(timer);
    sockets.delete(socket);
    if (stopping) return;
    stats.closedByBroker++;
    stats.lifetimesMs.push(Math.round(performance.now() - started));
    // Come back, as an attacker would, a little later so as not to spin.
    if (!once) setTimeout(open, 250);
  });
}

function report() {
  const sorted = [...stats.lifetimesMs].sort((a, b) => a - b);
  const at = (q) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  console.log(JSON.stringify({
    mode, open: sockets.size, connected: stats.connected, closedByBroker: stats.closedByBroker, errors: stats.errors,
    bytesReceived: stats.bytesReceived, lifetimeMs: { min: at(0), median: at(0.5), max: at(1) },
  }));
}

// Open at a steady pace: a burst of thousands of SYNs at once overflows the accept backlog.
let opened = 0;
const pacer = setInterval(() => {
  for (let i = 0; i < 50 && opened < count; i++, opened++) open();
  if (opened >= count) clearInterval(pacer);
}, 10);

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "report") report();
  if (line === "stop") {
    stopping = true;
    clearInterval(pacer);
    for (const socket of sockets) socket.destroy();
    report();
    process.exit(0);
  }
});
