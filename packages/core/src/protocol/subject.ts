// The subject and pattern grammar of §9.1 (PW-PUBSUB-001 to -004, -012),
// shared by both ends: the broker refuses what breaks it, and the client
// refuses it before sending, with the same typed errors.
import { PolywireError } from "../errors.js";

/** Longest subject, pattern or queue group name, in bytes of UTF-8 (PW-PUBSUB-001). */
export const MAX_SUBJECT_BYTES = 1024;

/** A checked subscription pattern (PW-PUBSUB-002). */
export interface Pattern {
  /** The pattern as the client sent it; SlowConsumer notices carry it (PW-PUBSUB-031). */
  readonly text: string;
  readonly tokens: readonly string[];
  /** True when some token is `*` or the last is `>`: the pattern can match more than one subject. */
  readonly wildcard: boolean;
}

type Code = "INVALID_SUBJECT" | "INVALID_ARGUMENT";

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;
const DOLLAR = 0x24;

/**
 * Splits `text` into its tokens, checking the `subject` rule (or, with
 * `wildcards`, the `pattern` rule), or throws `code` saying what is wrong.
 * One pass over the UTF-16 code units counts the UTF-8 bytes as it goes,
 * so no encoding is allocated; a lone surrogate is not a Unicode scalar
 * value, so it is refused as the grammar says rather than sent as U+FFFD.
 */
function tokenize(text: string, what: string, wildcards: boolean, code: Code): string[] {
  if (typeof text !== "string" || text.length === 0) throw new PolywireError(code, `${what} is empty`);
  // Every code unit is at least one byte of UTF-8: a longer string cannot fit.
  if (text.length > MAX_SUBJECT_BYTES) throw tooLong(text, what, code);
  const tokens: string[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (i === start) throw new PolywireError(code, `${what} ${quote(text)} has an empty token (leading, trailing or doubled dot)`);
      tokens.push(text.slice(start, i));
      start = i + 1;
      bytes++;
    } else if (c <= 0x20 || c === 0x7f) {
      throw new PolywireError(code, `${what} ${quote(text)} contains a space or a control character (U+${c.toString(16).padStart(4, "0").toUpperCase()})`);
    } else if (c === STAR || c === GT) {
      const alone = i === start && (i + 1 === text.length || text.charCodeAt(i + 1) === DOT);
      if (!wildcards) throw new PolywireError(code, `${what} ${quote(text)} contains a wildcard (${String.fromCharCode(c)}); wildcards are for subscription patterns only`);
      if (!alone) throw new PolywireError(code, `${what} ${quote(text)}: ${String.fromCharCode(c)} must be a whole token`);
      if (c === GT && i + 1 !== text.length) throw new PolywireError(code, `${what} ${quote(text)}: > may only be the last token`);
      bytes++;
    } else if (c < 0x80) {
      bytes++;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw loneSurrogate(text, what, code);
      bytes += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw loneSurrogate(text, what, code);
    } else {
      bytes += 3;
    }
  }
  if (start === text.length) throw new PolywireError(code, `${what} ${quote(text)} has an empty token (leading, trailing or doubled dot)`);
  if (bytes > MAX_SUBJECT_BYTES) throw tooLong(text, what, code);
  tokens.push(text.slice(start));
  return tokens;
}

function tooLong(text: string, what: string, code: Code): PolywireError {
  return new PolywireError(code, `${what} ${quote(text.slice(0, 40))}... is longer than ${MAX_SUBJECT_BYTES} bytes of UTF-8`);
}

function loneSurrogate(text: string, what: string, code: Code): PolywireError {
  return new PolywireError(code, `${what} ${quote(text)} is not valid Unicode (lone surrogate)`);
}

// Error messages echo what the peer sent; JSON quoting keeps control
// characters and very long input from garbling a log line.
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/** True for a subject or pattern whose first token starts with `$` (PW-PUBSUB-003). */
export function isReserved(text: string): boolean {
  return text.charCodeAt(0) === DOLLAR;
}

function refuseReserved(text: string, what: string): never {
  throw new PolywireError("RESERVED_SUBJECT", `${what} ${quote(text)} is reserved: subjects whose first token starts with $ belong to the protocol`);
}

/**
 * The tokens of a subject (PW-PUBSUB-001). Reserved subjects pass: the
 * index must be able to route them (and to keep wildcards off them,
 * PW-PUBSUB-003); what a client may publish is {@link checkPublishSubject}.
 */
export function subjectTokens(subject: string): string[] {
  return tokenize(subject, "subject", false, "INVALID_SUBJECT");
}

/** Checks the subject of a client's PublishRequest: the grammar, then not reserved (PW-PUBSUB-001, -003). */
export function checkPublishSubject(subject: string): void {
  subjectTokens(subject);
  if (isReserved(subject)) refuseReserved(subject, "subject");
}

/** Checks a `reply_to`: empty, or a subject that is not reserved (PW-PUBSUB-003, -004). */
export function checkReplyTo(replyTo: string): void {
  if (replyTo === "") return;
  tokenize(replyTo, "reply_to", false, "INVALID_SUBJECT");
  if (isReserved(replyTo)) refuseReserved(replyTo, "reply_to");
}

/** Checks header keys: non-empty (PW-PUBSUB-020). Values and repeats are free. */
export function checkHeaderKeys(headers: Iterable<{ readonly key: string }>): void {
  for (const header of headers) {
    if (header.key === "") throw new PolywireError("INVALID_ARGUMENT", "a header key is empty");
  }
}

/**
 * Parses a SubscribeRequest's pattern: the grammar (INVALID_SUBJECT), then
 * not reserved (RESERVED_SUBJECT), in that order, so `$a..b` is reported as
 * the grammar error it also is (PW-PUBSUB-002, -003).
 */
export function parsePattern(text: string): Pattern {
  const tokens = tokenize(text, "pattern", true, "INVALID_SUBJECT");
  if (isReserved(text)) refuseReserved(text, "pattern");
  const wildcard = tokens.some((t) => t === "*") || tokens[tokens.length - 1] === ">";
  return { text, tokens, wildcard };
}

/** Checks a non-empty queue group name against the `subject` rule, else INVALID_ARGUMENT (PW-PUBSUB-012). */
export function checkQueueGroup(name: string): void {
  if (name !== "") tokenize(name, "queue group", false, "INVALID_ARGUMENT");
}

/**
 * Whether a pattern's tokens match a subject's: the definition of
 * PW-PUBSUB-002 and -003, written plainly. The index does the same work in
 * its trie; this serves its cache invalidation, which must ask the
 * question of one pattern against a few cached subjects.
 */
export function patternMatches(pattern: readonly string[], subject: readonly string[]): boolean {
  if ((pattern[0] === "*" || pattern[0] === ">") && (subject[0] as string).charCodeAt(0) === DOLLAR) return false;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== "*" && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}
