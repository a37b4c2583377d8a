import { readFileSync } from "node:fs";

/** One entry of an expectations file: a glob over case ids and clause ids, and why. */
export interface Expectation {
  readonly pattern: string;
  readonly reason: string;
}

/**
 * What is known about an implementation, checked in beside it
 * (`conformance/expectations/<implementation>.json`):
 *
 * - `knownFailing`: cases (or clauses) that fail today. They may fail
 *   without failing the run; one that passes fails the run, so the list is
 *   trimmed as bugs get fixed.
 * - `knownFlaky`: cases that sometimes fail for reasons outside the broker
 *   (timing on a loaded machine). A failure is retried once, and a case that
 *   then passes is reported flaky.
 */
export interface Expectations {
  readonly knownFailing: readonly Expectation[];
  readonly knownFlaky: readonly Expectation[];
}

/** No expectations. */
export const NO_EXPECTATIONS: Expectations = { knownFailing: [], knownFlaky: [] };

/** Turns a glob (`*` any run of characters, `?` one) into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

/** True when any of `globs` matches any of `names`. */
export function matchesAny(globs: readonly string[], names: readonly string[]): boolean {
  return globs.some((g) => {
    const re = globToRegExp(g);
    return names.some((n) => re.test(n));
  });
}

function entries(value: unknown, file: string, key: string): Expectation[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${file}: ${key} must be a list`);
  return value.map((item, i) => {
    if (typeof item === "string") return { pattern: item, reason: "" };
    if (typeof item === "object" && item !== null && typeof (item as Expectation).pattern === "string") {
      return { pattern: (item as Expectation).pattern, reason: String((item as Expectation).reason ?? "") };
    }
    throw new TypeError(`${file}: ${key}[${i}] must be a glob string or { "pattern": ..., "reason": ... }`);
  });
}

/** Reads an expectations file. */
export function loadExpectations(file: string): Expectations {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new TypeError(`cannot read expectations ${file}: ${(error as Error).message}`);
  }
  const record = parsed as Record<string, unknown>;
  return { knownFailing: entries(record.knownFailing, file, "knownFailing"), knownFlaky: entries(record.knownFlaky, file, "knownFlaky") };
}

/** The first expectation matching the case id or one of the clause ids, if any. */
export function findExpectation(list: readonly Expectation[], names: readonly string[]): Expectation | undefined {
  return list.find((e) => matchesAny([e.pattern], names));
}
