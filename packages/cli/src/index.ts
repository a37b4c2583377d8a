export { run } from "./main.js";
export type { Command, CommandIO } from "./command.js";
export { UsageError } from "./args.js";
export { CliError, EXIT_CODE_HELP, ExitCode } from "./exit-codes.js";
export type { ExitCodeValue } from "./exit-codes.js";
