/**
 * A broken spec clause: what every check in the suite throws, so that a
 * failure is always reported against the clause it shows broken.
 */
export class ClauseViolation extends Error {
  override readonly name = "ClauseViolation";
  constructor(
    readonly clause: string,
    message: string,
  ) {
    super(`${clause}: ${message}`);
  }
}

/** Throws a {@link ClauseViolation} of `clause` unless `condition` holds. */
export function check(clause: string, condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new ClauseViolation(clause, typeof message === "function" ? message() : message);
}

/** Renders a value for a failure message: bigints, bytes and nested objects readably. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString("hex")}`;
    return v;
  }) ?? String(value);
}

/** Deep equality of plain data (numbers, bigints, strings, bytes, arrays, objects, null, undefined). */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

/** Throws a violation of `clause` unless `actual` deep-equals `expected`. */
export function checkEqual(clause: string, actual: unknown, expected: unknown, what: string): void {
  if (!same(actual, expected)) throw new ClauseViolation(clause, `${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** A failure inside a property run: the replay path and the shrunk counterexample. */
export interface PropertyFailureInfo {
  readonly path: string;
  readonly counterexample: string;
}

/** What seeded cases throw after shrinking, so the report can print the replay line and the minimal sequence. */
export class PropertyFailure extends ClauseViolation {
  constructor(clause: string, message: string, readonly info: PropertyFailureInfo) {
    super(clause, message);
  }
}
