#!/usr/bin/env node
// Runs the storage crash test (test/storage-crash.test.ts) for more cycles
// than the normal test run: each cycle SIGKILLs a child appending with
// fsync=always and acks=all, reopens the data and checks every acknowledged
// record is there exactly once, in order.
//
//   node packages/broker/scripts/crash-loop.mjs 500
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cycles = Number(process.argv[2] ?? 200);
if (!Number.isInteger(cycles) || cycles < 1) {
  console.error("usage: crash-loop.mjs <cycles>");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const result = spawnSync("npx", ["vitest", "run", "packages/broker/test/storage-crash.test.ts"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, POLYWIRE_CRASH_CYCLES: String(cycles) },
});
process.exit(result.status ?? 1);
