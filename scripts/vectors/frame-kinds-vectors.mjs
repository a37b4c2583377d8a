// frame-kinds.json: the table of spec §3.5 (every FrameKind, its message,
// which end sends it, the kind that answers it and its features), read from
// spec/polywire-v1.md so that the spec stays the only source, and checked
// against proto/: every FrameKind value exactly once, with the message of its
// name and Feature values that exist (PW-SESS-021).
import { readFileSync } from "node:fs";
import { registry } from "./messages.mjs";

const SPEC = new URL("../../spec/polywire-v1.md", import.meta.url);
const HEADING = "### 3.5 Frame kinds and features";
const COLUMNS = ["value", "FrameKind", "message", "sent by", "answered by", "features"];
const SENDERS = new Set(["client", "broker", "both"]);
const NONE = "—";

function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

/** The rows of the table under HEADING, as arrays of cells. */
function tableRows(markdown) {
  const lines = markdown.split("\n");
  const start = lines.indexOf(HEADING);
  if (start < 0) throw new Error(`spec: no heading "${HEADING}"`);
  const header = lines.findIndex((l, i) => i > start && l.startsWith("|"));
  const got = cells(lines[header]);
  if (got.join("/") !== COLUMNS.join("/")) throw new Error(`spec §3.5 table: columns ${got.join(", ")}, expected ${COLUMNS.join(", ")}`);
  const rows = [];
  for (let i = header + 2; i < lines.length && lines[i].startsWith("|"); i++) rows.push(cells(lines[i]));
  return rows;
}

export function frameKindVectors() {
  const kinds = registry.getEnum("polywire.v1.FrameKind");
  const features = registry.getEnum("polywire.v1.Feature");
  const kindByName = new Map(kinds.values.map((v) => [v.name, v.number]));
  const featureByName = new Map(features.values.map((v) => [v.name, v.number]));
  const rows = tableRows(readFileSync(SPEC, "utf8"));
  const seen = new Set();
  const out = rows.map((row) => {
    const [value, name, message, sentBy, answer, featureCell] = row;
    const number = Number(value);
    if (kindByName.get(name) !== number) throw new Error(`spec §3.5: ${name} is ${kindByName.get(name)} in proto/, the table says ${value}`);
    if (seen.has(number)) throw new Error(`spec §3.5: ${name} listed twice`);
    seen.add(number);
    if (registry.getMessage(`polywire.v1.${message}`) === undefined) throw new Error(`spec §3.5: ${name}: no message polywire.v1.${message}`);
    if (!SENDERS.has(sentBy)) throw new Error(`spec §3.5: ${name}: "sent by" must be client, broker or both, not ${sentBy}`);
    if (answer !== NONE && !kindByName.has(answer)) throw new Error(`spec §3.5: ${name}: answered by unknown kind ${answer}`);
    const featureNames = featureCell === NONE ? [] : featureCell.split(",").map((f) => f.trim());
    for (const f of featureNames) if (!featureByName.has(f) || f === "FEATURE_UNSPECIFIED") throw new Error(`spec §3.5: ${name}: unknown feature ${f}`);
    return {
      value: number,
      name,
      message: `polywire.v1.${message}`,
      sentBy,
      answeredBy: answer === NONE ? null : answer,
      features: featureNames,
    };
  });
  const missing = kinds.values.filter((v) => v.number !== 0 && !seen.has(v.number)).map((v) => v.name);
  if (missing.length > 0) throw new Error(`spec §3.5: FrameKind values missing from the table: ${missing.join(", ")}`);
  return {
    description:
      "The frame kinds of spec §3.5 (PW-SESS-021), generated from its table: `value` and `name` of each FrameKind, the `message` its frame carries, who sends it (`sentBy`: client, broker or both), the kind that answers it when it is a request (`answeredBy`, besides an Error in place of the answer, PW-SESS-012), and the `features` it belongs to, all of which must be granted on the connection (PW-SESS-006). `features` lists every Feature of v1 with the kinds that belong to it.",
    clauses: ["PW-SESS-021", "PW-SESS-006", "PW-SESS-005"],
    kinds: out,
    features: features.values
      .filter((f) => f.number !== 0)
      .map((f) => ({ value: f.number, name: f.name, kinds: out.filter((k) => k.features.includes(f.name)).map((k) => k.name) })),
  };
}
