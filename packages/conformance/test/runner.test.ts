import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Feature } from "@polywire/proto/session";
import { describe, expect, it } from "vitest";
import { DelimitedReader, delimit } from "../src/client/framing.js";
import { toHtml } from "../src/report/html.js";
import { toJUnit } from "../src/report/junit.js";
import { formatSummary } from "../src/report/summary.js";
import type { ConformanceCase } from "../src/runner/case.js";
import { CLAUSE_FEATURES } from "../src/runner/areas.js";
import { loadClauses } from "../src/runner/clauses.js";
import { clauseCoverage, mustCoverage, planeSummaries } from "../src/runner/coverage.js";
import { findExpectation, globToRegExp, loadExpectations } from "../src/runner/expectations.js";
import type { CaseResult, RunReport } from "../src/runner/results.js";
import { ALL_CASES } from "../src/planes/index.js";

const clauses = loadClauses();

function caseOf(id: string, clauseIds: string[]): ConformanceCase {
  return { id, title: id, plane: "log", clauses: clauseIds, run: async () => undefined };
}

function result(c: ConformanceCase, status: CaseResult["status"], failure?: CaseResult["failure"]): CaseResult {
  return { id: c.id, name: c.id, title: c.title, plane: c.plane, role: "broker", clauses: c.clauses, status, durationMs: 5, notes: [], ...(failure === undefined ? {} : { failure }) };
}

describe("coverage", () => {
  it("PW-COMPAT-010: every clause id the suite's cases name exists in spec/clauses.json", () => {
    const known = new Set(clauses.map((c) => c.id));
    const unknown = ALL_CASES.flatMap((c) => c.clauses.filter((id) => !known.has(id)).map((id) => `${c.id}: ${id}`));
    expect(unknown).toEqual([]);
  });

  it("PW-SESS-005: planes whose feature the target does not grant are not applicable, derived from the granted features", () => {
    const a = caseOf("log/a", ["PW-LOG-001"]);
    const rows = clauseCoverage({ clauses, cases: [a], results: [result(a, "passed")], granted: new Set([Feature.LOG]), hasAdmin: false });
    const by = new Map(rows.map((r) => [r.id, r]));
    expect(by.get("PW-LOG-001")?.status).toBe("passed");
    expect(by.get("PW-GROUP-001")).toMatchObject({ status: "not-applicable", reason: "plane not implemented by target: FEATURE_GROUPS not granted" });
    expect(by.get("PW-IDEM-001")?.status).toBe("not-applicable");
    expect(by.get("PW-ADMIN-011")?.reason).toMatch(/no admin URL/);
    expect(by.get("PW-LOG-002")?.status).toBe("uncovered");
    const granted = clauseCoverage({ clauses, cases: [a], results: [result(a, "passed")], granted: new Set([Feature.LOG, Feature.GROUPS]), hasAdmin: true });
    expect(granted.find((r) => r.id === "PW-GROUP-001")?.status).toBe("uncovered");
  });

  it("PW-LOG-031: a failure counts against the clause it broke; clauses the failed case did not reach are unverified unless another case passed them", () => {
    const a = caseOf("log/a", ["PW-LOG-001", "PW-LOG-002", "PW-LOG-003"]);
    const b = caseOf("log/b", ["PW-LOG-003"]);
    const rows = clauseCoverage({
      clauses,
      cases: [a, b],
      results: [result(a, "failed", { clause: "PW-LOG-001", message: "x" }), result(b, "passed")],
      granted: new Set([Feature.LOG]),
      hasAdmin: false,
    });
    const by = new Map(rows.map((r) => [r.id, r]));
    expect(by.get("PW-LOG-001")?.status).toBe("failed");
    expect(by.get("PW-LOG-002")).toMatchObject({ status: "failed", reason: "not verified: log/a failed on PW-LOG-001" });
    expect(by.get("PW-LOG-003")?.status).toBe("passed");
    const planes = planeSummaries(rows, [], new Set([Feature.LOG]), false);
    expect(planes.find((p) => p.plane === "groups")?.implemented).toBe(false);
    expect(planes.find((p) => p.plane === "log")?.implemented).toBe(true);
  });

  it("PW-LOG-001: the quick profile's cases cover every MUST clause of the log plane and the session core", () => {
    const quick = ALL_CASES.filter((c) => (c.profiles ?? ["quick"]).includes("quick"));
    const named = new Set(quick.flatMap((c) => c.clauses));
    const areas = ["FRAME", "SESS", "LIM", "BATCH", "COMP", "PART", "LOG", "IDEM"];
    const missing = clauses.filter((c) => c.level === "MUST" && areas.includes(c.area) && !named.has(c.id)).map((c) => c.id);
    expect(missing).toEqual([]);
  });
});

describe("expectations", () => {
  it("PW-LOG-017: globs match case ids and clause ids", () => {
    expect(globToRegExp("PW-LOG-*").test("PW-LOG-017")).toBe(true);
    expect(globToRegExp("log/fetch-?rrors").test("log/fetch-errors")).toBe(true);
    expect(globToRegExp("log/*").test("session/welcome")).toBe(false);
    expect(findExpectation([{ pattern: "PW-LOG-01?", reason: "r" }], ["log/x", "PW-LOG-017"])?.reason).toBe("r");
  });

  it("PW-LOG-017: expectation files are read, and malformed ones are refused with a clear message", () => {
    const dir = mkdtempSync(join(tmpdir(), "polywire-expectations-"));
    try {
      const good = join(dir, "good.json");
      writeFileSync(good, JSON.stringify({ knownFailing: ["log/a", { pattern: "PW-LOG-*", reason: "bug 12" }], knownFlaky: [] }));
      expect(loadExpectations(good).knownFailing).toEqual([{ pattern: "log/a", reason: "" }, { pattern: "PW-LOG-*", reason: "bug 12" }]);
      const bad = join(dir, "bad.json");
      writeFileSync(bad, JSON.stringify({ knownFailing: [42] }));
      expect(() => loadExpectations(bad)).toThrow(/knownFailing\[0\]/);
      expect(() => loadExpectations(join(dir, "missing.json"))).toThrow(/cannot read expectations/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("reports", () => {
  const a = caseOf("log/model", ["PW-LOG-002"]);
  const b = caseOf("log/b", ["PW-LOG-001"]);
  const results: CaseResult[] = [
    { ...result(a, "failed", { clause: "PW-LOG-002", message: "offset <3> & \"4\"", detail: "Produce(1)\nFetch(2)" }), seed: 42, name: "log/model [seed=42]", replay: "polywire conformance --only 'log/model' --seed 42 --path '1:2'" },
    result(b, "skipped"),
  ];
  const coverage = clauseCoverage({ clauses, cases: [a, b], results, granted: new Set([Feature.LOG]), hasAdmin: false });
  const planes = planeSummaries(coverage, results, new Set([Feature.LOG]), false);
  const report: RunReport = {
    target: "test broker", client: undefined, profile: "quick", startedAt: "2026-01-01T00:00:00.000Z", durationMs: 1234, seed: 42, granted: ["FEATURE_LOG"],
    cases: results, clauses: coverage, planes, coverage: mustCoverage(coverage, planes), ok: false,
  };

  it("PW-LOG-002: the summary names the failing clause, the shrunk sequence and the replay line, and lists uncovered MUST clauses by plane", () => {
    const text = formatSummary(report).join("\n");
    expect(text).toMatch(/FAIL log\/model \[seed=42\] \(PW-LOG-002\)/);
    expect(text).toContain("replay: polywire conformance --only 'log/model' --seed 42 --path '1:2'");
    expect(text).toContain("Fetch(2)");
    expect(text).toMatch(/MUST clauses no case covers/);
    // The MUST clauses of the groups plane: its own area and the admin RPCs that need it.
    const groups = clauses.filter((c) => c.level === "MUST" && (c.id.startsWith("PW-GROUP-") || c.id in CLAUSE_FEATURES)).length;
    expect(text).toContain(`plane not implemented by target: FEATURE_GROUPS not granted: ${groups} clauses (GROUP, ADMIN)`);
    expect(text).toMatch(/^FAILED: /m);
  });

  it("PW-LOG-002: JUnit XML has one testsuite per plane, the failure with its clause, skips, and escapes markup", () => {
    const xml = toJUnit(report);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
    expect(xml).toContain('<testsuite name="polywire conformance: log" tests="2" failures="1" errors="0" skipped="1"');
    expect(xml).toContain('name="log/model [seed=42]"');
    expect(xml).toContain("offset &lt;3&gt; &amp; &quot;4&quot;");
    expect(xml).toContain('<property name="seed" value="42"/>');
    expect(xml.match(/<testcase /g)).toHaveLength(2);
    expect(xml.match(/<\/testcase>/g)).toHaveLength(2);
  });

  it("PW-LOG-002: the HTML report is one self-contained page with every clause and case", () => {
    const html = toHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    // Clause text may mention URLs (PW-ADMIN-060); no element may load one.
    expect(html).not.toMatch(/<link |<script src|(?:src|href)="https?:/);
    expect(html).toContain("PW-GROUP-001");
    expect(html).toContain("log/model [seed=42]");
    expect(html).toContain("offset &lt;3&gt; &amp; &quot;4&quot;");
  });
});

describe("adapter framing", () => {
  it("PW-FRAME-001: size-delimited messages come out whole across any chunking, and oversize lengths are refused", () => {
    const messages = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(9)];
    const stream = Buffer.concat(messages.map(delimit));
    const reader = new DelimitedReader();
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 7) out.push(...reader.push(stream.subarray(i, i + 7)));
    expect(out.map((m) => Buffer.from(m).toString("hex"))).toEqual(messages.map((m) => Buffer.from(m).toString("hex")));
    expect(reader.buffered).toBe(0);
    expect(() => new DelimitedReader().push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(/exceeds/);
  });
});
