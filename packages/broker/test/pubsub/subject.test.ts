import { PolywireError } from "@polywire/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkHeaderKeys, checkPublishSubject, checkQueueGroup, checkReplyTo, parsePattern, subjectTokens } from "../../src/pubsub/index.js";
import { anyText, isPattern, isSubject } from "./reference.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(PolywireError);
    return (error as PolywireError).code;
  }
}

describe("subjects and patterns (§9.1)", () => {
  it("PW-PUBSUB-001: subjects are checked exactly as the grammar says, on random text", () => {
    fc.assert(fc.property(anyText, (text) => {
      expect(codeOf(() => subjectTokens(text))).toBe(isSubject(text) ? undefined : "INVALID_SUBJECT");
    }), { numRuns: 5000 });
  });

  it("PW-PUBSUB-002: patterns are checked exactly as the grammar says, on random text", () => {
    fc.assert(fc.property(anyText, (text) => {
      const expected = !isPattern(text) ? "INVALID_SUBJECT" : text.startsWith("$") ? "RESERVED_SUBJECT" : undefined;
      expect(codeOf(() => parsePattern(text))).toBe(expected);
    }), { numRuns: 5000 });
  });

  it("PW-PUBSUB-001: the grammar's refusals, one by one", () => {
    for (const bad of ["", ".", "a.", ".a", "a..b", "a b", "a\tb", "a\u0000", "a\u007f", "a.*", "a.>", "*", ">", "a*", "\ud800x"]) {
      expect(codeOf(() => subjectTokens(bad)), JSON.stringify(bad)).toBe("INVALID_SUBJECT");
    }
    expect(subjectTokens("orders.eu.日本.😀")).toEqual(["orders", "eu", "日本", "😀"]);
    // U+0080 and U+00A0 are neither controls of the grammar nor a space.
    expect(subjectTokens("a\u0080.b\u00a0")).toEqual(["a\u0080", "b\u00a0"]);
  });

  it("PW-PUBSUB-001: at most 1,024 bytes of UTF-8, counted in bytes, not characters", () => {
    expect(subjectTokens("a".repeat(1024))).toHaveLength(1);
    expect(codeOf(() => subjectTokens("a".repeat(1025)))).toBe("INVALID_SUBJECT");
    // 341 three-byte characters and one byte: 1,024 bytes in 342 code units.
    expect(subjectTokens(`${"日".repeat(341)}a`)).toHaveLength(1);
    expect(codeOf(() => subjectTokens(`${"日".repeat(341)}ab`))).toBe("INVALID_SUBJECT");
    // Surrogate pairs are 4 bytes: 256 emoji are 1,024 bytes, 257 are not.
    expect(subjectTokens("😀".repeat(256))).toHaveLength(1);
    expect(codeOf(() => subjectTokens("😀".repeat(257)))).toBe("INVALID_SUBJECT");
  });

  it("PW-PUBSUB-002: wildcards only as whole tokens, > only last; patterns are bounded like subjects", () => {
    expect(parsePattern("a.*.c")).toMatchObject({ tokens: ["a", "*", "c"], wildcard: true });
    expect(parsePattern("a.>")).toMatchObject({ tokens: ["a", ">"], wildcard: true });
    expect(parsePattern(">")).toMatchObject({ tokens: [">"], wildcard: true });
    expect(parsePattern("a.b")).toMatchObject({ tokens: ["a", "b"], wildcard: false });
    for (const bad of ["a*", "*a", ">b", "a.>.b", ">.a", "a.**", "a..*", "a.*.", "a.b>", "a b.*", "a".repeat(1025)]) {
      expect(codeOf(() => parsePattern(bad)), bad).toBe("INVALID_SUBJECT");
    }
  });

  it("PW-PUBSUB-003: reserved subjects and patterns; the grammar is checked first", () => {
    expect(codeOf(() => checkPublishSubject("$sys.x"))).toBe("RESERVED_SUBJECT");
    expect(codeOf(() => checkPublishSubject("a.$sys"))).toBeUndefined();
    expect(codeOf(() => checkReplyTo("$inbox.1"))).toBe("RESERVED_SUBJECT");
    expect(codeOf(() => parsePattern("$sys.>"))).toBe("RESERVED_SUBJECT");
    expect(codeOf(() => parsePattern("a.$sys"))).toBeUndefined();
    expect(codeOf(() => checkPublishSubject("$a..b"))).toBe("INVALID_SUBJECT");
    expect(codeOf(() => parsePattern("$a*"))).toBe("INVALID_SUBJECT");
    // A reserved subject is still a subject: the index can route it.
    expect(subjectTokens("$sys.x")).toEqual(["$sys", "x"]);
  });

  it("PW-PUBSUB-004: reply_to is empty or a subject without wildcards", () => {
    expect(codeOf(() => checkReplyTo(""))).toBeUndefined();
    expect(codeOf(() => checkReplyTo("inbox.42"))).toBeUndefined();
    expect(codeOf(() => checkReplyTo("inbox.*"))).toBe("INVALID_SUBJECT");
    expect(codeOf(() => checkReplyTo("inbox."))).toBe("INVALID_SUBJECT");
  });

  it("PW-PUBSUB-012: a queue group name follows the subject rule, else INVALID_ARGUMENT", () => {
    expect(codeOf(() => checkQueueGroup(""))).toBeUndefined();
    expect(codeOf(() => checkQueueGroup("workers.eu"))).toBeUndefined();
    expect(codeOf(() => checkQueueGroup("$workers"))).toBeUndefined();
    for (const bad of ["a b", "a.", "*", "w.>", "a".repeat(1025)]) expect(codeOf(() => checkQueueGroup(bad)), bad).toBe("INVALID_ARGUMENT");
  });

  it("PW-PUBSUB-020: header keys must be non-empty; values and repeats are free", () => {
    expect(codeOf(() => checkHeaderKeys([{ key: "a" }, { key: "a" }, { key: "B" }]))).toBeUndefined();
    expect(codeOf(() => checkHeaderKeys([{ key: "a" }, { key: "" }]))).toBe("INVALID_ARGUMENT");
  });
});
