export { run } from "./main.js";
export type { Command, CommandIO } from "./command.js";
export { UsageError } from "./args.js";
