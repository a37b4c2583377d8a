import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePattern, patternMatches, subjectTokens } from "../../src/pubsub/index.js";
import { SubjectIndex, type Indexed } from "../../src/pubsub/subject-index.js";
import { pattern, referenceMatches, subject } from "./reference.js";

interface Entry extends Indexed {
  readonly name: string;
}

let serial = 0;
function entry(text: string, queueGroup = ""): Entry {
  return { name: `s${++serial}`, pattern: parsePattern(text), queueGroup };
}

/** What the index says `subject` matches, as sorted names (plain ones, and each group's members). */
function matched(index: SubjectIndex<Entry>, subject: string): string[] {
  const m = index.match(subject);
  // A group that lost its last member is no longer a match.
  for (const g of m.groups) expect(g.size).toBeGreaterThan(0);
  return [...m.plain.map((e) => e.name), ...m.groups.flatMap((g) => g.members().map((e) => e.name))].sort();
}

function expected(entries: Iterable<Entry>, subject: string): string[] {
  return [...entries].filter((e) => referenceMatches(e.pattern.text, subject)).map((e) => e.name).sort();
}

describe("the subject index (§9.1, §9.2)", () => {
  it("PW-PUBSUB-002: patternMatches agrees with a regular-expression matcher", () => {
    fc.assert(fc.property(pattern, subject, (p, s) => {
      expect(patternMatches(parsePattern(p).tokens, subjectTokens(s))).toBe(referenceMatches(p, s));
    }), { numRuns: 10_000 });
  });

  it("PW-PUBSUB-002 PW-PUBSUB-003 PW-PUBSUB-013: the trie matches exactly what a regular-expression matcher matches", () => {
    fc.assert(fc.property(fc.array(pattern, { maxLength: 30 }), fc.array(subject, { minLength: 1, maxLength: 20 }), (patterns, subjects) => {
      const index = new SubjectIndex<Entry>();
      const entries = patterns.map((p) => entry(p));
      for (const e of entries) index.add(e);
      for (const s of subjects) expect(matched(index, s), s).toEqual(expected(entries, s));
    }), { numRuns: 1000 });
  });

  it("PW-PUBSUB-013: the cache never serves a stale answer, under random adds, removes and matches", () => {
    // Each run draws a few subjects and patterns and reuses them, so that
    // a pattern often matches a subject already cached (a subject is also
    // used as a literal pattern): that is when a stale entry would show.
    type Op = { op: "add"; pattern: number; literal: boolean; group: string } | { op: "remove"; which: number } | { op: "match"; subject: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("add" as const), pattern: fc.nat(), literal: fc.boolean(), group: fc.constantFrom("", "", "q1", "q2") }),
      fc.record({ op: fc.constant("remove" as const), which: fc.nat() }),
      fc.record({ op: fc.constant("match" as const), subject: fc.nat() }),
      fc.record({ op: fc.constant("match" as const), subject: fc.nat() }),
    );
    const pools = fc.tuple(fc.array(subject.filter((s) => !s.startsWith("$")), { minLength: 1, maxLength: 6 }), fc.array(pattern, { minLength: 1, maxLength: 6 }));
    fc.assert(fc.property(pools, fc.array(op, { maxLength: 120 }), fc.constantFrom(0, 3, 1024), ([subjects, patterns], ops, cacheSize) => {
      const index = new SubjectIndex<Entry>({ cacheSize });
      const live: Entry[] = [];
      for (const o of ops) {
        if (o.op === "add") {
          const pool = o.literal ? subjects : patterns;
          const e = entry(pool[o.pattern % pool.length] as string, o.group);
          index.add(e);
          live.push(e);
        } else if (o.op === "remove") {
          if (live.length === 0) continue;
          const [e] = live.splice(o.which % live.length, 1);
          expect(index.remove(e as Entry)).toBe(true);
          expect(index.remove(e as Entry)).toBe(false);
        } else {
          const s = subjects[o.subject % subjects.length] as string;
          expect(matched(index, s), s).toEqual(expected(live, s));
        }
        expect(index.size).toBe(live.length);
        expect(index.cached).toBeLessThanOrEqual(cacheSize);
      }
    }), { numRuns: 500 });
  });

  it("PW-PUBSUB-002: the mutant cases by name: foo.> does not match foo, * does not match two tokens", () => {
    const index = new SubjectIndex<Entry>();
    const rest = entry("foo.>");
    const star = entry("foo.*");
    const all = entry(">");
    for (const e of [rest, star, all]) index.add(e);
    expect(matched(index, "foo")).toEqual([all.name]);
    expect(matched(index, "foo.bar")).toEqual([rest.name, star.name, all.name].sort());
    expect(matched(index, "foo.bar.baz")).toEqual([rest.name, all.name].sort());
  });

  it("PW-PUBSUB-003: a wildcard in the first position does not match a reserved subject; a literal $ pattern would", () => {
    const index = new SubjectIndex<Entry>();
    const wild = [entry(">"), entry("*.x"), entry("*.>")];
    for (const e of wild) index.add(e);
    // Patterns starting with `$` are refused at subscribe; the index itself can still hold one.
    const literal: Entry = { name: "lit", pattern: { text: "$sys.x", tokens: ["$sys", "x"], wildcard: false }, queueGroup: "" };
    index.add(literal);
    expect(matched(index, "$sys.x")).toEqual(["lit"]);
    expect(matched(index, "sys.x")).toEqual(wild.map((e) => e.name).sort());
  });

  it("PW-PUBSUB-012: the same queue group name on different patterns makes different groups", () => {
    const index = new SubjectIndex<Entry>();
    const a = entry("orders.*", "workers");
    const b = entry("orders.*", "workers");
    const c = entry("orders.eu", "workers");
    const d = entry("orders.>", "workers");
    for (const e of [a, b, c, d]) index.add(e);
    const m = index.match("orders.eu");
    expect(m.plain).toEqual([]);
    expect(m.groups.map((g) => g.members().map((e) => e.name).sort()).sort()).toEqual([[a.name, b.name].sort(), [c.name], [d.name]].sort());
  });

  it("PW-PUBSUB-013: removing every subscription leaves an empty trie (no node survives churn)", () => {
    fc.assert(fc.property(fc.array(pattern, { minLength: 1, maxLength: 40 }), (patterns) => {
      const index = new SubjectIndex<Entry>({ cacheSize: 0 });
      const entries = patterns.map((p, i) => entry(p, i % 3 === 0 ? "q" : ""));
      for (const e of entries) index.add(e);
      for (const e of entries) expect(index.remove(e)).toBe(true);
      expect(index.size).toBe(0);
      // The root has no children left: adding one pattern back matches only it.
      const again = entry("a.b");
      index.add(again);
      expect(matched(index, "a.b")).toEqual([again.name]);
    }), { numRuns: 300 });
  });

  it("a subject is cached on its second match, so one-off subjects never evict hot ones", () => {
    const index = new SubjectIndex<Entry>({ cacheSize: 4 });
    index.add(entry("inbox.>"));
    index.match("hot.a");
    expect(index.cached).toBe(0);
    index.match("hot.a");
    expect(index.cached).toBe(1);
    for (let i = 0; i < 100; i++) index.match(`inbox.${i}`);
    expect(index.cached).toBe(1);
    // Full: the oldest quarter goes, then the newcomer is in.
    for (const s of ["b", "c", "d", "e"]) for (let k = 0; k < 2; k++) index.match(s);
    expect(index.cached).toBe(4);
  });

  it("PW-PUBSUB-001: matching an invalid subject throws INVALID_SUBJECT and caches nothing", () => {
    const index = new SubjectIndex<Entry>();
    index.add(entry(">"));
    expect(() => index.match("a..b")).toThrowError(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(index.cached).toBe(0);
  });
});
