#!/usr/bin/env node
import { colorWanted } from "./colors.js";
import type { CommandIO } from "./command.js";
import { ExitCode } from "./exit-codes.js";
import { run } from "./main.js";

let interrupt: AbortController | undefined;

const io: CommandIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  write: (bytes) => process.stdout.write(bytes),
  stdin: process.stdin,
  ...(process.stderr.isTTY === true ? { status: (line: string) => process.stderr.write(`\r\u001b[2K${line}`) } : {}),
  color: colorWanted(process.stdout, process.env) && colorWanted(process.stderr, process.env),
  interrupt() {
    if (interrupt === undefined) {
      const controller = new AbortController();
      interrupt = controller;
      const stop = (signal: NodeJS.Signals): void => {
        if (controller.signal.aborted) process.exit(ExitCode.INTERRUPTED);
        controller.abort(new Error(`interrupted by ${signal}`));
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    }
    return interrupt.signal;
  },
};

// A reader that stops early (`polywire consume ... | head`) must not turn into a crash.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(ExitCode.OK);
  throw error;
});

run(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    io.err(`polywire: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = ExitCode.FAILURE;
  },
);
