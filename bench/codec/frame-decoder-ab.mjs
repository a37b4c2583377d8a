#!/usr/bin/env node
// Before/after of the frame decoder alone: the @polywire/wasm-codec of a git
// revision and of the working tree loaded side by side in this process,
// each decoding the same streams, cut in 64 KiB chunks (a socket's reads):
// 200,000 frames of 40 B (responses), 400 of 64 KiB (produce requests)
// and 30 of 1 MiB (fetch responses). Interleaved, 9 rounds after a
// warm-up; prints the median ms per stream and the ratio new / old.
//
//   node --expose-gc bench/codec/frame-decoder-ab.mjs --base <git-revision>
import { join } from "node:path";
import { prepare } from "../log/ab-common.mjs";

const { revision, copy, remove } = prepare({ name: "frame-decoder-ab", sources: "packages/wasm-codec/src packages/wasm-codec/dist/polywire_codec.wasm", only: "" });
const sides = { [revision]: await import(join(copy, "packages/wasm-codec/src/index.ts")), "working tree": await import("@polywire/wasm-codec") };
for (const codec of Object.values(sides)) await codec.init();
const current = sides["working tree"];

function stream(frameSize, count) {
  const message = new Uint8Array(20).fill(7);
  const parts = Array.from({ length: count }, (_, i) => current.encodeFrameHead(41, 2 * i + 1, message, frameSize - 36, frameSize - 36));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  const chunks = [];
  for (let i = 0; i < out.length; i += 65_536) chunks.push(out.slice(i, i + 65_536));
  return chunks;
}

function decode(codec, chunks) {
  const decoder = new codec.FrameDecoder();
  let frames = 0;
  for (const chunk of chunks) frames += decoder.push(chunk).length;
  decoder.free();
  return frames;
}

try {
  console.log(`| stream | ${revision} (ms) | working tree (ms) | ratio |\n| --- | ---: | ---: | ---: |`);
  for (const [label, size, count] of [["200,000 frames of 40 B", 40, 200_000], ["400 frames of 64 KiB", 65_636, 400], ["30 frames of 1 MiB", (1 << 20) + 50, 30]]) {
    const chunks = stream(size, count);
    const times = Object.fromEntries(Object.keys(sides).map((name) => [name, []]));
    for (let round = 0; round <= 9; round++) {
      for (const name of round % 2 === 0 ? Object.keys(sides) : Object.keys(sides).reverse()) {
        globalThis.gc?.();
        const started = performance.now();
        if (decode(sides[name], chunks) !== count) throw new Error(`${name} decoded a wrong number of frames`);
        if (round > 0) times[name].push(performance.now() - started);
      }
    }
    const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const [before, after] = Object.keys(sides).map((name) => median(times[name]));
    console.log(`| ${label} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(after / before).toFixed(2)} |`);
  }
} finally {
  remove();
}
