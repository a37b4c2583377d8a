/** One `polywire <name>` subcommand: a file of its own under commands/ exporting it as `command`. */
export interface Command {
  readonly name: string;
  /** One line for `polywire help`. */
  readonly summary: string;
  /** The full usage text, with examples. */
  readonly usage: string;
  /** Runs the command; resolves with the process exit code (see `ExitCode`). */
  run(argv: readonly string[], io: CommandIO): Promise<number>;
}

/** Where a command reads and writes, so tests can drive it in-process. */
export interface CommandIO {
  /** Writes a line to standard output. */
  out(line: string): void;
  /** Writes a line to standard error. */
  err(line: string): void;
  /** Writes bytes to standard output as they are (raw record values). Default: `out` of their UTF-8 text, without a newline. */
  write?(bytes: Uint8Array): void;
  /** Standard input, for `produce`. Default: the process's. */
  stdin?: NodeJS.ReadableStream;
  /**
   * Replaces the status line (a progress bar) on standard error; "" clears
   * it. Present only when standard error is a terminal.
   */
  status?(line: string): void;
  /** Whether to color output (a terminal, and NO_COLOR unset). Default false. */
  color?: boolean;
  /**
   * Takes over SIGINT and SIGTERM for a long-running command and returns a
   * signal aborted by the first of them, so the command can stop cleanly (a
   * second one exits at once). Commands that never call it keep the default
   * behaviour. Absent in-process: nothing interrupts.
   */
  interrupt?(): AbortSignal;
}
