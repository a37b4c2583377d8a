#!/usr/bin/env node
// The idle-connection attack of issue 12 against the broker of a git
// revision and against the working tree's, one after the other: N
// connections that each send only the header of a 16 MiB frame and
// reconnect whenever the broker closes them; `huge` sends it before any
// Hello (the attack as reported), `hello-then-huge` after the Welcome;
// `<mode>-once` does not reopen the connections the broker closes.
// Reports the broker's RSS (idle, peak under attack, a minute after),
// whether an honest client could produce and consume meanwhile (2,000
// records of 200 B per round, after a warm-up of 20 before the attack), and
// what /readyz said.
//
//   node bench/hostile/idle-connections.mjs --base <git-revision> [--seconds 20] [--runs 1000]
//                                           [--only huge,hello-then-huge]
//
// (--runs is the number of attacking connections.) Each side is a broker
// process from bench/log/broker-at.mjs (memory storage, TCP, admin HTTP);
// the base side runs that revision's broker, core (or runtime) and codec
// sources (bench/log/codec-hook.mjs points the broker at them).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { prepare, root } from "../log/ab-common.mjs";

const { revision, copy, runs: connections, runMs, only: modes, remove } = prepare({
  name: "idle-connections",
  sources: "packages/wasm-codec/src packages/wasm-codec/dist/polywire_codec.wasm packages/core/src packages/ts-runtime/src packages/broker/src",
  only: "huge,hello-then-huge",
});
process.env.POLYWIRE_CODEC_AT = copy;
const servers = await import("../log/servers.mjs");
const { connect, Record } = await import("@polywire/runtime");
const { helloFrame } = await import("../../packages/broker/test/helpers.ts");
const ATTACKER = join(root, "packages/broker/test/hostile-attacker.mjs");
const RECORDS = 2_000;
const mb = (bytes) => Math.round(bytes / 1024 / 1024);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rss(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
  } catch {
    return 0;
  }
}

async function honest(url, admin, records = RECORDS) {
  const topic = `honest-${Math.random().toString(36).slice(2)}`;
  await admin.createTopic(topic, { partitions: 1 });
  const client = await connect(url, { requestTimeoutMs: 5_000, retry: { maxAttempts: 3 } });
  try {
    const producer = client.producer({ acks: "leader" });
    // 2,000 records of 200 B: batches of a few hundred KiB, frames that span several reads.
    await Promise.all(Array.from({ length: records }, (_, i) => producer.send(Record.text(topic, `r${i}`.padEnd(200, "."), { partition: 0 }))));
    await producer.close();
    const consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic, partition: 0, from: "earliest" }]);
    let seen = 0;
    for await (const record of consumer) if (record.text() === `r${seen}`.padEnd(200, ".") && ++seen === records) break;
    await consumer.close();
  } finally {
    await client.close();
  }
}

async function readyz(http) {
  try {
    return (await fetch(`${http}/readyz`, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return "no answer";
  }
}

async function side(name, entry, nodeArgs, mode) {
  const broker = await servers.startBrokerAt({ entry, nodeArgs });
  const pid = broker.child.pid;
  const { createAdminClient } = await import("@polywire/runtime/admin");
  const admin = createAdminClient(broker.http);
  try {
    // A small warm-up: the attack comes soon after start, before larger traffic.
    await honest(broker.tcp, admin, 20);
    await sleep(3_000);
    const idle = rss(pid);
    const { hostname, port } = new URL(broker.tcp);
    const hello = Buffer.from(helloFrame({ clientId: "announcer" })).toString("hex");
    // "<mode>-once": connections the broker closes are not opened again.
    const once = mode.endsWith("-once");
    const args = [ATTACKER, mode.replace(/-once$/, ""), hostname, port, String(connections), hello, ...(once ? ["--once"] : [])];
    const attacker = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: attacker.stdout });
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(pid));
    }, 200);
    const rounds = { ok: 0, failed: 0, firstError: "" };
    const ready = {};
    const started = Date.now();
    while (Date.now() - started < runMs) {
      try {
        let timer;
        await Promise.race([honest(broker.tcp, admin), new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("no answer within 15 s")), 15_000);
        })]).finally(() => clearTimeout(timer));
        rounds.ok++;
      } catch (error) {
        rounds.failed++;
        rounds.firstError ||= `${error.code ?? ""} ${error.message}`.trim();
      }
      const status = await readyz(broker.http);
      ready[status] = (ready[status] ?? 0) + 1;
      await sleep(500);
    }
    const report = new Promise((resolve) => lines.once("line", resolve));
    attacker.stdin.write("stop\n");
    const attack = JSON.parse(await report);
    clearInterval(sampler);
    const ended = Date.now();
    let back = null;
    while (Date.now() - ended < 60_000) {
      await sleep(1_000);
      if (back === null && rss(pid) <= 2 * idle) back = Math.round((Date.now() - ended) / 1000);
    }
    return { name, mode, idle, peak, after: rss(pid), back, rounds, ready, attack };
  } finally {
    await admin.close();
    await broker.stop();
  }
}

const results = [];
try {
  for (const mode of modes) {
    results.push(await side(revision, join(copy, "packages/broker/src/index.ts"), ["--import", join(root, "bench/log/codec-hook.mjs")], mode));
    results.push(await side("working tree", join(root, "packages/broker/src/index.ts"), [], mode));
  }
} finally {
  remove();
}
console.log(`${connections} connections sending only the header of a 16 MiB frame, for ${runMs / 1000} s\n`);
console.log("| attack | broker | RSS idle | RSS peak | RSS 60 s after | back within 2x idle | honest rounds ok / failed | /readyz answers | attack connections opened / closed by the broker |");
console.log("| --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |");
for (const r of results) {
  const readyText = Object.entries(r.ready).map(([status, n]) => `${status} x${n}`).join(", ");
  console.log(`| ${r.mode} | ${r.name} | ${mb(r.idle)} MB | ${mb(r.peak)} MB | ${mb(r.after)} MB | ${r.back === null ? "no" : `after ${r.back} s`} | ${r.rounds.ok} / ${r.rounds.failed}${r.rounds.failed > 0 ? ` (${r.rounds.firstError})` : ""} | ${readyText} | ${r.attack.connected} / ${r.attack.closedByBroker} |`);
}
