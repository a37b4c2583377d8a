import { areaOf } from "../runner/areas.js";
import type { CaseResult, ClauseCoverage, MustCoverage, RunReport } from "../runner/results.js";

/** ANSI styles, or none. */
export interface Styles {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

/** Plain text. */
export const PLAIN: Styles = { red: (t) => t, green: (t) => t, yellow: (t) => t, dim: (t) => t, bold: (t) => t };

/** ANSI colors for terminals. */
export const ANSI: Styles = {
  red: (t) => `\u001b[31m${t}\u001b[39m`,
  green: (t) => `\u001b[32m${t}\u001b[39m`,
  yellow: (t) => `\u001b[33m${t}\u001b[39m`,
  dim: (t) => `\u001b[2m${t}\u001b[22m`,
  bold: (t) => `\u001b[1m${t}\u001b[22m`,
};

const plain = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, "");
const visible = (s: string): number => plain(s).length;

/** `text` padded to `width` visible characters (ANSI colors take no room). */
function padVisible(text: string, width: number, right = false): string {
  const pad = " ".repeat(Math.max(0, width - visible(text)));
  return right ? pad + text : text + pad;
}

/**
 * Lays out rows as columns. A column whose every cell looks like a number
 * (digits, `.`, `/`, `%`, `-`) is right-aligned, its header too, so that
 * numbers line up under their header; other columns are left-aligned.
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const numeric = header.map((_, i) => i > 0 && rows.length > 0 && rows.every((r) => /^[0-9./%-]+$/.test(plain(r[i] ?? ""))));
  const line = (cells: readonly string[]): string => cells.map((c, i) => padVisible(c, widths[i] as number, numeric[i])).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}

/** The headline: MUST clauses of the whole spec checked, and the planes the target does not implement. */
export function coverageHeadline(c: MustCoverage): string {
  const planes = c.unimplementedPlanes.length === 0 ? "" : `; not implemented by the target: ${c.unimplementedPlanes.join(", ")}`;
  return `${c.checked} of ${c.total} MUST clauses of the spec checked (${c.percent}%)${planes}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function statusWord(r: CaseResult, s: Styles): string {
  switch (r.status) {
    case "passed":
      return s.green("pass");
    case "flaky":
      return s.yellow("flaky");
    case "failed":
      return s.red("FAIL");
    case "fixed":
      return s.red("FIXED");
    case "known-failing":
      return s.yellow("known");
    case "skipped":
      return s.dim("skip");
    case "not-applicable":
      return s.dim("n/a");
  }
}

/** One line per finished case, for plain (non-terminal) progress and logs. */
export function caseLine(r: CaseResult, index: number, total: number, s: Styles = PLAIN): string {
  const where = `[${String(index).padStart(String(total).length)}/${total}]`;
  const tail = r.failure !== undefined
    ? ` ${r.failure.clause ?? ""} ${r.failure.message}`
    : r.reason !== undefined && r.status !== "passed" ? s.dim(` (${r.reason})`) : "";
  return `${where} ${padVisible(statusWord(r, s), 5)} ${r.name} ${s.dim(seconds(r.durationMs))}${tail}`;
}

/**
 * The end-of-run summary: MUST clauses by plane and clause area, the
 * failures with their clause and replay line, and every MUST clause that no
 * case covered or that the target's planes do not include.
 */
export function formatSummary(report: RunReport, s: Styles = PLAIN): string[] {
  const out: string[] = [];
  out.push(s.bold(`Polywire conformance: ${report.target}${report.client === undefined ? "" : ` with client ${report.client}`}`));
  out.push(`profile ${report.profile}, seed ${report.seed}, ${report.cases.length} cases in ${seconds(report.durationMs)}; granted: ${report.granted.join(" ") || "none"}`);
  out.push("");
  const rows: string[][] = [];
  for (const plane of report.planes) {
    const clauses = report.clauses.filter((c) => c.plane === plane.plane && c.level === "MUST");
    const areas = [...new Set(clauses.map((c) => areaOf(c.id)))];
    for (const area of areas) {
      const mine = clauses.filter((c) => areaOf(c.id) === area);
      const count = (f: (c: ClauseCoverage) => boolean): number => mine.filter(f).length;
      const failed = count((c) => c.status === "failed");
      const known = count((c) => c.status === "known-failing");
      const na = count((c) => c.status === "not-applicable");
      const uncovered = count((c) => c.status === "uncovered");
      rows.push([
        plane.title,
        area,
        String(mine.length),
        String(count((c) => c.status === "passed")),
        failed > 0 ? s.red(String(failed)) : "0",
        known > 0 ? s.yellow(String(known)) : "0",
        String(count((c) => c.status === "skipped" || c.status === "not-selected")),
        na > 0 ? s.dim(String(na)) : "0",
        uncovered > 0 ? s.yellow(String(uncovered)) : "0",
      ]);
    }
  }
  out.push(...table(["plane", "area", "MUST", "passed", "failed", "known", "skipped", "n/a", "uncovered"], rows));
  out.push("");
  const caseRows = report.planes.filter((p) => p.cases.total > 0).map((p) => [p.title, String(p.cases.total), String(p.cases.passed), p.cases.failed > 0 ? s.red(String(p.cases.failed)) : "0", String(p.cases.skipped)]);
  out.push(...table(["cases by plane", "total", "passed", "failed", "skipped/n-a"], caseRows));

  const failures = report.cases.filter((r) => r.status === "failed" || r.status === "fixed" || r.status === "known-failing");
  if (failures.length > 0) {
    out.push("");
    out.push(s.bold("Failures"));
    for (const r of failures) {
      out.push(`  ${statusWord(r, s)} ${r.name}${r.failure?.clause === undefined ? "" : ` (${r.failure.clause})`}`);
      if (r.failure !== undefined) out.push(`       ${r.failure.message}`);
      if (r.reason !== undefined) out.push(s.dim(`       ${r.reason}`));
      if (r.failure?.detail !== undefined && r.seed !== undefined) for (const line of r.failure.detail.split("\n").slice(0, 30)) out.push(s.dim(`         ${line}`));
      if (r.replay !== undefined) out.push(`       replay: ${r.replay}`);
    }
  }
  const must = report.clauses.filter((c) => c.level === "MUST");
  const uncovered = must.filter((c) => c.status === "uncovered");
  if (uncovered.length > 0) {
    out.push("");
    out.push(s.bold(`MUST clauses no case covers (${uncovered.length})`));
    for (const plane of report.planes) {
      const ids = uncovered.filter((c) => c.plane === plane.plane).map((c) => c.id);
      if (ids.length > 0) out.push(`  ${plane.title}: ${ids.join(" ")}`);
    }
  }
  const notApplicable = must.filter((c) => c.status === "not-applicable");
  if (notApplicable.length > 0) {
    out.push("");
    out.push(s.bold(`MUST clauses not applicable to this target (${notApplicable.length})`));
    const reasons = [...new Set(notApplicable.map((c) => c.reason ?? ""))];
    for (const reason of reasons) out.push(`  ${reason}: ${notApplicable.filter((c) => c.reason === reason).length} clauses (${[...new Set(notApplicable.filter((c) => c.reason === reason).map((c) => areaOf(c.id)))].join(", ")})`);
  }
  const c = report.coverage;
  out.push("");
  out.push(`MUST clauses: ${c.total} in the spec; ${c.checked} checked by this run, ${c.notImplemented} in planes the target does not implement, ${c.notObservable} not observable on a broker, ${c.notChecked} not checked (uncovered, skipped or not selected)`);
  const tally = (st: CaseResult["status"]): number => report.cases.filter((r) => r.status === st).length;
  const verdict = report.ok ? s.green("PASSED") : s.red("FAILED");
  out.push(`${verdict}: ${coverageHeadline(c)}`);
  out.push(`cases: ${tally("passed")} passed, ${tally("failed") + tally("fixed")} failed, ${tally("known-failing")} known failing, ${tally("flaky")} flaky, ${tally("skipped")} skipped, ${tally("not-applicable")} not applicable`);
  return out;
}
