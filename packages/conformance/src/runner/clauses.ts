import { readFileSync } from "node:fs";

/** One clause of `spec/clauses.json`. */
export interface Clause {
  readonly id: string;
  readonly area: string;
  readonly level: "MUST" | "SHOULD" | "MAY";
  readonly section: string;
  readonly summary: string;
}

// spec/ is at the repository root, four levels above this file whether it runs from src/runner/ or dist/runner/.
const CLAUSES_URL = new URL("../../../../spec/clauses.json", import.meta.url);

/** Every clause of the spec, in document order, from the generated index. */
export function loadClauses(url: URL = CLAUSES_URL): Clause[] {
  const parsed = JSON.parse(readFileSync(url, "utf8")) as { clauses: Clause[] };
  return parsed.clauses.map(({ id, area, level, section, summary }) => ({ id, area, level, section, summary }));
}
