import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command-line usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parses `argv` with `node:util` parseArgs, turning its errors into {@link UsageError}s. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(argv: readonly string[], options: T): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Parses a non-negative integer flag value. */
export function integerFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}
