import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command-line usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `argv` with `node:util` parseArgs, turning its errors into {@link UsageError}s. */
export function parseFlags<T extends Options>(argv: readonly string[], options: T): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Parses flags and exactly the positional arguments named in `names` (a
 * trailing `?` marks an optional one); too few or too many is a usage error
 * naming what is missing.
 */
export function parseCommandLine<T extends Options>(argv: readonly string[], options: T, names: readonly string[]): {
  values: ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: true }>>["values"];
  positionals: string[];
} {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const required = names.filter((n) => !n.endsWith("?"));
  if (parsed.positionals.length < required.length) {
    throw new UsageError(`missing <${required[parsed.positionals.length]}>`);
  }
  if (parsed.positionals.length > names.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[names.length])}`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Parses a non-negative integer flag value. */
export function integerFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parses a positive number flag value (decimals allowed), e.g. a rate. */
export function positiveNumberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n > 0)) throw new UsageError(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses repeated `key=value` flags into an object; a missing `=` is a usage error. */
export function keyValueFlags(name: string, values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of values ?? []) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new UsageError(`--${name} takes key=value, got ${JSON.stringify(entry)}`);
    out[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return out;
}

/** Checks that a flag's value is one of `choices`. */
export function choiceFlag<C extends string>(name: string, value: string | undefined, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  return value as C;
}

/** A time flag value: Unix milliseconds or an ISO 8601 date. */
export function timeFlag(flag: string, value: string): number {
  if (/^(0|[1-9][0-9]*)$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`--${flag}: ${JSON.stringify(value)} is neither Unix milliseconds nor an ISO 8601 time`);
  return ms;
}
