/** One `polywire <name>` subcommand, in a file of its own under commands/. */
export interface Command {
  readonly name: string;
  /** One line for `polywire help`. */
  readonly summary: string;
  /** The full usage text. */
  readonly usage: string;
  /** Runs the command; resolves with the process exit code. */
  run(argv: readonly string[], io: CommandIO): Promise<number>;
}

/** Where a command writes, so tests can capture it. */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}
