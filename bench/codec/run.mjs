// Codec benchmark (issue 4): @polywire/wasm-codec against native, pure-JS and
// emscripten/wasm peers, each in its fastest documented mode, in one run.
//   node --expose-gc bench/codec/run.mjs [--runs N] [--seconds S] [--json out.json]
// Prints markdown tables: MB/s (of uncompressed bytes) min/median/max over
// the runs, and compression ratio.
import { gunzipSync, gzipSync, constants as zlibConstants } from "node:zlib";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as codec from "@polywire/wasm-codec";
import * as zstdWasm from "@bokuweb/zstd-wasm";
import * as fzstd from "fzstd";
import lz4napi from "lz4-napi";
import lz4js from "lz4js";
import snappy from "snappy";
import snappyjs from "snappyjs";
import zstdCodecPkg from "zstd-codec";
import zstdNapi from "zstd-napi";
import { jsonLogs, logRecords } from "./corpus.mjs";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "7" }, seconds: { type: "string", default: "0.25" }, json: { type: "string" }, only: { type: "string" } } });
// --only lz4,zstd,batch limits the run to those families (for profiling; published results use the full run).
const only = args.only === undefined ? undefined : new Set(args.only.split(","));
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);

let sink = 0;

/** Iterations of `fn` that take about SECONDS, after warming it up (JIT, wasm tier-up). */
function calibrate(fn) {
  let iterations = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sink ^= fn().length;
    const ms = performance.now() - t0;
    if (ms > SECONDS * 250) return Math.max(1, Math.round((iterations * SECONDS * 1000) / ms));
    iterations *= 2;
  }
}

/**
 * Measures several cells ({bytes, fn}) interleaved: each of RUNS rounds
 * times every cell once, so load from other processes on this shared
 * machine hits all contenders alike. Returns MB/s min/median/max per cell.
 */
function measureAll(cells) {
  const live = cells.filter((c) => c !== null);
  const iterations = live.map((c) => calibrate(c.fn));
  const rates = live.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    live.forEach((c, k) => {
      // Collect the previous cell's garbage so it is not billed to this one.
      globalThis.gc?.();
      const t0 = performance.now();
      for (let i = 0; i < iterations[k]; i++) sink ^= c.fn().length;
      rates[k].push((c.bytes * iterations[k]) / ((performance.now() - t0) / 1000) / 1e6);
    });
  }
  const stats = rates.map((list) => {
    list.sort((a, b) => a - b);
    return { min: list[0], median: list[Math.floor(list.length / 2)], max: list[list.length - 1] };
  });
  return cells.map((c) => (c === null ? null : stats[live.indexOf(c)]));
}

await codec.init();
await zstdWasm.init();
const zstdCodec = await new Promise((resolve) => zstdCodecPkg.ZstdCodec.run((z) => resolve(new z.Simple())));
const zstdNapiCompressor = new zstdNapi.Compressor({ compressionLevel: 3 });
const zstdNapiDecompressor = new zstdNapi.Decompressor();
const lz4Hash = new Uint32Array(1 << 16);

/** Each codec's contenders: compress(data) and decompress(packed, size); decompress-only peers have no compress. */
const contenders = {
  lz4: [
    { name: "@polywire/wasm-codec", compress: (d) => codec.compress("lz4", d), decompress: (p, n) => codec.decompress("lz4", p, { uncompressedSize: n }) },
    { name: "@polywire/wasm-codec, copy: false (view into WASM memory)", compress: (d) => codec.compress("lz4", d, { copy: false }), decompress: (p, n) => codec.decompress("lz4", p, { uncompressedSize: n, copy: false }) },
    // lz4-napi's block API prepends the size; sync calls are its fastest mode for in-memory buffers.
    { name: "lz4-napi (native)", compress: (d) => lz4napi.compressSync(d), decompress: (p) => lz4napi.uncompressSync(p) },
    {
      name: "lz4js (pure JS, block API, output size given)",
      compress: (d) => {
        const dst = new Uint8Array(lz4js.compressBound(d.length));
        lz4Hash.fill(0);
        return dst.subarray(0, lz4js.compressBlock(d, dst, 0, d.length, lz4Hash));
      },
      decompress: (p, n) => {
        const dst = new Uint8Array(n);
        return dst.subarray(0, lz4js.decompressBlock(p, dst, 0, p.length, 0));
      },
    },
  ],
  snappy: [
    { name: "@polywire/wasm-codec", compress: (d) => codec.compress("snappy", d), decompress: (p, n) => codec.decompress("snappy", p, { uncompressedSize: n }) },
    { name: "@polywire/wasm-codec, copy: false (view into WASM memory)", compress: (d) => codec.compress("snappy", d, { copy: false }), decompress: (p, n) => codec.decompress("snappy", p, { uncompressedSize: n, copy: false }) },
    { name: "snappy (native, copyOutputData)", compress: (d) => snappy.compressSync(d, { copyOutputData: true }), decompress: (p) => snappy.uncompressSync(p, { asBuffer: true, copyOutputData: true }) },
    { name: "snappy (native, external buffers)", compress: (d) => snappy.compressSync(d), decompress: (p) => snappy.uncompressSync(p, { asBuffer: true }) },
    { name: "snappyjs (pure JS)", compress: (d) => snappyjs.compress(d), decompress: (p) => snappyjs.uncompress(p) },
  ],
  zstd: [
    { name: "@polywire/wasm-codec (level 3)", compress: (d) => codec.compress("zstd", d, { level: 3 }), decompress: (p, n) => codec.decompress("zstd", p, { uncompressedSize: n }) },
    { name: "@polywire/wasm-codec, copy: false (view into WASM memory)", compress: (d) => codec.compress("zstd", d, { level: 3, copy: false }), decompress: (p, n) => codec.decompress("zstd", p, { uncompressedSize: n, copy: false }) },
    { name: "zstd-napi (native, reused contexts)", compress: (d) => zstdNapiCompressor.compress(d), decompress: (p) => zstdNapiDecompressor.decompress(p) },
    { name: "@bokuweb/zstd-wasm (emscripten)", compress: (d) => zstdWasm.compress(d, 3), decompress: (p) => zstdWasm.decompress(p) },
    { name: "zstd-codec (emscripten, Simple)", compress: (d) => zstdCodec.compress(d, 3), decompress: (p) => zstdCodec.decompress(p) },
    { name: "fzstd (pure JS, decode only)", decompress: (p, n) => fzstd.decompress(p, new Uint8Array(n)) },
  ],
  "gzip-1": [
    { name: "@polywire/wasm-codec", compress: (d) => codec.compress("gzip", d, { level: 1 }), decompress: (p, n) => codec.decompress("gzip", p, { uncompressedSize: n }) },
    { name: "node:zlib (native)", compress: (d) => gzipSync(d, { level: 1 }), decompress: (p) => gunzipSync(p) },
  ],
  "gzip-6": [
    { name: "@polywire/wasm-codec", compress: (d) => codec.compress("gzip", d, { level: 6 }), decompress: (p, n) => codec.decompress("gzip", p, { uncompressedSize: n }) },
    { name: "node:zlib (native)", compress: (d) => gzipSync(d, { level: 6 }), decompress: (p) => gunzipSync(p) },
  ],
};

const results = { date: new Date().toISOString(), machine: machineNotes(), runs: RUNS, seconds: SECONDS, compression: [], batch: [] };

function machineNotes() {
  return `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`;
}

// Steady state first: V8 compiles WASM with a baseline tier and optimises hot
// functions in the background, which on a busy 2-core machine can take
// seconds. Exercise every contender before any timing so that no one is
// measured half-optimised.
{
  const data = jsonLogs(1 << 20);
  for (const list of Object.values(contenders)) {
    for (const c of list) {
      const packed = (c.compress ? c.compress(data) : list[0].compress(data)).slice();
      const until = performance.now() + 400;
      while (performance.now() < until) {
        if (c.compress) sink ^= c.compress(data).length;
        sink ^= c.decompress(packed, data.length).length;
      }
    }
  }
  const records = logRecords(1000, 100);
  const until = performance.now() + 400;
  while (performance.now() < until) sink ^= codec.decodeBatch(codec.encodeBatch(records)).records.length;
}

for (const [label, size] of [["1 MiB", 1 << 20], ["4 KiB", 4096]]) {
  const data = jsonLogs(size);
  for (const [family, list] of Object.entries(contenders)) {
    if (only && !only.has(family)) continue;
    // Every contender decompresses the reference compressor's output too, so
    // the decoders are compared on the same input.
    const reference = list[0].compress(data);
    // slice(): a copy:false contender returns a view that the next call reuses.
    const packed = list.map((c) => (c.compress ? c.compress(data).slice() : reference));
    list.forEach((c, k) => {
      const back = c.decompress(packed[k], data.length);
      if (Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.byteLength), Buffer.from(data)) !== 0) throw new Error(`${c.name} does not round-trip`);
    });
    const compressed = measureAll(list.map((c) => (c.compress ? { bytes: data.length, fn: () => c.compress(data) } : null)));
    const decompressed = measureAll(list.map((c, k) => ({ bytes: data.length, fn: () => c.decompress(packed[k], data.length) })));
    list.forEach((c, k) => {
      const row = { corpus: label, codec: family, contender: c.name, ratio: data.length / packed[k].length, compress: compressed[k], decompress: decompressed[k] };
      results.compression.push(row);
      process.stderr.write(`${label} ${family} ${c.name}: ${row.compress ? row.compress.median.toFixed(0) : "-"} / ${row.decompress.median.toFixed(0)} MB/s\n`);
    });
  }
}

// Batch encode/decode: 1,000 records of 100 B against the same records as a
// repeated protobuf message with protobuf-es (reflection runtime, as generated code uses).
const file = create(FileDescriptorProtoSchema, {
  name: "bench/records.proto",
  package: "bench",
  syntax: "proto3",
  messageType: [
    { name: "Header", field: [{ name: "key", jsonName: "key", number: 1, type: Type.STRING, label: Label.OPTIONAL }, { name: "value", jsonName: "value", number: 2, type: Type.BYTES, label: Label.OPTIONAL }] },
    {
      name: "Record",
      field: [
        { name: "key", jsonName: "key", number: 1, type: Type.BYTES, label: Label.OPTIONAL },
        { name: "value", jsonName: "value", number: 2, type: Type.BYTES, label: Label.OPTIONAL },
        { name: "headers", jsonName: "headers", number: 3, type: Type.MESSAGE, typeName: ".bench.Header", label: Label.REPEATED },
        { name: "type_id", jsonName: "typeId", number: 4, type: Type.UINT64, label: Label.OPTIONAL },
        { name: "timestamp", jsonName: "timestamp", number: 5, type: Type.INT64, label: Label.OPTIONAL },
      ],
    },
    { name: "Records", field: [{ name: "records", jsonName: "records", number: 1, type: Type.MESSAGE, typeName: ".bench.Record", label: Label.REPEATED }] },
  ],
});
const RecordsSchema = createFileRegistry(file, () => undefined).getMessage("bench.Records");
const records = logRecords(1000, 100);
const message = create(RecordsSchema, { records: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, typeId: BigInt(r.typeId), timestamp: BigInt(r.timestamp) })) });
const pbBytes = toBinary(RecordsSchema, message);
const batchBytes = codec.encodeBatch(records);
const recordBytes = records.reduce((n, r) => n + r.key.length + r.value.length + 5 + r.headers[0].value.length, 0);
const batchContenders = [
  { name: "@polywire/wasm-codec encodeBatch/decodeBatch (none)", size: batchBytes.length, encode: () => codec.encodeBatch(records), decode: () => codec.decodeBatch(batchBytes).records },
  { name: "@polywire/wasm-codec decodeBatch copy:false", size: batchBytes.length, encode: null, decode: () => codec.decodeBatch(batchBytes, { copy: false }).records },
  { name: "@polywire/wasm-codec encodeBatch/decodeBatch (lz4)", size: codec.encodeBatch(records, { compression: "lz4" }).length, encode: () => codec.encodeBatch(records, { compression: "lz4" }), decode: ((b) => () => codec.decodeBatch(b).records)(codec.encodeBatch(records, { compression: "lz4" })) },
  { name: "protobuf-es toBinary/fromBinary (repeated message)", size: pbBytes.length, encode: () => toBinary(RecordsSchema, message), decode: () => fromBinary(RecordsSchema, pbBytes).records },
];
const chosenBatch = only && !only.has("batch") ? [] : batchContenders;
const encoded = measureAll(chosenBatch.map((c) => (c.encode ? { bytes: recordBytes, fn: c.encode } : null)));
const decoded = measureAll(chosenBatch.map((c) => ({ bytes: recordBytes, fn: c.decode })));
chosenBatch.forEach((c, k) => {
  // Reported as MB/s of record payload (keys, values, headers) and as records/s.
  const row = { contender: c.name, wireBytes: c.size, encode: encoded[k], decode: decoded[k] };
  results.batch.push(row);
  process.stderr.write(`batch ${c.name}: ${row.encode ? row.encode.median.toFixed(0) : "-"} / ${row.decode.median.toFixed(0)} MB/s\n`);
});

const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mmm = (m) => (m ? `${f(m.min)} / **${f(m.median)}** / ${f(m.max)}` : "—");
const lines = [];
lines.push(`Run ${results.date}; ${results.machine}; ${RUNS} runs of ~${SECONDS}s per cell; MB/s of uncompressed bytes, min / **median** / max.`, "");
for (const corpus of ["1 MiB", "4 KiB"]) {
  lines.push(`#### JSON log corpus, ${corpus}`, "", "| codec | contender | ratio | compress MB/s | decompress MB/s | ours ÷ this, compress | ours ÷ this, decompress |", "|---|---|---|---|---|---|---|");
  for (const row of results.compression.filter((r) => r.corpus === corpus)) {
    const ours = results.compression.find((r) => r.corpus === corpus && r.codec === row.codec && r.contender.startsWith("@polywire"));
    const vs = (a, b) => (a && b ? `${(b.median / a.median).toFixed(2)}×` : "—");
    lines.push(`| ${row.codec} | ${row.contender} | ${row.ratio.toFixed(2)} | ${mmm(row.compress)} | ${mmm(row.decompress)} | ${vs(row.compress, ours.compress)} | ${vs(row.decompress, ours.decompress)} |`);
  }
  lines.push("");
}
lines.push("#### Batch of 1,000 records × 100 B value (+ key, one header)", "", "| contender | wire bytes | encode MB/s | decode MB/s | encode krec/s (median) | decode krec/s (median) | ours (none) ÷ this, encode | ours (none) ÷ this, decode |", "|---|---|---|---|---|---|---|---|");
const oursBatch = results.batch[0];
for (const row of results.batch) {
  const krec = (m) => (m ? ((m.median * 1e6) / recordBytes).toFixed(0) : "—");
  const vs = (a, b) => (a && b ? `${(b.median / a.median).toFixed(2)}×` : "—");
  lines.push(`| ${row.contender} | ${row.wireBytes} | ${mmm(row.encode)} | ${mmm(row.decode)} | ${krec(row.encode)} | ${krec(row.decode)} | ${vs(row.encode, oursBatch.encode)} | ${vs(row.decode, oursBatch.decode)} |`);
}
console.log(lines.join("\n"));
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
if (sink === 0.5) console.log(sink);
