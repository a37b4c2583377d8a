/**
 * Proof that the suite catches bugs: runs the quick profile against the
 * reference broker (it must pass) and against every mutant (each must fail
 * on a clause it breaks), prints a table, and exits non-zero otherwise.
 *
 *   npm run conformance:mutants -w @polywire/conformance [-- <mutant name> ...]
 */
import { runEmbeddedSuite } from "../src/embedded/embedded-suite.js";
import { formatSummary, table } from "../src/report/summary.js";
import { failsRun } from "../src/runner/results.js";
import { checkMutant } from "./check.js";
import { MUTANTS } from "./index.js";

const names = process.argv.slice(2);
const chosen = names.length === 0 ? MUTANTS : MUTANTS.filter((m) => names.includes(m.name));
if (chosen.length === 0) {
  process.stderr.write(`no mutant named ${names.join(", ")}; mutants: ${MUTANTS.map((m) => m.name).join(", ")}\n`);
  process.exit(2);
}
let ok = true;
const rows: string[][] = [];
if (names.length === 0) {
  const started = performance.now();
  const { report } = await runEmbeddedSuite({ client: "none", profile: "quick", out: null });
  const failed = report.cases.filter((r) => failsRun(r.status));
  if (!report.ok) {
    ok = false;
    for (const line of formatSummary(report)) process.stdout.write(`${line}\n`);
  }
  rows.push(["reference broker", "must pass", report.ok ? "passed" : `FAILED (${failed.map((r) => r.id).join(", ")})`, "", `${((performance.now() - started) / 1000).toFixed(1)} s`]);
}
for (const mutant of chosen) {
  const started = performance.now();
  const verdict = await checkMutant(mutant);
  if (!verdict.caught) ok = false;
  const took = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  rows.push([
    mutant.name,
    mutant.breaks.join(" "),
    verdict.caught ? "caught" : verdict.failures.length > 0 ? `failed elsewhere: ${verdict.failures.map((r) => `${r.id} (${r.failure?.clause ?? "?"})`).join(", ")}` : "NOT CAUGHT",
    verdict.by === undefined ? "" : `${verdict.by.name} on ${verdict.by.failure?.clause}`,
    took,
  ]);
  process.stdout.write(`${mutant.name}: ${verdict.caught ? `caught by ${verdict.by?.name} (${verdict.by?.failure?.clause}): ${verdict.by?.failure?.message}` : "NOT CAUGHT"}\n`);
}
process.stdout.write("\n");
for (const line of table(["target", "breaks", "verdict", "caught by", "time"], rows)) process.stdout.write(`${line}\n`);
process.exit(ok ? 0 : 1);
