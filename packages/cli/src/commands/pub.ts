import { keyValueFlags, parseCommandLine } from "../args.js";
import type { Command, CommandIO } from "../command.js";
import { BROKER_FLAGS, BROKER_FLAGS_USAGE, brokerUrl, openClient } from "../endpoints.js";
import { ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { printJson } from "../output.js";

const usage = `usage: polywire pub <subject> <data> [flags]

Publishes one message to a subject (pub/sub, at-most-once: it goes to the
subscriptions listening now and is not stored) and prints how many
subscriptions it was routed to (one per queue group).

  --header <key=value>     header on the message, repeatable
  --reply-to <subject>     where receivers should answer
  --json                   print {"subject", "routed"} as JSON
${BROKER_FLAGS_USAGE}

examples:
  polywire pub orders.eu '{"id":1}'
  polywire pub jobs.resize photo-17 --header trace=abc --json
`;

const FLAGS = {
  ...BROKER_FLAGS,
  header: { type: "string", multiple: true },
  "reply-to": { type: "string" },
  json: { type: "boolean" },
} as const;

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, FLAGS, ["subject", "data"]);
  const [subject, data] = positionals as [string, string];
  const headers = Object.entries(keyValueFlags("header", values.header));
  const target = { broker: brokerUrl(values) };
  const client = await openClient(values, "polywire-cli-pub").catch((error: unknown) => {
    throw toCliError(error, target);
  });
  try {
    const routed = await client.publish(subject, data, { headers, ...(values["reply-to"] === undefined ? {} : { replyTo: values["reply-to"] }) });
    if (values.json === true) printJson(io, { subject, routed });
    else io.out(`published to ${subject}: routed to ${routed} subscription${routed === 1 ? "" : "s"}`);
  } catch (error) {
    throw toCliError(error, target);
  } finally {
    await client.close();
  }
  return ExitCode.OK;
}

/** `polywire pub`: publish one message to a subject. */
export const command: Command = { name: "pub", summary: "publish a message to a subject (pub/sub)", usage, run };
