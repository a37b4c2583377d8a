import { Code, ConnectError } from "@connectrpc/connect";
import { PolywireError } from "@polywire/runtime";
import { UsageError } from "./args.js";
import { CliError, ExitCode } from "./exit-codes.js";

/** Where the command was talking to, to say what to check when it fails. */
export interface Target {
  /** The admin URL, for admin commands. */
  readonly admin?: string;
  /** The data-plane URL, for produce, consume and bench. */
  readonly broker?: string;
}

function adminUnreachable(target: Target): string {
  return `check that a broker serves its HTTP port at ${target.admin ?? "the admin URL"} (\`polywire broker\` serves it on port 7421 by default), or pass --admin <url> / set POLYWIRE_ADMIN_URL`;
}

function fromConnect(error: ConnectError, target: Target): CliError {
  const message = error.rawMessage;
  switch (error.code) {
    case Code.Unavailable:
      return message.includes("ERROR_CODE_SHUTTING_DOWN")
        ? new CliError(message, ExitCode.UNAVAILABLE, "the broker is shutting down; retry once it is running again")
        : new CliError(`cannot reach the admin service: ${message}`, ExitCode.UNAVAILABLE, adminUnreachable(target));
    case Code.DeadlineExceeded:
      return new CliError(`the admin call timed out: ${message}`, ExitCode.UNAVAILABLE, "raise --timeout, or check the broker's health with `polywire cluster health`");
    case Code.NotFound:
      return new CliError(message, ExitCode.NOT_FOUND, "`polywire topic list` shows the topics that exist");
    case Code.AlreadyExists:
      return new CliError(message, ExitCode.ALREADY_EXISTS, "`polywire topic describe <name>` shows it; `polywire topic alter` changes it");
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return new CliError(message, ExitCode.REJECTED, "fix the request; `polywire <command> --help` lists the accepted values");
    case Code.Unimplemented:
      return new CliError(message, ExitCode.UNSUPPORTED);
    case Code.Unauthenticated:
      return new CliError(message, ExitCode.DENIED, "the broker's admin services need a bearer token: pass --admin-token <token> or set POLYWIRE_ADMIN_TOKEN");
    case Code.PermissionDenied:
      return new CliError(message, ExitCode.DENIED, "this token's principal may only read; use a token with the admin role for commands that change the broker");
    default:
      return new CliError(`${Code[error.code] ?? "error"}: ${message}`, ExitCode.FAILURE);
  }
}

function fromPolywire(error: PolywireError, target: Target): CliError {
  switch (error.code) {
    case "CONNECTION_LOST":
    case "TIMEOUT":
    case "SHUTTING_DOWN":
    case "TOO_MANY_CONNECTIONS":
      return new CliError(error.message, ExitCode.UNAVAILABLE, `check that a broker listens at ${target.broker ?? "the broker URL"}, or pass --broker <url> / set POLYWIRE_BROKER`);
    case "UNKNOWN_TOPIC":
    case "UNKNOWN_PARTITION":
      return new CliError(error.message, ExitCode.NOT_FOUND, "create the topic with `polywire topic create <name> --partitions N`, or list them with `polywire topic list`");
    case "FEATURE_NOT_NEGOTIATED":
    case "UNSUPPORTED_VERSION":
      return new CliError(error.message, ExitCode.UNSUPPORTED);
    case "AUTHENTICATION_FAILED":
    case "NOT_AUTHORIZED":
    case "UNSUPPORTED_MECHANISM":
      return new CliError(error.message, ExitCode.DENIED, "the broker needs credentials this command was not given");
    case "INVALID_ARGUMENT":
    case "INVALID_TOPIC":
    case "INVALID_CONFIG":
    case "BATCH_TOO_LARGE":
    case "RECORD_TOO_LARGE":
    case "OFFSET_OUT_OF_RANGE":
      return new CliError(error.message, ExitCode.REJECTED);
    default:
      return new CliError(`${error.code}: ${error.message}`, ExitCode.FAILURE);
  }
}

/**
 * Turns what a command threw into the CliError it reports: admin
 * (ConnectError) and data-plane (PolywireError) failures get an exit code
 * and a hint saying what to do next; anything else is a plain failure.
 * Usage errors pass through untouched.
 */
export function toCliError(error: unknown, target: Target = {}): CliError | UsageError {
  if (error instanceof CliError || error instanceof UsageError) return error;
  if (error instanceof ConnectError) return fromConnect(error, target);
  if (error instanceof PolywireError) return fromPolywire(error, target);
  return new CliError(error instanceof Error ? error.message : String(error), ExitCode.FAILURE);
}
