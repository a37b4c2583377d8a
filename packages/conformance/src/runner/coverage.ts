import { Feature } from "@polywire/proto/session";
import { areaInfo, NOT_OBSERVABLE_CLAUSES, PLANE_TITLES, SPEC_PROCESS_CLAUSES } from "./areas.js";
import type { ConformanceCase, PlaneId } from "./case.js";
import type { Clause } from "./clauses.js";
import type { CaseResult, ClauseCoverage, ClauseStatus, MustCoverage, PlaneSummary } from "./results.js";

/** What the coverage report needs to know about the run. */
export interface CoverageInput {
  readonly clauses: readonly Clause[];
  /** Every case of the suite (selected or not). */
  readonly cases: readonly ConformanceCase[];
  readonly results: readonly CaseResult[];
  readonly granted: ReadonlySet<Feature>;
  readonly hasAdmin: boolean;
}

/** How the reason of a clause whose plane the target does not implement starts. */
const NOT_IMPLEMENTED = "plane not implemented by target";

/** True when the target does not grant the feature the clause's plane needs. */
function unimplemented(clause: string, granted: ReadonlySet<Feature>): boolean {
  const feature = areaInfo(clause).feature;
  return feature !== undefined && !granted.has(feature);
}

function applicability(clause: string, granted: ReadonlySet<Feature>, hasAdmin: boolean): string | undefined {
  if (SPEC_PROCESS_CLAUSES.has(clause)) return "a rule for the protocol's own evolution, checked by buf lint/breaking and spec/test";
  const unobservable = NOT_OBSERVABLE_CLAUSES.get(clause);
  if (unobservable !== undefined) return unobservable;
  const info = areaInfo(clause);
  if (info.feature !== undefined && !granted.has(info.feature)) return `${NOT_IMPLEMENTED}: FEATURE_${Feature[info.feature]} not granted`;
  if (info.admin === true && !hasAdmin) return "no admin URL given (--admin)";
  return undefined;
}

/** What one case says about a clause it names; `failed-elsewhere`: it failed on another clause first. */
type Verdict = "passed" | "failed" | "failed-elsewhere" | "known-failing" | "skipped" | "not-applicable";

function verdict(result: CaseResult, clause: string): Verdict {
  switch (result.status) {
    case "passed":
    case "flaky":
      return "passed";
    case "failed":
    case "fixed":
      // A case that failed on another clause did not finish checking this one.
      return result.failure?.clause === undefined || result.failure.clause === clause ? "failed" : "failed-elsewhere";
    case "known-failing":
      return "known-failing";
    case "skipped":
      return "skipped";
    case "not-applicable":
      return "not-applicable";
  }
}

/**
 * One row per clause of the spec: which cases name it and how they fared,
 * or why nothing checked it (uncovered, not applicable to this target).
 */
export function clauseCoverage(input: CoverageInput): ClauseCoverage[] {
  const resultsById = new Map<string, CaseResult[]>();
  for (const r of input.results) resultsById.set(r.id, [...(resultsById.get(r.id) ?? []), r]);
  const violated = new Map<string, CaseResult[]>();
  for (const r of input.results) {
    const clause = r.failure?.clause;
    if (clause !== undefined && (r.status === "failed" || r.status === "fixed")) violated.set(clause, [...(violated.get(clause) ?? []), r]);
  }
  return input.clauses.map((clause): ClauseCoverage => {
    const info = areaInfo(clause.id);
    const naming = input.cases.filter((c) => c.clauses.includes(clause.id)).map((c) => c.id);
    const base = { id: clause.id, level: clause.level, plane: info.plane, summary: clause.summary, cases: naming };
    const notApplicable = applicability(clause.id, input.granted, input.hasAdmin);
    if (violated.has(clause.id)) return { ...base, status: "failed", cases: [...new Set([...naming, ...(violated.get(clause.id) ?? []).map((r) => r.id)])] };
    if (notApplicable !== undefined) return { ...base, status: "not-applicable", reason: notApplicable };
    if (naming.length === 0) return { ...base, status: "uncovered" };
    const verdicts = naming.flatMap((id) => (resultsById.get(id) ?? []).map((r) => [r, verdict(r, clause.id)] as const));
    if (verdicts.length === 0) return { ...base, status: "not-selected" };
    const has = (s: Verdict): boolean => verdicts.some(([, v]) => v === s);
    if (has("failed")) return { ...base, status: "failed" };
    if (has("known-failing")) return { ...base, status: "known-failing" };
    if (has("passed")) return { ...base, status: "passed" };
    if (has("failed-elsewhere")) {
      const blockers = verdicts.filter(([, v]) => v === "failed-elsewhere").map(([r]) => `${r.id} failed on ${r.failure?.clause ?? "?"}`);
      return { ...base, status: "failed", reason: `not verified: ${blockers.join("; ")}` };
    }
    const reasons = [...new Set(verdicts.map(([r]) => r.reason).filter((x): x is string => x !== undefined))];
    if (has("skipped")) return { ...base, status: "skipped", reason: reasons.join("; ") };
    return { ...base, status: "not-applicable", reason: reasons.join("; ") };
  });
}

/** MUST-clause and case counts per plane, in report order. */
export function planeSummaries(coverage: readonly ClauseCoverage[], results: readonly CaseResult[], granted: ReadonlySet<Feature>, hasAdmin: boolean): PlaneSummary[] {
  return (Object.keys(PLANE_TITLES) as PlaneId[]).map((plane) => {
    const must = coverage.filter((c) => c.plane === plane && c.level === "MUST");
    const count = (s: ClauseStatus): number => must.filter((c) => c.status === s).length;
    const cases = results.filter((r) => r.plane === plane);
    // Implemented means the feature is granted: an admin plane run without its URL is unchecked, not unimplemented.
    const implemented = must.length === 0 || must.some((c) => !unimplemented(c.id, granted) && !SPEC_PROCESS_CLAUSES.has(c.id) && !NOT_OBSERVABLE_CLAUSES.has(c.id));
    return {
      plane,
      title: PLANE_TITLES[plane],
      implemented,
      must: must.length,
      covered: must.filter((c) => c.status !== "uncovered" && c.status !== "not-applicable" && c.status !== "not-selected").length,
      passed: count("passed"),
      failed: count("failed") + count("known-failing"),
      notApplicable: count("not-applicable"),
      uncovered: count("uncovered"),
      cases: {
        total: cases.length,
        passed: cases.filter((r) => r.status === "passed" || r.status === "flaky").length,
        failed: cases.filter((r) => r.status === "failed" || r.status === "fixed" || r.status === "known-failing").length,
        skipped: cases.filter((r) => r.status === "skipped" || r.status === "not-applicable").length,
      },
    };
  });
}

/** The headline of a run: MUST clauses of the whole spec it checked, and why the rest were not. */
export function mustCoverage(coverage: readonly ClauseCoverage[], planes: readonly PlaneSummary[]): MustCoverage {
  const must = coverage.filter((c) => c.level === "MUST");
  const checked = must.filter((c) => c.status === "passed" || c.status === "failed" || c.status === "known-failing").length;
  const notImplemented = must.filter((c) => c.status === "not-applicable" && c.reason?.startsWith(NOT_IMPLEMENTED) === true).length;
  const notObservable = must.filter((c) => SPEC_PROCESS_CLAUSES.has(c.id) || NOT_OBSERVABLE_CLAUSES.has(c.id)).length;
  return {
    total: must.length,
    checked,
    percent: must.length === 0 ? 100 : Math.floor((100 * checked) / must.length),
    notImplemented,
    notObservable,
    notChecked: must.length - checked - notImplemented - notObservable,
    unimplementedPlanes: planes.filter((p) => !p.implemented).map((p) => p.title),
  };
}
