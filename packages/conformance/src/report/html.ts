import { areaOf } from "../runner/areas.js";
import type { CaseResult, ClauseCoverage, RunReport } from "../runner/results.js";
import { coverageHeadline } from "./summary.js";

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:78rem;padding:0 1rem;color:#1d2430}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #dde2ea;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef1f5;vertical-align:top}
th{background:#f6f8fb;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st{display:inline-block;min-width:5.5rem;padding:0 .4rem;border-radius:.25rem;font-size:12px;font-weight:600;text-align:center}
.passed,.flaky{background:#dff3e4;color:#1a6b32}.failed,.fixed{background:#fbe1e1;color:#9b1c1c}.known-failing{background:#fff1d6;color:#8a5a00}
.skipped,.not-applicable,.not-selected{background:#eef1f5;color:#5b6573}.uncovered{background:#fff1d6;color:#8a5a00}
.verdict{font-size:1.1rem;font-weight:700}.ok{color:#1a6b32}.bad{color:#9b1c1c}.coverage{font-weight:600}
pre{background:#f6f8fb;padding:.5rem;overflow:auto;font-size:12px;margin:.25rem 0;white-space:pre-wrap}
code{font-size:12px}.muted{color:#5b6573}.filters label{margin-right:1rem}details summary{cursor:pointer}
`;

const SCRIPT = `
document.querySelectorAll('[data-filter]').forEach(function(box){box.addEventListener('change',function(){
  var table=document.getElementById(box.dataset.filter);var shown={};
  document.querySelectorAll('[data-filter="'+box.dataset.filter+'"]').forEach(function(b){shown[b.value]=b.checked;});
  table.querySelectorAll('tbody tr').forEach(function(tr){tr.style.display=shown[tr.dataset.status]===false?'none':'';});
});});
`;

function status(s: string): string {
  return `<span class="st ${esc(s)}">${esc(s)}</span>`;
}

function filters(id: string, statuses: readonly string[]): string {
  return `<p class="filters">${statuses.map((s) => `<label><input type="checkbox" data-filter="${id}" value="${esc(s)}" checked> ${esc(s)}</label>`).join("")}</p>`;
}

function caseRow(r: CaseResult): string {
  const failure = r.failure === undefined ? "" : `<div><b>${esc(r.failure.clause ?? "no clause")}</b>: ${esc(r.failure.message)}</div>${r.failure.detail === undefined ? "" : `<details><summary>details</summary><pre>${esc(r.failure.detail)}</pre></details>`}`;
  const replay = r.replay === undefined ? "" : `<div>replay: <code>${esc(r.replay)}</code></div>`;
  const reason = r.reason === undefined ? "" : `<div class="muted">${esc(r.reason)}</div>`;
  const notes = r.notes.length === 0 ? "" : `<div class="muted">${r.notes.map(esc).join("<br>")}</div>`;
  return `<tr data-status="${esc(r.status)}"><td>${status(r.status)}</td><td><code>${esc(r.name)}</code><div class="muted">${esc(r.title)}</div>${failure}${replay}${reason}${notes}</td><td>${r.clauses.map((c) => `<code>${esc(c)}</code>`).join(" ")}</td><td class="n">${(r.durationMs / 1000).toFixed(2)} s</td></tr>`;
}

function clauseRow(c: ClauseCoverage): string {
  return `<tr data-status="${esc(c.status)}"><td><code>${esc(c.id)}</code></td><td>${esc(c.level)}</td><td>${status(c.status)}</td><td>${esc(c.summary)}${c.reason === undefined ? "" : `<div class="muted">${esc(c.reason)}</div>`}</td><td>${c.cases.map((id) => `<code>${esc(id)}</code>`).join("<br>")}</td></tr>`;
}

/** One self-contained HTML page (inline CSS and script, no external resources) with the whole report. */
export function toHtml(report: RunReport): string {
  const must = report.clauses.filter((c) => c.level === "MUST");
  const planeRows = report.planes.map((p) => `<tr><td>${esc(p.title)}</td><td>${p.implemented ? "yes" : "<span class=\"muted\">not implemented by target</span>"}</td><td class="n">${p.must}</td><td class="n">${p.covered}</td><td class="n">${p.passed}</td><td class="n">${p.failed}</td><td class="n">${p.notApplicable}</td><td class="n">${p.uncovered}</td><td class="n">${p.cases.passed}/${p.cases.total}</td></tr>`).join("");
  const areaRows = [...new Set(must.map((c) => areaOf(c.id)))].map((area) => {
    const mine = must.filter((c) => areaOf(c.id) === area);
    const n = (s: string): number => mine.filter((c) => c.status === s).length;
    return `<tr><td>${esc(area)}</td><td class="n">${mine.length}</td><td class="n">${n("passed")}</td><td class="n">${n("failed")}</td><td class="n">${n("known-failing")}</td><td class="n">${n("not-applicable")}</td><td class="n">${n("uncovered")}</td></tr>`;
  }).join("");
  const th = (names: readonly string[], numericFrom: number): string => names.map((n, i) => `<th${i >= numericFrom ? ' class="n"' : ""}>${esc(n)}</th>`).join("");
  const c = report.coverage;
  const unimplemented = report.planes.filter((p) => !p.implemented);
  const caseStatuses = [...new Set(report.cases.map((r) => r.status))];
  const clauseStatuses = [...new Set(report.clauses.map((c) => c.status))];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Polywire conformance: ${esc(report.target)}</title><style>${STYLE}</style></head><body>
<h1>Polywire conformance report</h1>
<p class="muted">${esc(report.target)}${report.client === undefined ? "" : ` · client ${esc(report.client)}`} · profile ${esc(report.profile)} · seed ${report.seed} · ${esc(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s · granted ${esc(report.granted.join(" ") || "none")}</p>
<p class="verdict ${report.ok ? "ok" : "bad"}">${report.ok ? "PASSED" : "FAILED"}: ${esc(coverageHeadline(c))}</p>
<p class="coverage">MUST clauses of the spec: ${c.total} · checked by this run: ${c.checked} (${c.percent}%) · in planes the target does not implement: ${c.notImplemented} · not observable on a broker: ${c.notObservable} · not checked: ${c.notChecked}</p>
${unimplemented.length === 0 ? "" : `<p>Planes the target does not implement (their MUST clauses are not checked): ${unimplemented.map((p) => `<b>${esc(p.title)}</b> (${p.must} MUST clauses)`).join(", ")}.</p>`}
<h2>Planes (MUST clauses)</h2>
<table><thead><tr>${th(["plane", "implemented", "MUST", "covered", "passed", "failed", "n/a", "uncovered", "cases passed"], 2)}</tr></thead><tbody>${planeRows}</tbody></table>
<h2>Clause areas (MUST clauses)</h2>
<table><thead><tr>${th(["area", "MUST", "passed", "failed", "known failing", "n/a", "uncovered"], 1)}</tr></thead><tbody>${areaRows}</tbody></table>
<h2>Cases (${report.cases.length})</h2>${filters("cases", caseStatuses)}
<table id="cases"><thead><tr>${th(["status", "case", "clauses", "time"], 3)}</tr></thead><tbody>${report.cases.map(caseRow).join("")}</tbody></table>
<h2>Every clause of the spec (${report.clauses.length})</h2>${filters("clauses", clauseStatuses)}
<table id="clauses"><thead><tr><th>clause</th><th>level</th><th>status</th><th>summary</th><th>cases</th></tr></thead><tbody>${report.clauses.map(clauseRow).join("")}</tbody></table>
<script>${SCRIPT}</script></body></html>
`;
}
