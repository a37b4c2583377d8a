import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkMutant } from "../mutants/check.js";
import { MUTANTS } from "../mutants/index.js";
import { runEmbeddedSuite } from "../src/embedded/embedded-suite.js";
import { failsRun } from "../src/runner/results.js";

// The CLI's TypeScript entry point, run from sources whatever has been built.
const BIN = fileURLToPath(new URL("../../cli/src/bin.ts", import.meta.url));

function polywire(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ["--import", "tsx", "--conditions=@polywire/source", BIN, "conformance", ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

// One file, run in order: the reference run and the mutant runs are the suite's own acceptance test, and they share the machine's two cores.
describe.sequential("the conformance suite against the reference implementation and its mutants", () => {
  it("PW-LOG-*/PW-FRAME-*/PW-SESS-*: the quick profile passes against the embedded reference broker and the reference TypeScript client, covering every MUST clause of the log plane and of request/reply, and every broker clause of the groups plane", { timeout: 300_000 }, async () => {
    const { report } = await runEmbeddedSuite({ profile: "quick", out: null });
    const failed = report.cases.filter((r) => failsRun(r.status)).map((r) => `${r.name}: ${r.failure?.message ?? r.reason}`);
    expect(failed).toEqual([]);
    expect(report.ok).toBe(true);
    const logPlane = report.clauses.filter((c) => c.level === "MUST" && /^PW-(LOG|BATCH|FRAME|SESS|LIM|IDEM|COMP|PART)-/.test(c.id));
    expect(logPlane.filter((c) => c.status === "uncovered" || c.status === "skipped").map((c) => c.id)).toEqual([]);
    // Every MUST clause of §8 is checked but PW-GROUP-011, which binds the client (a member that is fenced stops processing).
    const groups = report.clauses.filter((c) => c.level === "MUST" && c.id.startsWith("PW-GROUP-"));
    expect(groups.filter((c) => c.status !== "passed").map((c) => c.id)).toEqual(["PW-GROUP-011"]);
    expect(report.planes.find((p) => p.plane === "groups")).toMatchObject({ implemented: true, uncovered: 1 });
    // Every MUST clause of §10 is checked and passes but PW-RPC-046, which binds client libraries, and PW-RPC-047,
    // which needs a connection that stops reading its socket (packages/broker/test/rpc/unread.test.ts checks it).
    const rpc = report.clauses.filter((c) => c.level === "MUST" && c.id.startsWith("PW-RPC-"));
    expect(rpc.filter((c) => c.status !== "passed").map((c) => c.id)).toEqual(["PW-RPC-046", "PW-RPC-047"]);
  });

  for (const mutant of MUTANTS) {
    it(`${mutant.breaks.join("/")}: the quick profile catches the mutant ${mutant.name} (${mutant.description})`, { timeout: 300_000 }, async () => {
      const verdict = await checkMutant(mutant);
      expect(verdict.failures.length, "the run against the mutant passed").toBeGreaterThan(0);
      expect(verdict.by?.failure?.clause, `failed only elsewhere: ${verdict.failures.map((r) => `${r.id} (${r.failure?.clause})`).join(", ")}`).toBeDefined();
      expect(mutant.breaks).toContain(verdict.by?.failure?.clause);
    });
  }

  it("PW-LOG-020: a failed model run prints a replay line whose --seed and --path rebuild the shrunk sequence", { timeout: 120_000 }, async () => {
    const mutant = MUTANTS.find((m) => m.name === "wrong-high-watermark");
    const options = { implementation: mutant?.implementation, client: "none", only: ["log/model"], seed: 1234, out: null } as const;
    const first = (await runEmbeddedSuite(options)).report.cases[0];
    expect(first?.status).toBe("failed");
    const path = /--path '([^']+)'/.exec(first?.replay ?? "")?.[1];
    expect(path).toMatch(/^[0-9:]+@/);
    const again = (await runEmbeddedSuite({ ...options, path })).report.cases[0];
    expect(again?.status).toBe("failed");
    expect(again?.failure?.clause).toBe(first?.failure?.clause);
    expect(again?.failure?.detail).toBe(first?.failure?.detail);
  });

  it("PW-SESS-003: polywire conformance runs selected cases, prints the summary with MUST coverage, and exits 0", { timeout: 120_000 }, () => {
    const run = polywire("--only", "session/welcome", "--only", "log/list-offsets", "--client", "none", "--no-report");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("[1/2] pass  session/welcome");
    expect(run.stdout).toMatch(/^MUST clauses: \d+ in the spec; \d+ checked by this run/m);
    // Every plane of the spec is implemented by the reference broker: nothing to name as not implemented.
    expect(run.stdout).toMatch(/^PASSED: \d+ of \d+ MUST clauses of the spec checked \(\d+%\)$/m);
    expect(run.stdout).toMatch(/^cases: 2 passed/m);
  });

  it("PW-SESS-004: polywire conformance exits 2 on bad flags and 3 when the broker cannot be reached", { timeout: 120_000 }, () => {
    const usage = polywire("--quick", "--full");
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--quick and --full exclude each other");
    const unreachable = polywire("--broker", "tcp://127.0.0.1:1", "--no-report");
    expect(unreachable.status).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach the broker under test/);
  });
});
