// A/B of two builds of @polywire/wasm-codec in one process, interleaved:
//   node --expose-gc bench/codec/ab.mjs DIST_A DIST_B [--runs N] [--seconds S]
//        [--clock cpu|wall] [--decompress a|own] [--only CODEC,...]
// DIST_A, DIST_B: copies of packages/wasm-codec/dist, each with its own
// polywire_codec.wasm (two folders: two module instances; each must be named
// `dist`, as the loader finds ../dist/polywire_codec.wasm). Every round times
// each cell with both builds, in alternating order, so that load from other
// processes on this shared machine hits both alike. Time is this process's
// CPU time (process.cpuUsage) by default, which leaves out the time other
// processes hold the cores; --clock wall measures elapsed time instead.
// Both builds decompress A's output, unless --decompress own: then each
// decompresses its own (to time a change in what the compressor writes,
// e.g. a checksum the decoder then verifies). --only keeps the cells of the
// codecs named (lz4, zstd, gzip, snappy, batch). The batch cells verify and
// decode a 1,000-record batch of each codec (verifyBatch, decodeBatch).
// Prints a markdown table:
// MB/s of uncompressed bytes min / median / max per build, the median of the
// per-round B/A ratios with their range, and B's compressed size over A's.
import os from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { jsonLogs, logRecords } from "./corpus.mjs";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "11" },
    seconds: { type: "string", default: "0.2" },
    clock: { type: "string", default: "cpu" },
    decompress: { type: "string", default: "a" },
    only: { type: "string", default: "lz4,zstd,gzip,snappy,batch" },
  },
});
const ONLY = new Set(args.only.split(","));
if (positionals.length !== 2 || !["cpu", "wall"].includes(args.clock) || !["a", "own"].includes(args.decompress)) {
  throw new Error("usage: ab.mjs DIST_A DIST_B [--runs N] [--seconds S] [--clock cpu|wall] [--decompress a|own] [--only lz4,zstd,gzip,snappy,batch]");
}
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const [A, B] = await Promise.all(positionals.map((dist) => import(pathToFileURL(resolve(dist, "index.js")).href)));
await A.init();
await B.init();

let sink = 0;
/** Seconds, of CPU time (user + system) or of wall-clock time. */
const clock = args.clock === "cpu" ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; } : () => performance.now() / 1000;
const time = (fn, n) => {
  const t0 = clock();
  for (let i = 0; i < n; i++) sink ^= fn().length;
  return clock() - t0;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const triple = (xs) => `${fmt(Math.min(...xs))} / **${fmt(median(xs))}** / ${fmt(Math.max(...xs))}`;

const cells = [];
for (const [name, data] of [["1 MiB", jsonLogs(1 << 20)], ["4 KiB", jsonLogs(4096, 7)]]) {
  for (const codec of ["lz4", "zstd", "gzip", "snappy"].filter((c) => ONLY.has(c))) {
    const packedA = A.compress(codec, data);
    const packedB = B.compress(codec, data);
    // Each build must read the other's output back to the same bytes.
    for (const [m, packed] of [[A, packedB], [B, packedA]]) {
      if (Buffer.compare(m.decompress(codec, packed, { uncompressedSize: data.length }), data) !== 0) throw new Error(`${codec}: builds disagree`);
    }
    const size = packedB.length / packedA.length;
    cells.push({ label: `${codec} compress, ${name}`, bytes: data.length, size, run: (m) => () => m.compress(codec, data, { copy: false }) });
    const packedBy = (m) => (args.decompress === "own" && m === B ? packedB : packedA);
    cells.push({ label: `${codec} decompress, ${name}`, bytes: data.length, size, run: (m) => () => m.decompress(codec, packedBy(m), { uncompressedSize: data.length, copy: false }) });
  }
}
if (ONLY.has("batch")) {
  const records = logRecords(1000, 100);
  const payload = records.reduce((n, r) => n + r.value.length, 0);
  for (const compression of ["none", "lz4", "zstd", "snappy", "gzip"]) {
    const batchA = A.encodeBatch(records, { compression });
    const batchB = B.encodeBatch(records, { compression });
    const batchBy = (m) => (args.decompress === "own" && m === B ? batchB : batchA);
    const size = batchB.length / batchA.length;
    // verifyBatch and decodeBatch return no bytes: time() counts a returned array's length.
    cells.push({ label: `verifyBatch ${compression}, 1,000 records`, bytes: payload, size, run: (m) => () => [m.verifyBatch(batchBy(m))] });
    cells.push({ label: `decodeBatch ${compression}, 1,000 records`, bytes: payload, size, run: (m) => () => m.decodeBatch(batchBy(m)).records });
  }
}

const loadBefore = os.loadavg();
for (const cell of cells) {
  const fa = cell.run(A);
  const fb = cell.run(B);
  let n = 1;
  while (time(fa, n) < SECONDS) n *= 2;
  time(fb, n);
  Object.assign(cell, { fa, fb, n, a: [], b: [], ratio: [] });
}
for (let r = 0; r < RUNS; r++) {
  for (const cell of cells) {
    const order = r % 2 === 0 ? ["a", "b"] : ["b", "a"];
    const took = {};
    for (const side of order) {
      globalThis.gc?.();
      took[side] = time(side === "a" ? cell.fa : cell.fb, cell.n);
    }
    cell.a.push((cell.bytes * cell.n) / took.a / 1e6);
    cell.b.push((cell.bytes * cell.n) / took.b / 1e6);
    cell.ratio.push(took.a / took.b);
  }
}
const loadAfter = os.loadavg();

console.log(`${new Date().toISOString()}; ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores; Node ${process.versions.node}; ` +
  `load ${loadBefore.map((x) => x.toFixed(2)).join(" ")} before, ${loadAfter.map((x) => x.toFixed(2)).join(" ")} after; ${RUNS} interleaved rounds of ~${SECONDS}s (${args.clock} time) per cell and build\n`);
console.log("| operation | A: MB/s min / **median** / max | B: MB/s min / **median** / max | B ÷ A, median of rounds [min..max] | size B ÷ A |");
console.log("| --- | --- | --- | --- | --- |");
for (const c of cells) {
  console.log(`| ${c.label} | ${triple(c.a)} | ${triple(c.b)} | **${median(c.ratio).toFixed(2)}×** [${Math.min(...c.ratio).toFixed(2)}..${Math.max(...c.ratio).toFixed(2)}] | ${c.size.toFixed(3)} |`);
}
if (sink === 0.5) console.log(sink);
