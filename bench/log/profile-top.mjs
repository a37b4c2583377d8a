#!/usr/bin/env node
// Prints the top frames of V8 CPU profiles (`node --cpu-prof`) by self time,
// and by total time (self plus callees) for frames in the project's sources.
//
//   node bench/log/profile-top.mjs [--top 30] file.cpuprofile...
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: args, positionals: files } = parseArgs({ options: { top: { type: "string", default: "30" } }, allowPositionals: true });
const TOP = Number(args.top);

function frameName(node) {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, "").replace(/^.*\/(node_modules|packages)\//, "$1/");
  return `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTicks = new Map();
  for (const id of profile.samples) selfTicks.set(id, (selfTicks.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const self = new Map();
  // Total time per frame name, counted once per sample even under recursion.
  const inclusive = new Map();
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, ticks] of selfTicks) {
    const name = frameName(byId.get(id));
    self.set(name, (self.get(name) ?? 0) + ticks);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const n = frameName(byId.get(at));
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + ticks);
    }
  }
  const pct = (ticks) => `${((ticks / total) * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n== ${file} (${total} samples, ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s)`);
  console.log("-- self");
  for (const [name, ticks] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(ticks)}  ${name}`);
  console.log("-- total (project sources)");
  for (const [name, ticks] of [...inclusive].filter(([n]) => n.includes("packages/")).sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(ticks)}  ${name}`);
}
