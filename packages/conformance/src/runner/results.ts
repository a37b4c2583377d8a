import type { PlaneId, Profile } from "./case.js";

/**
 * How a case ended:
 * - `passed`, `failed`;
 * - `known-failing`: failed, and the expectations list it;
 * - `fixed`: listed as known-failing but passed (fails the run: trim the list);
 * - `flaky`: failed once, passed on the retry, listed as known-flaky;
 * - `skipped`: the target cannot do what the case needs (restart, a variant, an admin URL, a client);
 * - `not-applicable`: the target does not grant the feature the case is about.
 */
export type CaseStatus = "passed" | "failed" | "known-failing" | "fixed" | "flaky" | "skipped" | "not-applicable";

/** One case's outcome. */
export interface CaseResult {
  readonly id: string;
  /** The id, with the seed for seeded cases: `log/model [seed=42]`. */
  readonly name: string;
  readonly title: string;
  readonly plane: PlaneId;
  readonly role: "broker" | "client";
  readonly clauses: readonly string[];
  readonly status: CaseStatus;
  readonly durationMs: number;
  readonly seed?: number;
  /** Why it failed: the broken clause when known, and the message. */
  readonly failure?: { readonly clause: string | undefined; readonly message: string; readonly detail?: string };
  /** The command line that replays a failed seeded case. */
  readonly replay?: string;
  /** Why it was skipped, not applicable, or expected to fail. */
  readonly reason?: string;
  readonly notes: readonly string[];
}

/** How a clause fared over the run. */
export type ClauseStatus =
  | "passed"
  | "failed"
  | "known-failing"
  | "skipped"
  | "not-applicable"
  | "uncovered"
  | "not-selected";

/** One clause's row of the coverage report. */
export interface ClauseCoverage {
  readonly id: string;
  readonly level: "MUST" | "SHOULD" | "MAY";
  readonly plane: PlaneId;
  readonly summary: string;
  readonly status: ClauseStatus;
  /** Ids of the cases that name the clause. */
  readonly cases: readonly string[];
  /** For not-applicable and skipped clauses. */
  readonly reason?: string;
}

/** Per-plane counts of MUST clauses. */
export interface PlaneSummary {
  readonly plane: PlaneId;
  readonly title: string;
  /** Whether the target implements the plane: it grants the plane's feature (a plane checked without its admin URL is still implemented). */
  readonly implemented: boolean;
  readonly must: number;
  readonly covered: number;
  readonly passed: number;
  readonly failed: number;
  readonly notApplicable: number;
  readonly uncovered: number;
  readonly cases: { readonly total: number; readonly passed: number; readonly failed: number; readonly skipped: number };
}

/**
 * The headline figure of a run: how many MUST clauses of the whole spec a
 * case of this run checked, and why the others were not checked.
 */
export interface MustCoverage {
  /** MUST clauses in the spec. */
  readonly total: number;
  /** Of them, the clauses a case of this run checked: passed, failed or known failing. */
  readonly checked: number;
  /** `checked` as a whole percentage of `total`, rounded down (100 only when every MUST clause was checked). */
  readonly percent: number;
  /** Not checked: their plane's feature is not granted, so the target does not implement them. */
  readonly notImplemented: number;
  /** Not checked: not observable on a broker (rules of the spec's own evolution, fsync after a power loss). */
  readonly notObservable: number;
  /** Not checked: the run could not (no admin URL, skipped cases), did not select them, or no case covers them. */
  readonly notChecked: number;
  /** Titles of the planes the target does not implement. */
  readonly unimplementedPlanes: readonly string[];
}

/** Everything a run produced; the JSON report is this object. */
export interface RunReport {
  readonly target: string;
  readonly client: string | undefined;
  readonly profile: Profile;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly seed: number;
  /** Features the target granted to the probe. */
  readonly granted: readonly string[];
  readonly cases: readonly CaseResult[];
  readonly clauses: readonly ClauseCoverage[];
  readonly planes: readonly PlaneSummary[];
  /** MUST clauses of the whole spec checked by this run (the report's headline). */
  readonly coverage: MustCoverage;
  /** True when nothing failed (known-failing and flaky cases allowed, fixed ones not). */
  readonly ok: boolean;
}

/** True for statuses that fail a run. */
export function failsRun(status: CaseStatus): boolean {
  return status === "failed" || status === "fixed";
}
