import type { RunReport } from "../runner/results.js";

function escape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    // XML 1.0 cannot carry most control characters, even escaped.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "\ufffd");
}

/**
 * JUnit XML: one `<testsuite>` per plane, one `<testcase>` per case (named
 * with its seed when seeded), `<failure>` for failed, fixed and — marked in
 * the message — known-failing cases only when they are unexpected; skipped
 * and not-applicable cases as `<skipped>` with the reason.
 */
export function toJUnit(report: RunReport): string {
  const planes = [...new Set(report.cases.map((r) => r.plane))];
  const suites = planes.map((plane) => {
    const cases = report.cases.filter((r) => r.plane === plane);
    const failures = cases.filter((r) => r.status === "failed" || r.status === "fixed").length;
    const skipped = cases.filter((r) => r.status === "skipped" || r.status === "not-applicable" || r.status === "known-failing").length;
    const time = cases.reduce((t, r) => t + r.durationMs, 0) / 1000;
    const body = cases.map((r) => {
      const head = `    <testcase classname="polywire.conformance.${escape(plane)}" name="${escape(r.name)}" time="${(r.durationMs / 1000).toFixed(3)}">`;
      const properties = `      <properties><property name="clauses" value="${escape(r.clauses.join(" "))}"/>${r.seed === undefined ? "" : `<property name="seed" value="${r.seed}"/>`}</properties>`;
      let inner = "";
      if (r.status === "failed" || r.status === "fixed") {
        const message = r.status === "fixed" ? (r.reason ?? "") : `${r.failure?.clause ?? ""} ${r.failure?.message ?? ""}`.trim();
        const detail = [r.failure?.detail, r.replay === undefined ? undefined : `replay: ${r.replay}`].filter((x) => x !== undefined).join("\n");
        inner = `      <failure message="${escape(message)}" type="${r.status === "fixed" ? "KnownFailingNowPasses" : "ClauseViolation"}">${escape(detail)}</failure>`;
      } else if (r.status === "skipped" || r.status === "not-applicable" || r.status === "known-failing") {
        inner = `      <skipped message="${escape(`${r.status}: ${r.reason ?? r.failure?.message ?? ""}`)}"/>`;
      }
      const notes = r.notes.length === 0 ? "" : `      <system-out>${escape(r.notes.join("\n"))}</system-out>`;
      return [head, properties, inner, notes, "    </testcase>"].filter((l) => l !== "").join("\n");
    });
    return `  <testsuite name="polywire conformance: ${escape(plane)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${escape(report.startedAt)}">\n${body.join("\n")}\n  </testsuite>`;
  });
  const total = report.cases.length;
  const failed = report.cases.filter((r) => r.status === "failed" || r.status === "fixed").length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="polywire conformance: ${escape(report.target)}" tests="${total}" failures="${failed}" time="${(report.durationMs / 1000).toFixed(3)}">\n${suites.join("\n")}\n</testsuites>\n`;
}
