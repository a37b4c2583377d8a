/**
 * The exit codes of `polywire`, stable for scripts. `polywire help` and the
 * README list them.
 */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** A failure not covered below. */
  FAILURE: 1,
  /** Bad flags or arguments: the usage is printed. */
  USAGE: 2,
  /** The broker could not be reached, timed out, or is shutting down. */
  UNAVAILABLE: 3,
  /** The topic, partition or group does not exist. */
  NOT_FOUND: 4,
  /** The topic already exists. */
  ALREADY_EXISTS: 5,
  /** The broker (or this client) does not support the operation, e.g. consumer groups. */
  UNSUPPORTED: 6,
  /** The broker rejected the request as invalid (name, config, partition count...). */
  REJECTED: 7,
  /** Credentials missing, invalid, or not allowed to do this (admin token, SASL). */
  DENIED: 8,
  /** Interrupted by SIGINT or SIGTERM before finishing. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit-code table as `polywire help` prints it. */
export const EXIT_CODE_HELP = `exit codes:
  0    success
  1    failure not covered below
  2    usage error (bad flags or arguments)
  3    broker unreachable, timed out or shutting down
  4    topic, partition or group not found
  5    topic already exists
  6    not supported by this broker or client (e.g. consumer groups)
  7    request rejected as invalid by the broker
  8    credentials missing, invalid or not allowed to do this
  130  interrupted (SIGINT/SIGTERM)`;

/**
 * A failure a command reports to the user: what went wrong, what to do
 * next, and the exit code. `main` prints it and exits with `exitCode`.
 */
export class CliError extends Error {
  override readonly name = "CliError";

  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    /** What to do next, printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
  }
}
