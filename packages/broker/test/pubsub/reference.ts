// Small, obviously-right reference implementations of §9.1 that the tests
// check the broker's grammar and subject index against. They are written
// from the spec's grammar with regular expressions, independently of the
// code under test.
import fc from "fast-check";

const tchar = "[^.*> \\u0000-\\u001f\\u007f]";
const subjectRe = new RegExp(`^${tchar}+(?:\\.${tchar}+)*$`, "u");
const ptoken = `(?:${tchar}+|\\*)`;
const patternRe = new RegExp(`^(?:${ptoken}(?:\\.${ptoken})*(?:\\.>)?|>)$`, "u");
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

// Unicode scalar values only: a lone surrogate does not survive a UTF-8 round trip.
function fits(text: string): boolean {
  const bytes = utf8.encode(text);
  return fromUtf8.decode(bytes) === text && bytes.byteLength <= 1024;
}

/** PW-PUBSUB-001: a valid subject. */
export function isSubject(text: string): boolean {
  return fits(text) && subjectRe.test(text);
}

/** PW-PUBSUB-002: a valid pattern. */
export function isPattern(text: string): boolean {
  return fits(text) && patternRe.test(text);
}

function escape(token: string): string {
  // Only the syntax characters: under the `u` flag, escaping anything else (`-`) is an error.
  return token.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/** PW-PUBSUB-002, -003: whether `pattern` matches `subject`, by translating the pattern to a regular expression. */
export function referenceMatches(pattern: string, subject: string): boolean {
  const tokens = pattern.split(".");
  if ((tokens[0] === "*" || tokens[0] === ">") && subject.startsWith("$")) return false;
  const body = tokens
    .map((t) => (t === "*" ? "[^.]+" : t === ">" ? "[^.]+(?:\\.[^.]+)*" : escape(t)))
    .join("\\.");
  return new RegExp(`^${body}$`, "u").test(subject);
}

// A small token alphabet, so that random patterns and subjects often meet;
// `$` tokens exercise the reserved rule, multi-byte ones the byte matching.
const TOKENS = ["a", "b", "c", "ab", "$r", "é", "日本", "😀", "a-b", "A"];

export const token = fc.constantFrom(...TOKENS);
export const subject = fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join("."));
/** Patterns over the same alphabet, without reserved first tokens (the broker refuses those). */
export const pattern = fc
  .tuple(fc.array(fc.oneof(token, fc.constant("*")), { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([tokens, rest]) => tokens.length > 0 || rest)
  .map(([tokens, rest]) => [...tokens, ...(rest ? [">"] : [])])
  .filter((tokens) => !(tokens[0] as string).startsWith("$"))
  .map((tokens) => tokens.join("."));

/** Strings built of the characters the grammar cares about, valid or not. */
export const anyText = fc
  .array(fc.constantFrom("a", "b", "$", ".", "*", ">", " ", "\u0000", "\u001f", "\u007f", "\u0080", "é", "😀", "\ud800", "\udc00", "\t", "-"), { maxLength: 12 })
  .map((parts) => parts.join(""));
