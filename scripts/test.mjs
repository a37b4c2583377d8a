#!/usr/bin/env node
// Runs every test suite of the repository, one after the other, and fails if
// any failed. Every suite runs even after a failure, so one run shows all of
// them. To add a suite, add one line to SUITES. Arguments select suites by
// name: `npm test -- go python` runs only the suites whose name contains
// "go" or "python".
//
// A suite lists in `needs` the pinned tools it uses (scripts/toolchain.mjs);
// each is installed, or found already installed, once, before the first
// selected suite that needs it, so a fresh clone needs nothing but
// `npm ci && npm test`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { ensureGoModules, ensureGoTools, ensurePython, python, root } from "./toolchain.mjs";

const vitestReport = join(root, "node_modules", ".cache", "polywire-test", "vitest.json");

/** The failed tests of the last vitest run, a line each: file, title, first line of the error. */
function vitestFailures() {
  if (!existsSync(vitestReport)) return ["(vitest wrote no report: it stopped before the end)"];
  const report = JSON.parse(readFileSync(vitestReport, "utf8"));
  const lines = [];
  for (const file of report.testResults ?? []) {
    const path = relative(root, file.name);
    const failed = (file.assertionResults ?? []).filter((t) => t.status === "failed");
    for (const t of failed) lines.push(`${path}: ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    if (failed.length === 0 && file.status === "failed") lines.push(`${path}: ${firstLine(file.message)}`);
  }
  return lines;
}

function firstLine(text) {
  return (text ?? "").split("\n").find((l) => l.trim() !== "")?.trim().slice(0, 300) ?? "";
}

const SUITES = [
  // First, so that the CLI tests spawn a `polywire` built from these sources.
  { name: "tsc -b (build and type-check every package)", cmd: ["npx", "--no-install", "tsc", "-b"] },
  // admin-polyglot.test.ts runs the Go and Python examples, and the snippet
  // test the examples' READMEs.
  // The JSON report lets the summary name the failing tests: a log cut to its
  // last lines (as CI shows it) then still says what failed.
  {
    name: "vitest (TypeScript: spec, bindings, packages, conformance, README snippets)",
    cmd: ["npx", "--no-install", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestReport}`],
    needs: [ensurePython, ensureGoModules, ensureGoTools],
    failures: vitestFailures,
  },
  { name: "tsc (types of spec/test and gen/test)", cmd: ["npx", "--no-install", "tsc", "-p", "scripts/tsconfig.tests.json"] },
  { name: "tsc (types of conformance tests and mutants)", cmd: ["npx", "--no-install", "tsc", "-p", "packages/conformance/tsconfig.check.json"] },
  { name: "cargo test (wasm-codec on the host: unit and property tests)", cmd: ["cargo", "test", "--release", "--locked"], cwd: "packages/wasm-codec" },
  { name: "wasm-codec loader in Node, Chromium, Deno, Bun, workerd and bundlers", cmd: ["node", "test/runtimes/run.mjs"], cwd: "packages/wasm-codec" },
  { name: "go test (Go bindings, gen/test/go)", cmd: ["go", "test", "-count=1", "./..."], cwd: "gen/test/go", needs: [ensureGoModules] },
  { name: "pytest (Python bindings, gen/test/python)", cmd: [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "gen/test/python"], needs: [ensurePython] },
];

const filters = process.argv.slice(2);
const selected = SUITES.filter((s) => filters.length === 0 || filters.some((f) => s.name.includes(f)));
if (selected.length === 0) {
  console.error(`no suite matches ${filters.join(", ")}; suites: ${SUITES.map((s) => s.name).join("; ")}`);
  process.exit(2);
}

// Each tool's install runs once; its failure fails every suite that needs it.
const installs = new Map();
function install(ensure) {
  if (!installs.has(ensure)) {
    try {
      ensure();
      installs.set(ensure, null);
    } catch (error) {
      installs.set(ensure, error);
    }
  }
  const error = installs.get(ensure);
  if (error !== null) throw error;
}

const results = [];
for (const suite of selected) {
  console.log(`\n=== ${suite.name}`);
  const started = Date.now();
  let status;
  try {
    for (const ensure of suite.needs ?? []) install(ensure);
    if (suite.failures) {
      mkdirSync(join(vitestReport, ".."), { recursive: true });
      rmSync(vitestReport, { force: true });
    }
    const [cmd, ...args] = suite.cmd;
    const child = spawnSync(cmd, args, {
      cwd: join(root, suite.cwd ?? "."),
      stdio: "inherit",
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    status = child.error ? `could not start: ${child.error.message}` : child.status === 0 ? "ok" : `exit ${child.status ?? child.signal}`;
  } catch (error) {
    status = `pinned tools: ${error.message}`;
  }
  const failures = status !== "ok" && suite.failures ? suite.failures() : [];
  results.push({ name: suite.name, status, failures, seconds: ((Date.now() - started) / 1000).toFixed(1) });
}

console.log("\n=== summary");
for (const r of results) {
  console.log(`${r.status === "ok" ? "ok  " : "FAIL"} ${r.name} (${r.seconds} s)${r.status === "ok" ? "" : `: ${r.status}`}`);
  for (const f of r.failures) console.log(`       ${f}`);
}
const failed = results.filter((r) => r.status !== "ok").length;
console.log(`suites: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
