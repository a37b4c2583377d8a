import { REFERENCE_EXPECTATIONS, runEmbeddedSuite } from "../src/embedded/embedded-suite.js";
import type { Mutant } from "../src/embedded/implementation.js";
import { failsRun, type CaseResult, type RunReport } from "../src/runner/results.js";

/** How the quick profile fared against one mutant. */
export interface MutantVerdict {
  readonly mutant: Mutant;
  /** True when a case failed on one of the clauses the mutant breaks. */
  readonly caught: boolean;
  /** The first failure on a declared clause. */
  readonly by: CaseResult | undefined;
  /** Every failure, declared clause or not. */
  readonly failures: readonly CaseResult[];
  readonly report: RunReport;
}

function onDeclaredClause(mutant: Mutant, result: CaseResult): boolean {
  return failsRun(result.status) && result.failure?.clause !== undefined && mutant.breaks.includes(result.failure.clause);
}

/**
 * Runs the quick profile of the broker suite against `mutant` (embedded,
 * with the reference broker's expectations, since a mutant is the reference
 * plus one bug) until a case fails on one of the clauses it breaks.
 */
export async function checkMutant(mutant: Mutant, options: { seed?: number } = {}): Promise<MutantVerdict> {
  const { report } = await runEmbeddedSuite({
    implementation: mutant.implementation,
    client: "none",
    profile: "quick",
    out: null,
    expectations: REFERENCE_EXPECTATIONS,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    bail: (result) => onDeclaredClause(mutant, result),
  });
  const failures = report.cases.filter((r) => failsRun(r.status));
  const by = failures.find((r) => onDeclaredClause(mutant, r));
  return { mutant, caught: by !== undefined, by, failures, report };
}
