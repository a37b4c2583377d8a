#!/usr/bin/env node
// Storage append throughput of the broker's disk engine, against raw
// positional fs writes of the same bytes as the ceiling, measured in one run.
//
//   node bench/storage/append.mjs [--runs 5] [--mib 256] [--batch-kib 16] [--in-flight 256]
//
// Each run appends pre-encoded batches (real codec batches, ~1 KiB records)
// through PartitionLog.append with `in-flight` appends outstanding, as a
// broker serving many producers does, for fsync.policy never / interval /
// always (always on a quarter of the bytes: it is fsync-bound). Peers:
//   raw-write        one awaited positional fh.write per batch (a naive writer)
//   raw-write-1MiB   the same bytes in 1 MiB positional writes (the disk's ceiling here)
//   raw-write+fsync  one write and one fdatasync per batch (what `always` costs without group commit)
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";

register();
const { encodeBatch, verifyBatch, init } = await import("@polywire/wasm-codec");
const { openDiskStorage } = await import("../../packages/broker/src/storage/disk.ts");

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    mib: { type: "string", default: "256" },
    "batch-kib": { type: "string", default: "16" },
    "in-flight": { type: "string", default: "256" },
  },
});
const RUNS = Number(args.runs);
const TOTAL = Number(args.mib) * 1024 * 1024;
const BATCH_BYTES = Number(args["batch-kib"]) * 1024;
const IN_FLIGHT = Number(args["in-flight"]);

await init();
const record = new Uint8Array(1000).fill(97);
const perBatch = Math.max(1, Math.floor(BATCH_BYTES / 1020));
const template = encodeBatch(Array.from({ length: perBatch }, () => ({ value: record, timestamp: Date.now() })));
const header = verifyBatch(template);

function batches(totalBytes) {
  const count = Math.ceil(totalBytes / template.byteLength);
  return Array.from({ length: count }, () => template.slice());
}

async function scratch() {
  return mkdtemp(join(tmpdir(), "polywire-bench-"));
}

async function storageRun(policy, totalBytes) {
  const dir = await scratch();
  const storage = await openDiskStorage({ directory: dir, retentionCheckIntervalMs: 0 });
  try {
    await storage.createTopic("bench", { partitions: 1, config: { "fsync.policy": policy, "retention.ms": "-1" } });
    const log = storage.partition("bench", 0);
    const todo = batches(totalBytes);
    let next = 0;
    const started = process.hrtime.bigint();
    async function lane() {
      while (next < todo.length) {
        const batch = todo[next++];
        await log.append(batch, header);
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return (todo.length * template.byteLength) / seconds / 1e6;
  } finally {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function rawRun(totalBytes, { chunk, fsyncEach }) {
  const dir = await scratch();
  const handle = await open(join(dir, "raw.log"), "wx+");
  try {
    const todo = batches(totalBytes);
    const writes = [];
    if (chunk === 0) {
      writes.push(...todo);
    } else {
      const per = Math.max(1, Math.floor(chunk / template.byteLength));
      for (let i = 0; i < todo.length; i += per) writes.push(Buffer.concat(todo.slice(i, i + per)));
    }
    let position = 0;
    const started = process.hrtime.bigint();
    for (const buffer of writes) {
      await handle.write(buffer, 0, buffer.byteLength, position);
      position += buffer.byteLength;
      if (fsyncEach) await handle.datasync();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return position / seconds / 1e6;
  } finally {
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const cases = [
  ["storage fsync=never", () => storageRun("never", TOTAL)],
  ["storage fsync=interval", () => storageRun("interval", TOTAL)],
  ["raw-write (per batch)", () => rawRun(TOTAL, { chunk: 0, fsyncEach: false })],
  ["raw-write-1MiB", () => rawRun(TOTAL, { chunk: 1 << 20, fsyncEach: false })],
  ["storage fsync=always", () => storageRun("always", TOTAL / 4)],
  ["raw-write+fsync (per batch)", () => rawRun(TOTAL / 64, { chunk: 0, fsyncEach: true })],
];

const results = new Map(cases.map(([name]) => [name, []]));
// Interleave the cases run by run so background load hits them alike.
for (let run = 0; run < RUNS; run++) {
  for (const [name, fn] of cases) results.get(name).push(await fn());
}

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const ceiling = summary(results.get("raw-write (per batch)")).median;
console.log(`storage append: ${(template.byteLength / 1024).toFixed(1)} KiB batches of ${perBatch} records, ${IN_FLIGHT} appends in flight, ${RUNS} runs, ${args.mib} MiB per run (always: ${Number(args.mib) / 4} MiB, raw+fsync: ${Number(args.mib) / 64} MiB)`);
console.log("case".padEnd(30), "min MB/s".padStart(10), "median".padStart(10), "max".padStart(10), "  median vs raw-write");
for (const [name, xs] of results) {
  const { min, median, max } = summary(xs);
  console.log(name.padEnd(30), min.toFixed(1).padStart(10), median.toFixed(1).padStart(10), max.toFixed(1).padStart(10), `  ${(median / ceiling).toFixed(2)}x`);
}
