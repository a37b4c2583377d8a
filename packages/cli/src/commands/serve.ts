import { spawn } from "node:child_process";
import { ApplicationError, type IncomingRequest } from "@polywire/runtime";
import { integerFlag, parseCommandLine, UsageError } from "../args.js";
import type { Command, CommandIO } from "../command.js";
import { BROKER_FLAGS, BROKER_FLAGS_USAGE, brokerUrl, openClient } from "../endpoints.js";
import { ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";

const usage = `usage: polywire serve <service> --exec <command> [flags]

Serves a service (request/reply) until interrupted: each call runs the
command with the shell, the request body streamed to its standard input and
its standard output streamed back as the reply. A command that exits with a
status other than 0 before writing anything answers an application error
EXIT_<status> with the end of its standard error as the message. The call's
method and service are in $POLYWIRE_METHOD and $POLYWIRE_SERVICE. Several
\`polywire serve\` processes of one service share its calls. On Ctrl-C it
stops taking calls and lets the running ones finish.

  --exec <command>         the command run for each call (required)
  --concurrency <n>        calls run at once (default 8)
${BROKER_FLAGS_USAGE}

examples:
  polywire serve text.upper --exec 'tr a-z A-Z'
  polywire serve archive.store --exec 'cat > "/srv/in/$(date +%s%N)"' --concurrency 2
`;

const FLAGS = {
  ...BROKER_FLAGS,
  exec: { type: "string" },
  concurrency: { type: "string" },
} as const;

/** Bytes of standard error kept for the message of a failed command. */
const STDERR_TAIL = 1024;

/** Runs `command` for one call; the reply streams its standard output. */
async function runCommand(command: string, request: IncomingRequest): Promise<AsyncIterable<Uint8Array>> {
  const child = spawn("sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, POLYWIRE_METHOD: request.method, POLYWIRE_SERVICE: request.service } });
  const stop = (): void => void child.kill("SIGTERM");
  request.signal.addEventListener("abort", stop, { once: true });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
  });
  const exited = new Promise<number>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal === null ? 1 : 128))));
  child.stdin.on("error", () => {});
  void (async () => {
    try {
      for await (const chunk of request.body) {
        if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once("drain", resolve));
      }
    } catch {
      // The call ended; the command is stopped by the abort.
    }
    child.stdin.end();
  })();
  const stdout = child.stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // Waits for its first output or its exit: a command failing before any output answers an application error.
  const first = await Promise.race([stdout.next(), exited.then((code) => ({ exit: code }))]);
  const failed = (code: number): ApplicationError => new ApplicationError(`EXIT_${code}`, stderr.trim());
  // Standard output closed with nothing written: the exit status decides.
  const silentExit = "exit" in first ? first.exit : first.done === true ? await exited : undefined;
  if (silentExit !== undefined && silentExit !== 0) throw failed(silentExit);
  return (async function* () {
    if (!("exit" in first) && first.done !== true) yield first.value;
    for (;;) {
      const next = await stdout.next();
      if (next.done === true) break;
      yield next.value;
    }
    const code = await exited;
    // Output already went: the call is abandoned (the caller sees CANCELLED), not answered with an error.
    if (code !== 0) throw failed(code);
  })();
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, FLAGS, ["service"]);
  const service = positionals[0] as string;
  const command = values.exec;
  if (command === undefined || command === "") throw new UsageError("missing --exec <command>");
  const concurrency = integerFlag("concurrency", values.concurrency, 8);
  const target = { broker: brokerUrl(values) };
  const interrupted = io.interrupt?.();
  const client = await openClient(values, "polywire-cli-serve").catch((error: unknown) => {
    throw toCliError(error, target);
  });
  try {
    const served = client.serve(service, (request) => runCommand(command, request), { concurrency, ...(interrupted === undefined ? {} : { signal: interrupted }) });
    await served.ready;
    // Said on standard error, so a script can wait for it before calling.
    io.err(`polywire serve: serving ${service} with \`${command}\` (${concurrency} at once)`);
    await new Promise<void>((resolve) => {
      if (interrupted === undefined) return;
      if (interrupted.aborted) resolve();
      else interrupted.addEventListener("abort", () => resolve(), { once: true });
    });
    await served.close();
  } catch (error) {
    throw toCliError(error, target);
  } finally {
    await client.close();
  }
  return interrupted?.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/** `polywire serve`: answer a service's calls with a command. */
export const command: Command = { name: "serve", summary: "serve a service's calls with a command (request/reply)", usage, run };
