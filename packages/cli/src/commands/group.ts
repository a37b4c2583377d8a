import { Code, ConnectError } from "@connectrpc/connect";
import { toJson } from "@bufbuild/protobuf";
import { DescribeGroupResponseSchema, GroupState, GroupSummarySchema, PartitionLagSchema } from "@polywire/proto/admin";
import type { ResetTo } from "@polywire/runtime/admin";
import { parseCommandLine, timeFlag, UsageError } from "../args.js";
import { palette } from "../colors.js";
import type { Command, CommandIO } from "../command.js";
import { ADMIN_FLAGS, ADMIN_FLAGS_USAGE, adminUrl, openAdmin } from "../endpoints.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { grouped, printJson, table } from "../output.js";

const usage = `usage: polywire group <list|describe|reset|delete> [flags]

Inspects and administers consumer groups through the broker's admin service
(GroupService). A broker without consumer groups answers that they are not
available; the command then says so and exits with 6.

  polywire group list
  polywire group describe <group>
  polywire group reset <group> --to earliest|latest|<offset>|@<time> [--topic t[:p,p...] ...] [--dry-run]
  polywire group delete <group>

flags:
  --to <target>            reset: earliest, latest, an offset, or @ and a time
                           (Unix ms or ISO 8601, e.g. @2026-01-31T12:00:00Z)
  --topic <t[:partitions]> reset: only these partitions (default every partition
                           the group has offsets for), repeatable
  --dry-run                reset: show the new offsets without committing them
  --json                   print the result as JSON
${ADMIN_FLAGS_USAGE}

examples:
  polywire group list --json
  polywire group describe billing
  polywire group reset billing --to @2026-01-31T00:00:00Z --topic orders --dry-run
`;

const FLAGS = {
  ...ADMIN_FLAGS,
  to: { type: "string" },
  topic: { type: "string", multiple: true },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
} as const;

/** Parses `--to`: earliest, latest, an offset, or `@time`. */
function parseResetTarget(value: string | undefined): ResetTo {
  if (value === undefined) throw new UsageError("reset needs --to earliest|latest|<offset>|@<time>");
  if (value === "earliest" || value === "latest") return value;
  if (/^(0|[1-9][0-9]*)$/.test(value)) return { offset: BigInt(value) };
  if (value.startsWith("@")) return { timestamp: timeFlag("to", value.slice(1)) };
  throw new UsageError(`--to must be earliest, latest, an offset or @<time>, got ${JSON.stringify(value)}`);
}

function parsePartitions(values: readonly string[] | undefined): Record<string, number[]> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, number[]> = {};
  for (const spec of values) {
    const match = /^([^:]+)(?::([0-9]+(?:,[0-9]+)*))?$/.exec(spec);
    if (match === null) throw new UsageError(`--topic must be topic or topic:p,p,..., got ${JSON.stringify(spec)}`);
    out[match[1] as string] = match[2] === undefined ? [] : match[2].split(",").map(Number);
  }
  return out;
}

const STATES: Record<number, string> = {
  [GroupState.UNSPECIFIED]: "unknown",
  [GroupState.EMPTY]: "empty",
  [GroupState.RECONCILING]: "reconciling",
  [GroupState.STABLE]: "stable",
  [GroupState.DEAD]: "dead",
};

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError("missing subcommand: list, describe, reset or delete");
  const names: Record<string, readonly string[]> = { list: [], describe: ["group"], reset: ["group"], delete: ["group"] };
  const positional = names[sub];
  if (positional === undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use list, describe, reset or delete`);
  const { values, positionals } = parseCommandLine(rest, FLAGS, positional);
  if (sub !== "reset" && (values.to !== undefined || values.topic !== undefined || values["dry-run"] !== undefined)) throw new UsageError(`--to, --topic and --dry-run apply to group reset only`);
  const group = positionals[0] as string;
  const to = sub === "reset" ? parseResetTarget(values.to) : undefined;
  const p = palette(io.color ?? false);
  const adminAt = await adminUrl(values);
  await using admin = openAdmin(adminAt, values);
  try {
    switch (sub) {
      case "list": {
        const groups = await admin.listGroups();
        if (values.json) printJson(io, { groups: groups.map((g) => toJson(GroupSummarySchema, g, { alwaysEmitImplicit: true })) });
        else if (groups.length === 0) io.out(p.dim("no consumer groups"));
        else for (const line of table(["GROUP", "STATE", "MEMBERS"], groups.map((g) => [g.groupId, STATES[g.state] ?? "unknown", String(g.members)]), p)) io.out(line);
        return ExitCode.OK;
      }
      case "describe": {
        const d = await admin.describeGroup(group);
        if (values.json) {
          printJson(io, toJson(DescribeGroupResponseSchema, d, { alwaysEmitImplicit: true }));
          return ExitCode.OK;
        }
        io.out(`${p.bold("group")} ${d.groupId}  state ${STATES[d.state] ?? "unknown"}  epoch ${d.groupEpoch}  members ${d.members.length}`);
        io.out("");
        const members = d.members.map((m) => [m.memberId, m.clientId, String(m.memberEpoch), m.assigned.map((a) => `${a.topic}:${a.partitions.join(",")}`).join(" ")]);
        for (const line of table(["MEMBER", "CLIENT", "EPOCH", "ASSIGNED"], members, p)) io.out(line);
        io.out("");
        const lag = d.lag.map((l) => [l.topic, String(l.partition), l.committedOffset < 0n ? "-" : grouped(l.committedOffset), grouped(l.highWatermark), l.lag < 0n ? "-" : grouped(l.lag), l.memberId]);
        for (const line of table(["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"], lag, p)) io.out(line);
        return ExitCode.OK;
      }
      case "reset": {
        const partitions = parsePartitions(values.topic);
        const offsets = await admin.resetGroupOffsets(group, { to: to as ResetTo, dryRun: values["dry-run"] ?? false, ...(partitions === undefined ? {} : { partitions }) });
        if (values.json) {
          printJson(io, { dryRun: values["dry-run"] ?? false, offsets: offsets.map((o) => toJson(PartitionLagSchema, o, { alwaysEmitImplicit: true })) });
          return ExitCode.OK;
        }
        io.out(values["dry-run"] ? p.yellow("dry run: nothing committed") : `${p.green("reset")} group ${group}`);
        for (const line of table(["TOPIC", "PARTITION", "NEW OFFSET", "END", "LAG"], offsets.map((o) => [o.topic, String(o.partition), grouped(o.committedOffset), grouped(o.highWatermark), grouped(o.lag)]), p)) io.out(line);
        return ExitCode.OK;
      }
      default: {
        await admin.deleteGroup(group);
        if (values.json) printJson(io, { deleted: true, groupId: group });
        else io.out(`${p.green("deleted")} group ${group}`);
        return ExitCode.OK;
      }
    }
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.Unimplemented) {
      throw new CliError(error.rawMessage, ExitCode.UNSUPPORTED, "consume by partition instead: `polywire consume <topic> --from earliest`");
    }
    throw toCliError(error, { admin: adminAt });
  }
}

/** `polywire group`: list, describe, reset and delete consumer groups. */
export const command: Command = { name: "group", summary: "list, describe, reset and delete consumer groups", usage, run };
