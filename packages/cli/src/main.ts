import { UsageError } from "./args.js";
import type { Command, CommandIO } from "./command.js";

// Commands are loaded on demand, one module each, so adding one touches only this table.
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  broker: { summary: "run a broker until SIGTERM/SIGINT", load: async () => (await import("./commands/broker.js")).brokerCommand },
};

function help(io: CommandIO): void {
  io.out("usage: polywire <command> [flags]\n\ncommands:");
  for (const [name, c] of Object.entries(commands)) io.out(`  ${name.padEnd(12)} ${c.summary}`);
  io.out("\nRun `polywire <command> --help` for a command's flags.");
}

/** Runs `polywire` with `argv` (without the node and script paths); resolves with the exit code. */
export async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    help(io);
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (entry === undefined) {
    io.err(`polywire: unknown command ${JSON.stringify(name)}`);
    help(io);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`polywire ${name}: ${error.message}\n`);
      io.err(command.usage);
      return 2;
    }
    throw error;
  }
}
