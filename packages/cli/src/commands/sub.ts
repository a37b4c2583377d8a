import { integerFlag, parseCommandLine } from "../args.js";
import type { Command, CommandIO } from "../command.js";
import { BROKER_FLAGS, BROKER_FLAGS_USAGE, brokerUrl, openClient } from "../endpoints.js";
import { ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { printJson } from "../output.js";

const usage = `usage: polywire sub <pattern> [flags]

Subscribes to the subjects a pattern matches and prints each message as it
arrives, until interrupted (Ctrl-C) or --count is reached. In a pattern
"*" matches one token and a last ">" one or more: orders.*, orders.>.
Messages published while nothing listens are not kept (at-most-once).

  --queue <group>          join a queue group: each message goes to one member
  --count <n>              stop after n messages
  --json                   one JSON object per line: subject, replyTo, sequence,
                           headers, data (UTF-8 text)
${BROKER_FLAGS_USAGE}

examples:
  polywire sub 'orders.>'
  polywire sub jobs.resize --queue resizers --json
`;

const FLAGS = {
  ...BROKER_FLAGS,
  queue: { type: "string" },
  count: { type: "string" },
  json: { type: "boolean" },
} as const;

const text = new TextDecoder();

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, FLAGS, ["pattern"]);
  const pattern = positionals[0] as string;
  const count = values.count === undefined ? undefined : integerFlag("count", values.count, 0);
  const target = { broker: brokerUrl(values) };
  const interrupted = io.interrupt?.();
  if (count === 0) return ExitCode.OK;
  const client = await openClient(values, "polywire-cli-sub", interrupted).catch((error: unknown) => {
    throw toCliError(error, target);
  });
  client.on("reconnecting", (attempt, _delayMs, error) => {
    if (attempt === 1) io.err(`polywire sub: ${error.message}; reconnecting until interrupted (messages published meanwhile are lost)`);
  });
  let printed = 0;
  try {
    const subscription = client.subscribe(pattern, { ...(values.queue === undefined ? {} : { queue: values.queue }), ...(interrupted === undefined ? {} : { signal: interrupted }) });
    subscription.on("slowConsumer", (e) => io.err(`polywire sub: ${e.dropped} message${e.dropped === 1 ? "" : "s"} dropped (${e.where === "broker" ? "the broker's" : "this client's"} buffer was full)`));
    await subscription.ready;
    // Said on standard error, so a script can wait for it before publishing.
    io.err(`polywire sub: listening on ${pattern}${values.queue === undefined ? "" : ` in queue group ${values.queue}`}`);
    for await (const message of subscription) {
      if (values.json === true) {
        printJson(io, { subject: message.subject, replyTo: message.replyTo, sequence: message.sequence, headers: message.headers.map(([key, value]) => ({ key, value: text.decode(value) })), data: message.text() });
      } else {
        io.out(`${message.subject}: ${message.text()}`);
      }
      if (count !== undefined && ++printed >= count) break;
    }
  } catch (error) {
    if (interrupted?.aborted) return ExitCode.INTERRUPTED;
    throw toCliError(error, target);
  } finally {
    await client.close();
  }
  return interrupted?.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/** `polywire sub`: print the messages published to matching subjects. */
export const command: Command = { name: "sub", summary: "print messages published to matching subjects (pub/sub)", usage, run };
