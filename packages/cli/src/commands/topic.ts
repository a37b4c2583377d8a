import { toJson } from "@bufbuild/protobuf";
import { TopicDescriptionSchema, TopicSummarySchema, type TopicDescription } from "@polywire/proto/admin";
import { integerFlag, keyValueFlags, parseCommandLine, UsageError } from "../args.js";
import { palette } from "../colors.js";
import type { Command, CommandIO } from "../command.js";
import { ADMIN_FLAGS, ADMIN_FLAGS_USAGE, adminUrl, openAdmin } from "../endpoints.js";
import { ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { bytes, grouped, printJson, table } from "../output.js";

const usage = `usage: polywire topic <create|delete|list|describe|alter> [flags]

Manages topics through the broker's admin service (TopicService).

  polywire topic create <name> [--partitions N] [--config key=value ...]
  polywire topic delete <name> [--if-exists]
  polywire topic list [--internal]
  polywire topic describe <name>
  polywire topic alter <name> [--set key=value ...] [--reset key ...] [--partitions N]

flags:
  --partitions <n>         create: partition count (default 1); alter: grow to n (never shrinks)
  --config <key=value>     create: a config entry, repeatable
  --set <key=value>        alter: give a config key a value, repeatable
  --reset <key>            alter: return a config key to the broker default, repeatable
  --if-exists              delete: succeed when the topic does not exist
  --internal               list: include internal (__) topics
  --json                   print the result as JSON (protobuf JSON of the admin API)
${ADMIN_FLAGS_USAGE}

config keys: retention.ms, retention.bytes, segment.bytes, segment.ms,
max.message.bytes, fsync.policy (always|interval|never), fsync.interval.ms

examples:
  polywire topic create orders --partitions 6 --config retention.ms=86400000
  polywire topic list --json
  polywire topic describe orders
  polywire topic alter orders --partitions 12 --set segment.bytes=268435456 --reset retention.ms
  polywire topic delete orders
`;

const FLAGS = {
  ...ADMIN_FLAGS,
  partitions: { type: "string" },
  config: { type: "string", multiple: true },
  set: { type: "string", multiple: true },
  reset: { type: "string", multiple: true },
  "if-exists": { type: "boolean" },
  internal: { type: "boolean" },
  json: { type: "boolean" },
} as const;

/** Flags that only some subcommands take; any other use is a usage error. */
const ONLY: Record<string, readonly string[]> = {
  partitions: ["create", "alter"],
  config: ["create"],
  set: ["alter"],
  reset: ["alter"],
  "if-exists": ["delete"],
  internal: ["list"],
};

function describeLines(topic: TopicDescription, io: CommandIO): void {
  const p = palette(io.color ?? false);
  io.out(`${p.bold("topic")} ${topic.name}${topic.internal ? p.dim(" (internal)") : ""}  partitions ${topic.partitions.length}  partitioner ${topic.partitioner}`);
  io.out("");
  const rows = topic.partitions.map((d) => [String(d.partition), d.leaderId, grouped(d.logStartOffset), grouped(d.highWatermark), grouped(d.highWatermark - d.logStartOffset), bytes(d.sizeBytes), String(d.segments)]);
  for (const line of table(["PARTITION", "LEADER", "START", "END", "RECORDS", "SIZE", "SEGMENTS"], rows, p)) io.out(line);
  io.out("");
  const entries = Object.entries(topic.config?.entries ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const line of table(["CONFIG", "VALUE"], entries, p)) io.out(line);
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError("missing subcommand: create, delete, list, describe or alter");
  const names: Record<string, readonly string[]> = { create: ["name"], delete: ["name"], list: [], describe: ["name"], alter: ["name"] };
  const positional = names[sub];
  if (positional === undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use create, delete, list, describe or alter`);
  const { values, positionals } = parseCommandLine(rest, FLAGS, positional);
  for (const [flag, subs] of Object.entries(ONLY)) {
    if ((values as Record<string, unknown>)[flag] !== undefined && !subs.includes(sub)) throw new UsageError(`--${flag} does not apply to topic ${sub}`);
  }
  const name = positionals[0] as string;
  const p = palette(io.color ?? false);
  const adminAt = await adminUrl(values);
  await using admin = openAdmin(adminAt, values);
  try {
    switch (sub) {
      case "create": {
        const partitions = integerFlag("partitions", values.partitions, 1);
        if (partitions === 0) throw new UsageError("--partitions must be at least 1");
        const topic = await admin.createTopic(name, { partitions, config: keyValueFlags("config", values.config) });
        if (values.json) printJson(io, toJson(TopicDescriptionSchema, topic, { alwaysEmitImplicit: true }));
        else io.out(`${p.green("created")} topic ${topic.name} with ${topic.partitions.length} partition${topic.partitions.length === 1 ? "" : "s"}`);
        return ExitCode.OK;
      }
      case "delete": {
        try {
          await admin.deleteTopic(name);
        } catch (error) {
          const failure = toCliError(error, { admin: adminAt });
          if (values["if-exists"] && "exitCode" in failure && failure.exitCode === ExitCode.NOT_FOUND) {
            if (values.json) printJson(io, { deleted: false, name });
            else io.out(`topic ${name} does not exist; nothing to delete`);
            return ExitCode.OK;
          }
          throw failure;
        }
        if (values.json) printJson(io, { deleted: true, name });
        else io.out(`${p.green("deleted")} topic ${name}`);
        return ExitCode.OK;
      }
      case "list": {
        const topics = await admin.listTopics({ includeInternal: values.internal ?? false });
        if (values.json) {
          printJson(io, { topics: topics.map((t) => toJson(TopicSummarySchema, t, { alwaysEmitImplicit: true })) });
        } else if (topics.length === 0) {
          io.out(p.dim("no topics; create one with `polywire topic create <name>`"));
        } else {
          const rows = topics.map((t) => [t.name, String(t.partitions), ...(values.internal ? [t.internal ? "yes" : "no"] : [])]);
          for (const line of table(["NAME", "PARTITIONS", ...(values.internal ? ["INTERNAL"] : [])], rows, p)) io.out(line);
        }
        return ExitCode.OK;
      }
      case "describe": {
        const topic = await admin.describeTopic(name);
        if (values.json) printJson(io, toJson(TopicDescriptionSchema, topic, { alwaysEmitImplicit: true }));
        else describeLines(topic, io);
        return ExitCode.OK;
      }
      default: {
        const set = keyValueFlags("set", values.set);
        const reset = values.reset ?? [];
        const partitions = integerFlag("partitions", values.partitions, 0);
        if (Object.keys(set).length === 0 && reset.length === 0 && partitions === 0) throw new UsageError("nothing to alter: give --set, --reset or --partitions");
        const topic = await admin.alterTopic(name, { set, reset, partitions });
        if (values.json) printJson(io, toJson(TopicDescriptionSchema, topic, { alwaysEmitImplicit: true }));
        else io.out(`${p.green("altered")} topic ${topic.name}: ${topic.partitions.length} partitions, ${[...Object.keys(set).map((k) => `${k}=${set[k]}`), ...reset.map((k) => `${k} reset`)].join(", ") || "config unchanged"}`);
        return ExitCode.OK;
      }
    }
  } catch (error) {
    throw toCliError(error, { admin: adminAt });
  }
}

/** `polywire topic`: create, delete, list, describe and alter topics. */
export const command: Command = { name: "topic", summary: "create, delete, list, describe and alter topics", usage, run };
