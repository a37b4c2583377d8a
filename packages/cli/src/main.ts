import { readdir } from "node:fs/promises";
import { UsageError } from "./args.js";
import { palette } from "./colors.js";
import type { Command, CommandIO } from "./command.js";
import { CliError, EXIT_CODE_HELP, ExitCode } from "./exit-codes.js";

// Every module in commands/ that exports `command` is a subcommand, named by
// its file: adding a command is adding one file.
const COMMANDS = new URL("./commands/", import.meta.url);

async function commandFiles(): Promise<Map<string, URL>> {
  const files = new Map<string, URL>();
  for (const file of (await readdir(COMMANDS)).sort()) {
    const match = /^([a-z][a-z0-9-]*)\.(js|ts)$/.exec(file);
    if (match !== null && !file.endsWith(".d.ts")) files.set(match[1] as string, new URL(file, COMMANDS));
  }
  return files;
}

async function load(url: URL): Promise<Command> {
  const module = (await import(url.href)) as { command?: Command };
  if (module.command === undefined) throw new Error(`${url.pathname} exports no \`command\``);
  return module.command;
}

async function help(io: CommandIO): Promise<void> {
  io.out("usage: polywire <command> [flags]\n\ncommands:");
  for (const url of (await commandFiles()).values()) {
    const command = await load(url);
    io.out(`  ${command.name.padEnd(12)} ${command.summary}`);
  }
  io.out("\nRun `polywire <command> --help` for a command's flags and examples.");
  io.out("Admin commands talk to the broker's admin port ($POLYWIRE_ADMIN_URL; else the admin URL the broker of");
  io.out("$POLYWIRE_BROKER names in its handshake; else http://127.0.0.1:7421);");
  io.out("produce, consume and bench to its data port ($POLYWIRE_BROKER, default tcp://127.0.0.1:7420).\n");
  io.out(EXIT_CODE_HELP);
}

/** Runs `polywire` with `argv` (without the node and script paths); resolves with the exit code. */
export async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    await help(io);
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const file = (await commandFiles()).get(name);
  if (file === undefined) {
    io.err(`polywire: unknown command ${JSON.stringify(name)}`);
    await help(io);
    return ExitCode.USAGE;
  }
  const command = await load(file);
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.usage);
    return ExitCode.OK;
  }
  const p = palette(io.color ?? false);
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${p.red(`polywire ${name}:`)} ${error.message}\n`);
      io.err(command.usage);
      return ExitCode.USAGE;
    }
    if (error instanceof CliError) {
      io.err(`${p.red(`polywire ${name}:`)} ${error.message}`);
      if (error.hint !== undefined) io.err(p.dim(`  next: ${error.hint}`));
      return error.exitCode;
    }
    throw error;
  }
}
