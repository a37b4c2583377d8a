import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEmbeddedSuite } from "../src/embedded/embedded-suite.js";
import { ANSI, caseLine, formatSummary, table } from "../src/report/summary.js";
import type { CaseResult, RunReport } from "../src/runner/results.js";
import type { ReportFiles } from "../src/suite.js";

// One real run, against the embedded reference broker, of a few cases: the
// headline must speak of the whole spec, not of what the run selected or
// what the target implements.
const SELECTED = ["session/welcome", "log/list-offsets", "admin/protocol"];
const specClauses = JSON.parse(readFileSync(new URL("../../../spec/clauses.json", import.meta.url), "utf8")) as { clauses: Array<{ id: string; level: string }> };
const mustInSpec = specClauses.clauses.filter((c) => c.level === "MUST").length;
// Every plane of the spec is implemented by the reference broker since request/reply landed.
const UNIMPLEMENTED: string[] = [];
const planesSuffix = UNIMPLEMENTED.length === 0 ? "" : `; not implemented by the target: ${UNIMPLEMENTED.join(", ")}`;

let dir: string;
let report: RunReport;
let files: ReportFiles;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pw-report-"));
  const run = await runEmbeddedSuite({ client: "none", only: SELECTED, out: dir });
  report = run.report;
  files = run.files as ReportFiles;
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The column spans of a text table, from its dashes line. */
function columns(lines: readonly string[]): Array<[number, number]> {
  const dashes = lines[1] as string;
  return [...dashes.matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length]);
}

describe("conformance report headline (MUST coverage over the whole spec)", () => {
  it("PW-COMPAT-010: the JSON report counts every MUST clause of the spec and names the planes the target does not implement", () => {
    const c = report.coverage;
    expect(c.total).toBe(mustInSpec);
    const checked = report.clauses.filter((x) => x.level === "MUST" && ["passed", "failed", "known-failing"].includes(x.status)).length;
    expect(c.checked).toBe(checked);
    expect(c.checked).toBeGreaterThan(0);
    expect(c.checked).toBeLessThan(c.total);
    expect(c.percent).toBe(Math.floor((100 * checked) / mustInSpec));
    expect(c.checked + c.notImplemented + c.notObservable + c.notChecked).toBe(c.total);
    expect(c.unimplementedPlanes).toEqual(UNIMPLEMENTED);
    expect(report.planes.filter((p) => !p.implemented).map((p) => p.title)).toEqual(UNIMPLEMENTED);
    const json = JSON.parse(readFileSync(files.json, "utf8")) as RunReport;
    expect(json.coverage).toEqual(c);
  });

  it("PW-COMPAT-010: the text summary's verdict line gives checked of all MUST clauses and the unimplemented planes, never a bare 100%", () => {
    const c = report.coverage;
    const text = formatSummary(report).join("\n");
    expect(report.ok).toBe(true);
    expect(text).toContain(`PASSED: ${c.checked} of ${mustInSpec} MUST clauses of the spec checked (${c.percent}%)${planesSuffix}`);
    expect(text).toMatch(new RegExp(`^MUST clauses: ${mustInSpec} in the spec; ${c.checked} checked by this run, ${c.notImplemented} in planes the target does not implement`, "m"));
    expect(text).not.toContain("100%");
  });

  it("PW-COMPAT-010: the HTML headline gives the same figure and lists the unimplemented planes", () => {
    const c = report.coverage;
    const html = readFileSync(files.html, "utf8");
    expect(html).toContain(`<p class="verdict ok">PASSED: ${c.checked} of ${mustInSpec} MUST clauses of the spec checked (${c.percent}%)${planesSuffix}</p>`);
    for (const title of UNIMPLEMENTED) expect(html).toMatch(new RegExp(`Planes the target does not implement.*<b>${title.replace("/", "\\/")}</b>`));
    expect(html).not.toContain("100%)");
  });
});

describe("conformance report alignment", () => {
  it("numeric columns of the HTML tables have right-aligned headers, as their cells are", () => {
    const html = readFileSync(files.html, "utf8");
    expect(html).toMatch(/th\.n\{text-align:right/);
    for (const table of html.match(/<table[^>]*><thead>.*?<\/tbody><\/table>/gs) ?? []) {
      const head = /<thead><tr>(.*?)<\/tr><\/thead>/s.exec(table)?.[1] ?? "";
      const headClasses = [...head.matchAll(/<th( class="n")?>/g)].map((m) => m[1] !== undefined);
      for (const row of table.match(/<tr[^>]*><td.*?<\/tr>/gs) ?? []) {
        const cells = [...row.matchAll(/<td( class="n")?>/g)].map((m) => m[1] !== undefined);
        expect(cells).toEqual(headClasses);
      }
    }
  });

  it("numeric columns of the text tables line up under their right-aligned headers, with colors too", () => {
    // "n/a" is narrower than its numbers: its header must move right with them.
    const lines = table(["plane", "area", "MUST", "passed", "failed", "n/a"], [["Log plane", "LOG", "28", "7", ANSI.red("21"), "1234"], ["Admin plane", "ADMIN", "9", "129", "0", "5"]]);
    const spans = columns(lines);
    const plain = lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ""));
    for (const [i, [start, end]] of spans.entries()) {
      for (const line of [plain[0], plain[2], plain[3]] as string[]) {
        const cell = line.slice(start, end);
        if (i >= 2) expect(cell.endsWith(" "), `column ${i} of ${JSON.stringify(line)}`).toBe(false);
        else expect(cell.startsWith(" "), `column ${i} of ${JSON.stringify(line)}`).toBe(false);
      }
    }
    const summary = formatSummary(report);
    const start = summary.findIndex((l) => l.startsWith("plane "));
    const block = summary.slice(start, summary.indexOf("", start));
    for (const [i, [from, to]] of columns(block).entries()) {
      if (i < 2) continue;
      for (const line of [block[0], ...block.slice(2)] as string[]) expect(line.slice(from, to).endsWith(" "), `column ${i} of ${JSON.stringify(line)}`).toBe(false);
    }
  });

  it("progress lines put case names in one column whatever the status word and its colors", () => {
    const result = (status: CaseResult["status"]): CaseResult => ({ id: "x/y", name: "x/y", title: "", plane: "log", role: "broker", clauses: [], status, durationMs: 10, notes: [] });
    const names = (["passed", "failed", "not-applicable", "known-failing"] as const).map((st) => caseLine(result(st), 3, 12, ANSI).replace(/\u001b\[[0-9;]*m/g, "").indexOf("x/y"));
    expect(new Set(names).size).toBe(1);
  });
});
