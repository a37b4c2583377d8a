#!/usr/bin/env node
// A/B of two versions of the broker's storage layer, interleaved:
// PartitionLog.append throughput of the disk engine (as append.mjs measures
// it) and of the memory engine, and the heap an empty disk partition holds
// (100 000 of them, as a broker with many partitions keeps), before vs after
// a change.
//
//   node bench/storage/ab.mjs A_DIR B_DIR [--rounds 11] [--reps 3] [--mib 64] [--appends 40000] [--clock cpu|wall] [--cases memory,disk-never,...]
//
// A_DIR, B_DIR: copies of packages/broker/src/storage (each with disk.ts and
// memory.ts), e.g. `git archive <commit> packages/broker/src/storage`
// unpacked under .cache/, so that both resolve @polywire/wasm-codec to the
// same build. Each measurement runs in a fresh child process holding one
// version only, so neither version's code shapes how V8 optimizes the
// other's; every round measures each case with both versions, in
// alternating order, so that load from other processes on this shared
// machine hits both alike. A child repeats its case `reps` times (the first
// warms the JIT up) and reports the median. Time is this child's CPU time
// by default (process.cpuUsage: the main thread and libuv's I/O threads),
// which leaves out the time other processes hold the cores and the time the
// disk makes the writer wait: the cost of the code itself; --clock wall
// measures elapsed time. Prints a markdown table: MB/s (disk) or appends/s
// (memory) min / median / max per version, and the median of the per-round
// B/A ratios with their range.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "11" },
    reps: { type: "string", default: "3" },
    mib: { type: "string", default: "64" },
    appends: { type: "string", default: "40000" },
    "in-flight": { type: "string", default: "256" },
    clock: { type: "string", default: "cpu" },
    cases: { type: "string" },
    child: { type: "string" },
  },
});
const ALL_CASES = ["disk-never", "disk-interval", "disk-always", "memory", "memory-idempotent", "empty-partitions"];
const CASES = args.cases === undefined ? ALL_CASES : args.cases.split(",");
const LABELS = {
  "disk-never": "disk, fsync=never, MB/s",
  "disk-interval": "disk, fsync=interval, MB/s",
  "disk-always": "disk, fsync=always, MB/s",
  memory: "memory, appends/s",
  "memory-idempotent": "memory, idempotent, appends/s",
  "empty-partitions": "heap bytes per empty disk partition (lower is better)",
};

if (args.child !== undefined) await child(positionals[0], args.child);
else main();

function main() {
  if (positionals.length !== 2 || !["cpu", "wall"].includes(args.clock) || CASES.some((name) => !ALL_CASES.includes(name))) {
    throw new Error(`usage: ab.mjs A_DIR B_DIR [--rounds N] [--reps N] [--mib M] [--appends N] [--in-flight N] [--clock cpu|wall] [--cases ${ALL_CASES.join(",")}]`);
  }
  const rounds = Number(args.rounds);
  const measure = (dir, name) => {
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", fileURLToPath(import.meta.url), resolve(dir), "--child", name, "--reps", args.reps, "--mib", args.mib, "--appends", args.appends, "--in-flight", args["in-flight"], "--clock", args.clock],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
    return Number(out.trim().split("\n").at(-1));
  };
  const loadBefore = os.loadavg();
  const results = Object.fromEntries(CASES.map((name) => [name, { a: [], b: [], ratios: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const name of CASES) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const got = [];
      for (const which of order) got[which] = measure(positionals[which], name);
      results[name].a.push(got[0]);
      results[name].b.push(got[1]);
      results[name].ratios.push(got[1] / got[0]);
    }
  }
  const loadAfter = os.loadavg();
  const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const fmt = (x) => (x >= 1000 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 100 ? 0 : 1));
  const triple = (xs) => `${fmt(Math.min(...xs))} / **${fmt(median(xs))}** / ${fmt(Math.max(...xs))}`;
  console.log(`${rounds} rounds, A and B alternating first, a child process per measurement (median of ${args.reps} repetitions); ${args["in-flight"]} appends in flight; disk ${args.mib} MiB per repetition (always: a quarter), memory ${args.appends} appends per repetition; ${args.clock} clock`);
  console.log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(" ")} before, ${loadAfter.map((x) => x.toFixed(2)).join(" ")} after; Node ${process.version}`);
  console.log("");
  console.log("| case | A min / median / max | B min / median / max | B/A median [range] |");
  console.log("|---|---|---|---|");
  for (const name of CASES) {
    const r = results[name];
    console.log(`| ${LABELS[name]} | ${triple(r.a)} | ${triple(r.b)} | **${median(r.ratios).toFixed(2)}×** [${Math.min(...r.ratios).toFixed(2)}..${Math.max(...r.ratios).toFixed(2)}] |`);
  }
}

/** Measures case `name` with the storage sources in `dir`; prints the median of `reps` repetitions. */
async function child(dir, name) {
  const { register } = await import("tsx/esm/api");
  register();
  const { encodeBatch, verifyBatch, init } = await import("@polywire/wasm-codec");
  await init();
  const { openDiskStorage } = await import(pathToFileURL(join(dir, "disk.ts")).href);
  const { openMemoryStorage } = await import(pathToFileURL(join(dir, "memory.ts")).href);
  const inFlight = Number(args["in-flight"]);
  const diskBytes = Number(args.mib) * 1024 * 1024;
  const memoryAppends = Number(args.appends);
  /** Seconds, of CPU time (user + system, every thread) or of wall-clock time. */
  const clock =
    args.clock === "cpu"
      ? () => {
          const u = process.cpuUsage();
          return (u.user + u.system) / 1e6;
        }
      : () => performance.now() / 1000;

  // Disk: ~16 KiB batches of 16 records of 1000 bytes, as append.mjs.
  const bigRecord = new Uint8Array(1000).fill(97);
  const diskTemplate = encodeBatch(Array.from({ length: 16 }, () => ({ value: bigRecord, timestamp: Date.now() })));
  const diskHeader = verifyBatch(diskTemplate);
  // Memory: batches of 16 records of 100 bytes, as the log benchmark's producers send.
  const smallRecord = new Uint8Array(100).fill(98);
  const memoryBatch = (options) => encodeBatch(Array.from({ length: 16 }, () => ({ value: smallRecord, timestamp: Date.now() })), options);
  const memoryTemplate = memoryBatch();
  const memoryHeader = verifyBatch(memoryTemplate);

  /** Appends every batch with `inFlight` appends outstanding; resolves with the seconds it took. */
  async function appendAll(log, batches, headers) {
    let next = 0;
    // The previous repetition's garbage is collected before the clock starts.
    globalThis.gc?.();
    const started = clock();
    async function lane() {
      while (next < batches.length) {
        const i = next++;
        await log.append(batches[i], headers[i]);
      }
    }
    await Promise.all(Array.from({ length: inFlight }, lane));
    return clock() - started;
  }

  async function diskRun(policy, totalBytes) {
    const directory = await mkdtemp(join(tmpdir(), "polywire-ab-"));
    const storage = await openDiskStorage({ directory, retentionCheckIntervalMs: 0 });
    try {
      await storage.createTopic("bench", { partitions: 1, config: { "fsync.policy": policy, "retention.ms": "-1" } });
      const batches = Array.from({ length: Math.ceil(totalBytes / diskTemplate.byteLength) }, () => diskTemplate.slice());
      const seconds = await appendAll(storage.partition("bench", 0), batches, batches.map(() => diskHeader));
      return (batches.length * diskTemplate.byteLength) / seconds / 1e6;
    } finally {
      await storage.close();
      await rm(directory, { recursive: true, force: true });
    }
  }

  /** Appends/s; idempotent batches go through the sequence checks too (in order: appends are checked in call order). */
  async function memoryRun(idempotent) {
    const storage = await openMemoryStorage({ retentionCheckIntervalMs: 0 });
    try {
      await storage.createTopic("bench", { partitions: 1 });
      let batches;
      let headers;
      if (idempotent) {
        const { producerId, producerEpoch } = await storage.initProducer(-1n, -1);
        batches = Array.from({ length: memoryAppends }, (_, i) => memoryBatch({ producerId, producerEpoch, baseSequence: i * 16 }));
        headers = batches.map((b) => verifyBatch(b));
      } else {
        batches = Array.from({ length: memoryAppends }, () => memoryTemplate.slice());
        headers = batches.map(() => memoryHeader);
      }
      return memoryAppends / (await appendAll(storage.partition("bench", 0), batches, headers));
    } finally {
      await storage.close();
    }
  }

  /** Heap bytes per partition of 100 000 empty ones (10 topics of 10 000), after full collections. */
  async function emptyPartitions() {
    const directory = await mkdtemp(join(tmpdir(), "polywire-ab-"));
    const storage = await openDiskStorage({ directory, retentionCheckIntervalMs: 0 });
    try {
      globalThis.gc();
      const before = process.memoryUsage().heapUsed;
      for (let t = 0; t < 10; t++) await storage.createTopic(`t${t}`, { partitions: 10_000 });
      globalThis.gc();
      return (process.memoryUsage().heapUsed - before) / 100_000;
    } finally {
      await storage.close();
      await rm(directory, { recursive: true, force: true });
    }
  }

  const run = {
    "disk-never": () => diskRun("never", diskBytes),
    "disk-interval": () => diskRun("interval", diskBytes),
    "disk-always": () => diskRun("always", diskBytes / 4),
    memory: () => memoryRun(false),
    "memory-idempotent": () => memoryRun(true),
    "empty-partitions": emptyPartitions,
  }[name];
  if (run === undefined) throw new Error(`unknown case ${name}`);
  const values = [];
  for (let i = 0; i < Number(args.reps); i++) values.push(await run());
  values.sort((x, y) => x - y);
  console.log(values[values.length >> 1]);
}
