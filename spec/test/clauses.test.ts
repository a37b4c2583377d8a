import { readFileSync, readdirSync } from "node:fs";
import type { DescEnum, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM script without type declarations
import { INDEX_PATH, JSON_PATH, SPEC_PATH, buildIndex, parseSpec } from "../../scripts/spec-index.mjs";

interface Clause {
  id: string;
  area: string;
  number: number;
  level: string;
  section: string;
  summary: string;
  text: string;
}

const root = new URL("../../", import.meta.url);
const specText = readFileSync(new URL(SPEC_PATH, root), "utf8");
const parsed = parseSpec(specText) as { clauses: Clause[]; problems: string[] };

// Every message, enum and service of proto/polywire/v1, found through the
// protobuf-es descriptors so nested declarations are not missed.
async function protoNames(): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const protoFiles = readdirSync(new URL("proto/polywire/v1/", root)).filter((f) => f.endsWith(".proto"));
  const addMessage = (m: DescMessage, file: string) => {
    names.set(m.name, `message in ${file}`);
    m.nestedMessages.forEach((n) => addMessage(n, file));
    m.nestedEnums.forEach((e) => names.set(e.name, `enum in ${file}`));
  };
  for (const protoFile of protoFiles) {
    const stem = protoFile.replace(/\.proto$/, "");
    const mod = (await import(`@polywire/proto/${stem}`)) as Record<string, unknown>;
    const file = mod[`file_polywire_v1_${stem}`] as DescFile;
    file.messages.forEach((m: DescMessage) => addMessage(m, protoFile));
    file.enums.forEach((e: DescEnum) => names.set(e.name, `enum in ${protoFile}`));
    file.services.forEach((s: DescService) => names.set(s.name, `service in ${protoFile}`));
  }
  return names;
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`).test(text);
}

describe("spec clause index", () => {
  it("PW-COMPAT-010: every clause of the spec is well-formed, unique, in order, and has a key word", () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.clauses.length).toBeGreaterThan(200);
    for (const clause of parsed.clauses) {
      expect(clause.id).toMatch(/^PW-[A-Z]+-\d{3}$/);
      expect(["MUST", "SHOULD", "MAY"]).toContain(clause.level);
      expect(clause.summary.length).toBeGreaterThan(0);
    }
  });

  it("PW-COMPAT-010: every message, enum and service of proto/ is named by at least one clause", async () => {
    const names = await protoNames();
    expect(names.size).toBeGreaterThan(100);
    const uncovered = [...names].filter(([name]) => !parsed.clauses.some((c) => mentions(c.text, name)));
    expect(uncovered.map(([name, where]) => `${name} (${where})`)).toEqual([]);
  });

  it("PW-ERR-001: the error code table of §12 has one row per ErrorCode, with its number, and no other", async () => {
    const { ErrorCodeSchema } = await import("@polywire/proto/session");
    const section = specText.slice(specText.indexOf("## 12. Error codes"), specText.indexOf("## 13."));
    const rows = [...section.matchAll(/^\| (\d+) \| (ERROR_CODE_[A-Z_]+) \| .+ \| (yes|no) \| .+ \|$/gm)].map((m) => `${m[1]} ${m[2]}`);
    const codes = ErrorCodeSchema.values.filter((v) => v.number !== 0).map((v) => `${v.number} ${v.name}`);
    expect(rows).toEqual(codes);
  });

  it("PW-ERR-002: the codes marked retriable in §12 are exactly those PW-SESS-013 lists", () => {
    const section = specText.slice(specText.indexOf("## 12. Error codes"), specText.indexOf("## 13."));
    const retriable = [...section.matchAll(/^\| \d+ \| (ERROR_CODE_[A-Z_]+) \| .+ \| yes \| .+ \|$/gm)].map((m) => m[1]).sort();
    const sess013 = parsed.clauses.find((c) => c.id === "PW-SESS-013")!;
    expect([...sess013.text.matchAll(/ERROR_CODE_[A-Z_]+/g)].map((m) => m[0]).sort()).toEqual(retriable);
  });

  it("PW-COMPAT-010: spec/INDEX.md and spec/clauses.json are what `npm run generate` renders from the spec", () => {
    const { markdown, json } = buildIndex(specText);
    expect(readFileSync(new URL(INDEX_PATH, root), "utf8")).toBe(markdown);
    expect(readFileSync(new URL(JSON_PATH, root), "utf8")).toBe(json);
    const onDisk = JSON.parse(readFileSync(new URL(JSON_PATH, root), "utf8"));
    expect(onDisk.clauses.map((c: Clause) => c.id)).toEqual(parsed.clauses.map((c) => c.id));
  });
});

describe("spec clause checker", () => {
  const spec = (...bullets: string[]) => `## 1. Test\n\n${bullets.join("\n")}\n`;

  it("PW-COMPAT-010: the checker reports a duplicated clause id", () => {
    const { problems } = parseSpec(spec("- **PW-X-001**: A MUST b.", "- **PW-X-001**: C MUST d."));
    expect(problems).toContain("PW-X-001 (line 4): duplicate of line 3");
  });

  it("PW-COMPAT-010: the checker reports numbering that does not increase within an area", () => {
    const { problems } = parseSpec(spec("- **PW-X-002**: A MUST b.", "- **PW-Y-001**: A MAY b.", "- **PW-X-002**: C MUST d.", "- **PW-X-001**: C MUST d."));
    expect(problems.filter((p: string) => p.includes("numbering order"))).toHaveLength(2);
  });

  it("PW-COMPAT-010: the checker reports malformed clause bullets and references", () => {
    const { problems } = parseSpec(spec("- **PW-X-01**: A MUST b.", "- **PW-X-002**: A MUST see PW-x-3 and PW-X-009."));
    expect(problems).toEqual([
      expect.stringContaining("malformed clause bullet"),
      expect.stringContaining("malformed clause reference PW-x-3"),
      expect.stringContaining("reference to unknown clause PW-X-009"),
    ]);
  });

  it("PW-COMPAT-010: the checker reports a clause with no MUST, SHOULD or MAY, and reads the strongest key word", () => {
    const { clauses, problems } = parseSpec(spec("- **PW-X-001**: A is b.", "- **PW-X-002**: A MAY b and SHOULD c.", "- **PW-X-003**: A SHOULD b,", "  and MUST NOT c."));
    expect(problems).toEqual([expect.stringContaining("PW-X-001 (line 3): no MUST, SHOULD or MAY")]);
    expect(clauses.map((c: Clause) => c.level)).toEqual([undefined, "SHOULD", "MUST"]);
    expect(clauses[2].text).toBe("A SHOULD b, and MUST NOT c.");
  });

  it("PW-COMPAT-010: the checker ignores clause-like text inside code fences", () => {
    const { clauses, problems } = parseSpec(spec("```", "- **PW-X-1**: not a clause", "```", "- **PW-X-001**: A MUST b."));
    expect(problems).toEqual([]);
    expect(clauses.map((c: Clause) => c.id)).toEqual(["PW-X-001"]);
  });
});
