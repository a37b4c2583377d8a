#!/usr/bin/env node
// Builds the clause index of the spec: spec/INDEX.md for people and
// spec/clauses.json for tools (the conformance suite counts coverage against
// it). The spec is the only source: the index is never edited by hand, and a
// test fails when the files on disk differ from what this script renders.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
export const SPEC_PATH = "spec/polywire-v1.md";
export const INDEX_PATH = "spec/INDEX.md";
export const JSON_PATH = "spec/clauses.json";

const CLAUSE_LINE = /^- \*\*(PW-([A-Z]+)-(\d{3}))\*\*: (.+)$/;
// Anything that looks like an attempt at a clause bullet, well-formed or not.
const CLAUSE_LIKE = /^\s*[-*]\s+\*\*PW-/;
// Any clause-id-shaped token in running text, including malformed ones.
const REFERENCE = /\bPW-[A-Za-z]*-?\d*\b/g;
const WELL_FORMED = /^PW-[A-Z]+-\d{3}$/;
const SUMMARY_MAX = 160;

/** Thrown with every problem found, so one run reports them all. */
export class SpecError extends Error {
  constructor(problems) {
    super(`spec clause errors:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

function levelOf(text) {
  if (/\bMUST\b/.test(text)) return "MUST";
  if (/\bSHOULD\b/.test(text)) return "SHOULD";
  if (/\bMAY\b/.test(text)) return "MAY";
  return undefined;
}

// The first sentence: up to a full stop followed by a space and a capital,
// a backtick or the end, so that "e.g." style dots inside words do not cut.
function summaryOf(text) {
  const match = /^(.+?\.)(?=\s+[A-Z`(]|$)/.exec(text);
  const sentence = (match ? match[1] : text).trim();
  return sentence.length <= SUMMARY_MAX ? sentence : `${sentence.slice(0, SUMMARY_MAX - 1).trimEnd()}…`;
}

/**
 * Parses the spec's Markdown into clauses. Returns { clauses, problems }:
 * problems lists malformed, duplicate, out-of-order, keyword-less clauses and
 * references to clauses that do not exist.
 */
export function parseSpec(markdown) {
  const lines = markdown.split("\n");
  const clauses = [];
  const problems = [];
  let section = "";
  let current;
  let inFence = false;
  // Lines whose clause references are checked once all ids are known.
  const prose = [];

  const finish = () => {
    if (!current) return;
    current.text = current.parts.join(" ").replace(/\s+/g, " ").trim();
    delete current.parts;
    clauses.push(current);
    current = undefined;
  };

  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (line.startsWith("```")) {
      finish();
      inFence = !inFence;
      return;
    }
    if (inFence) return;
    if (!CLAUSE_LIKE.test(line) || CLAUSE_LINE.test(line)) prose.push([lineNo, line]);
    if (/^#{2,3} \d/.test(line)) {
      finish();
      section = line.replace(/^#+ /, "");
      return;
    }
    const clause = CLAUSE_LINE.exec(line);
    if (clause) {
      finish();
      current = {
        id: clause[1],
        area: clause[2],
        number: Number(clause[3]),
        level: undefined,
        section,
        line: lineNo,
        summary: "",
        text: "",
        parts: [clause[4]],
      };
      return;
    }
    if (CLAUSE_LIKE.test(line)) {
      finish();
      problems.push(`line ${lineNo}: malformed clause bullet: ${line.slice(0, 80)}`);
      return;
    }
    if (current && /^\s{2,}\S/.test(line)) {
      current.parts.push(line.trim());
      return;
    }
    finish();
  });
  finish();

  const seen = new Map();
  const lastInArea = new Map();
  for (const clause of clauses) {
    clause.level = levelOf(clause.text);
    clause.summary = summaryOf(clause.text);
    if (!clause.level) problems.push(`${clause.id} (line ${clause.line}): no MUST, SHOULD or MAY`);
    if (seen.has(clause.id)) {
      problems.push(`${clause.id} (line ${clause.line}): duplicate of line ${seen.get(clause.id)}`);
    } else {
      seen.set(clause.id, clause.line);
    }
    const last = lastInArea.get(clause.area);
    if (last && clause.number <= last.number) {
      problems.push(`${clause.id} (line ${clause.line}): not after ${last.id} in numbering order`);
    }
    lastInArea.set(clause.area, clause);
  }

  for (const [lineNo, line] of prose) {
    for (const [ref] of line.matchAll(REFERENCE)) {
      if (!WELL_FORMED.test(ref)) problems.push(`line ${lineNo}: malformed clause reference ${ref}`);
      else if (!seen.has(ref)) problems.push(`line ${lineNo}: reference to unknown clause ${ref}`);
    }
  }
  return { clauses, problems };
}

/** Clause ids referenced in a clause's text, other than its own. */
function referencesOf(clause) {
  return [...new Set([...clause.text.matchAll(/PW-[A-Z]+-\d{3}/g)].map((m) => m[0]))].filter((id) => id !== clause.id);
}

export function renderJson(clauses) {
  const body = {
    source: SPEC_PATH,
    generatedBy: "scripts/spec-index.mjs (npm run generate)",
    count: clauses.length,
    clauses: clauses.map((c) => ({
      id: c.id,
      area: c.area,
      number: c.number,
      level: c.level,
      section: c.section,
      line: c.line,
      summary: c.summary,
      references: referencesOf(c),
      text: c.text,
    })),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export function renderIndex(clauses) {
  const out = [
    "<!-- @generated by scripts/spec-index.mjs (`npm run generate`) from spec/polywire-v1.md. DO NOT EDIT. -->",
    "# Polywire v1 clause index",
    "",
    `${clauses.length} clauses. Each links to its place in [polywire-v1.md](polywire-v1.md); the`,
    "machine-readable form is [clauses.json](clauses.json).",
    "",
    "| area | clauses | MUST | SHOULD | MAY |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  const areas = [...new Set(clauses.map((c) => c.area))];
  for (const area of areas) {
    const of = clauses.filter((c) => c.area === area);
    const count = (level) => of.filter((c) => c.level === level).length;
    out.push(`| ${area} | ${of.length} | ${count("MUST")} | ${count("SHOULD")} | ${count("MAY")} |`);
  }
  let section;
  for (const clause of clauses) {
    if (clause.section !== section) {
      section = clause.section;
      out.push("", `## ${section}`, "", "| clause | level | summary |", "| --- | --- | --- |");
    }
    const summary = clause.summary.replaceAll("|", "\\|");
    out.push(`| [${clause.id}](polywire-v1.md#L${clause.line}) | ${clause.level} | ${summary} |`);
  }
  return `${out.join("\n")}\n`;
}

/** Reads the spec and returns the rendered index files, or throws SpecError. */
export function buildIndex(specText = readFileSync(new URL(`../${SPEC_PATH}`, import.meta.url), "utf8")) {
  const { clauses, problems } = parseSpec(specText);
  if (problems.length > 0) throw new SpecError(problems);
  return { clauses, markdown: renderIndex(clauses), json: renderJson(clauses) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const { clauses, markdown, json } = buildIndex();
    writeFileSync(`${root}/${INDEX_PATH}`, markdown);
    writeFileSync(`${root}/${JSON_PATH}`, json);
    console.log(`spec index: ${clauses.length} clauses -> ${INDEX_PATH}, ${JSON_PATH}`);
  } catch (error) {
    console.error(error instanceof SpecError ? error.message : error);
    process.exit(1);
  }
}
