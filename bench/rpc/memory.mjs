#!/usr/bin/env node
// Bounded memory of a streamed call: a body of --bytes (default 1 GiB) goes
// caller → broker → responder, then another responder → broker → caller,
// each process in its own Node, and the resident set of each is sampled
// from /proc every 20 ms. Growth is the peak during the transfers minus the
// resident set after a warm-up call of 16 MiB each way. Credit (§10.5)
// keeps what any process holds to a few windows whatever the body size, so
// growth must stay under --limit-mib (default 64) for each.
//
//   node bench/rpc/memory.mjs [--bytes 1073741824] [--limit-mib 64] [--semi-space-mib n] [--json]
//
// Exits 1 when a process grew more than the limit. V8's young generation
// alone may take 48 MiB of RSS before a scavenge (three 16 MiB semi-spaces
// by default): --semi-space-mib n runs the three processes with
// --max-semi-space-size=n, so that what remains is what the code holds.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cleanup, scratch, startPolywire } from "../log/servers.mjs";

const { values: args } = parseArgs({ options: { bytes: { type: "string", default: String(1024 ** 3) }, "limit-mib": { type: "string", default: "64" }, "semi-space-mib": { type: "string" }, json: { type: "boolean", default: false } } });
const NODE_ARGS = args["semi-space-mib"] === undefined ? [] : [`--max-semi-space-size=${args["semi-space-mib"]}`];
const BYTES = Number(args.bytes);
const LIMIT = Number(args["limit-mib"]) * 1024 * 1024;
const PEER = fileURLToPath(new URL("./peer.mjs", import.meta.url));
const log = (line) => process.stderr.write(`${line}\n`);

function rss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? "0") * 1024;
}

/** A peer process; `lines` yields what it prints. */
function peer(args) {
  // From the sources, as the broker (a checkout need not be built).
  const child = spawn(process.execPath, [...NODE_ARGS, "--conditions=@polywire/source", "--import", "tsx", PEER, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`peer ${args[0]} ended`);
    return value;
  };
  return { child, next };
}

const dir = await scratch("rpc-memory");
const broker = await startPolywire({ storage: "memory", socketDir: dir, nodeArgs: NODE_ARGS });
const responder = peer(["responder", broker.tcp]);
const caller = peer(["caller", broker.tcp, String(BYTES)]);
const warm = peer(["caller", broker.tcp, String(16 * 1024 * 1024)]);
try {
  for (const p of [responder, caller, warm]) if ((await p.next()) !== "ready") throw new Error("a peer did not start");
  // Warm-up through the same broker and responder, and by the caller itself on a small body first.
  for (const step of ["up", "down"]) {
    warm.child.stdin.write(`${step}\n`);
    await warm.next();
  }
  warm.child.stdin.write("quit\n");
  const processes = { caller: caller.child.pid, broker: broker.child.pid, responder: responder.child.pid };
  const baseline = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, rss(pid)]));
  const peak = { ...baseline };
  const sampler = setInterval(() => {
    for (const [name, pid] of Object.entries(processes)) peak[name] = Math.max(peak[name], rss(pid));
  }, 20);
  const seconds = {};
  for (const step of ["up", "down"]) {
    caller.child.stdin.write(`${step}\n`);
    const [, s] = (await caller.next()).split(" ");
    seconds[step] = Number(s);
    log(`${step}: ${BYTES} bytes in ${Number(s).toFixed(2)} s (${(BYTES / Number(s) / 1e6).toFixed(0)} MB/s)`);
  }
  clearInterval(sampler);
  caller.child.stdin.write("quit\n");
  const growth = Object.fromEntries(Object.keys(processes).map((name) => [name, peak[name] - baseline[name]]));
  const result = { bytes: BYTES, limitBytes: LIMIT, nodeArgs: NODE_ARGS, seconds, baseline, peak, growth, ok: Object.values(growth).every((g) => g < LIMIT) };
  if (args.json) console.log(JSON.stringify(result));
  else for (const name of Object.keys(processes)) console.log(`${name}: RSS ${(baseline[name] / 2 ** 20).toFixed(1)} MiB after warm-up, peak ${(peak[name] / 2 ** 20).toFixed(1)} MiB, growth ${(growth[name] / 2 ** 20).toFixed(1)} MiB (limit ${args["limit-mib"]} MiB)`);
  process.exitCode = result.ok ? 0 : 1;
} finally {
  for (const p of [responder, caller, warm]) p.child.kill("SIGKILL");
  await broker.stop();
  await cleanup(dir);
}
