import { Readable } from "node:stream";
import { ApplicationError, PolywireError } from "@polywire/runtime";
import { keyValueFlags, parseCommandLine, positiveNumberFlag } from "../args.js";
import type { Command, CommandIO } from "../command.js";
import { BROKER_FLAGS, BROKER_FLAGS_USAGE, brokerUrl, openClient } from "../endpoints.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";

const usage = `usage: polywire request <service> [body|-] [flags]

Calls a service (request/reply): the body is the argument, or standard input
streamed as it is read with "-" (none: an empty body), and the reply's body
is written to standard output as it arrives. A service with no responder
fails at once (exit 4); an application error prints its code and message
(exit 1).

  --method <name>          the method, passed to the responder as is
  --header <key=value>     header on the call, repeatable
${BROKER_FLAGS_USAGE}

examples:
  polywire request math.square 12
  tar c photos | polywire request archive.store - --method put --timeout 600000
`;

const FLAGS = {
  ...BROKER_FLAGS,
  method: { type: "string" },
  header: { type: "string", multiple: true },
} as const;

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, FLAGS, ["service", "body?"]);
  const [service, body] = positionals as [string, string | undefined];
  const timeout = positiveNumberFlag("timeout", values.timeout);
  const headers = Object.entries(keyValueFlags("header", values.header));
  const target = { broker: brokerUrl(values) };
  const interrupted = io.interrupt?.();
  const client = await openClient(values, "polywire-cli-request", interrupted).catch((error: unknown) => {
    throw toCliError(error, target);
  });
  const write = io.write ?? ((bytes: Uint8Array) => io.out(new TextDecoder().decode(bytes)));
  try {
    const call = await client.call(service, {
      headers,
      ...(values.method === undefined ? {} : { method: values.method }),
      ...(timeout === undefined ? {} : { timeout: Math.round(timeout) }),
      ...(interrupted === undefined ? {} : { signal: interrupted }),
    });
    const sending = body === "-" ? call.send(Readable.from(io.stdin ?? process.stdin)) : call.send(body ?? "");
    sending.catch(() => {});
    const reply = await call.reply;
    for await (const chunk of reply.body) write(chunk);
    await sending.catch(() => {});
  } catch (error) {
    if (interrupted?.aborted) return ExitCode.INTERRUPTED;
    throw callError(error, service, target);
  } finally {
    await client.close();
  }
  return ExitCode.OK;
}

/** A call's failure as the CLI reports it: the application's own error apart from the protocol's (PW-RPC-046). */
function callError(error: unknown, service: string, target: { broker: string }): Error {
  if (error instanceof ApplicationError) {
    const details = error.details.byteLength === 0 ? "" : ` ${new TextDecoder().decode(error.details)}`;
    return new CliError(`${service} answered with an error: ${error.applicationCode}${error.applicationMessage === "" ? "" : `: ${error.applicationMessage}`}${details}`, ExitCode.FAILURE);
  }
  if (error instanceof PolywireError && error.code === "NO_RESPONDERS") {
    return new CliError(`NO_RESPONDERS: ${error.message}`, ExitCode.NOT_FOUND, `nothing serves ${service}: start a responder, e.g. \`polywire serve ${service} --exec cat\``);
  }
  return toCliError(error, target);
}

/** `polywire request`: call a service and print its reply. */
export const command: Command = { name: "request", summary: "call a service and print its reply (request/reply)", usage, run };
