import { toJson } from "@bufbuild/protobuf";
import { DescribeClusterResponseSchema, GetHealthResponseSchema, GetMetricsSnapshotResponseSchema, HealthStatus, MetricType } from "@polywire/proto/admin";
import { parseCommandLine, UsageError } from "../args.js";
import { palette, type Palette } from "../colors.js";
import type { Command, CommandIO } from "../command.js";
import { ADMIN_FLAGS, ADMIN_FLAGS_USAGE, adminUrl, openAdmin } from "../endpoints.js";
import { ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { bytes, printJson, table } from "../output.js";

const usage = `usage: polywire cluster <describe|health|metrics> [flags]

Describes the cluster and its health through the broker's admin service
(ClusterService, MetricsService).

  polywire cluster describe             brokers, their URLs, version and protocol range
  polywire cluster health               status, uptime, storage and every check; exits 3
                                        when the broker is NOT_SERVING (e.g. draining)
  polywire cluster metrics [--prefix p] the metrics snapshot, one line per sample

flags:
  --prefix <name>          metrics: only families whose name starts with this
  --json                   print the result as JSON
${ADMIN_FLAGS_USAGE}

examples:
  polywire cluster health --json
  polywire cluster metrics --prefix polywire_records
`;

const FLAGS = { ...ADMIN_FLAGS, prefix: { type: "string" }, json: { type: "boolean" } } as const;

const STATUS: Record<number, string> = {
  [HealthStatus.UNSPECIFIED]: "UNKNOWN",
  [HealthStatus.SERVING]: "SERVING",
  [HealthStatus.NOT_SERVING]: "NOT_SERVING",
  [HealthStatus.DEGRADED]: "DEGRADED",
};

function status(value: HealthStatus, p: Palette): string {
  const name = STATUS[value] ?? "UNKNOWN";
  return value === HealthStatus.SERVING ? p.green(name) : value === HealthStatus.DEGRADED ? p.yellow(name) : p.red(name);
}

function labels(list: readonly { name: string; value: string }[]): string {
  return list.length === 0 ? "" : `{${list.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(",")}}`;
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "describe" && sub !== "health" && sub !== "metrics") throw new UsageError(sub === undefined ? "missing subcommand: describe, health or metrics" : `unknown subcommand ${JSON.stringify(sub)}: use describe, health or metrics`);
  const { values } = parseCommandLine(rest, FLAGS, []);
  if (values.prefix !== undefined && sub !== "metrics") throw new UsageError("--prefix applies to cluster metrics only");
  const p = palette(io.color ?? false);
  const adminAt = await adminUrl(values);
  await using admin = openAdmin(adminAt, values);
  try {
    if (sub === "describe") {
      const c = await admin.describeCluster();
      if (values.json) {
        printJson(io, toJson(DescribeClusterResponseSchema, c, { alwaysEmitImplicit: true }));
        return ExitCode.OK;
      }
      io.out(`${p.bold("cluster")} ${c.clusterId}  controller ${c.controllerId}  protocol v${c.protocolMinVersion}..v${c.protocolMaxVersion}`);
      for (const line of table(["BROKER", "VERSION", "ADMIN", "URLS"], c.brokers.map((b) => [b.brokerId, b.version, b.adminUrl, b.urls.join(" ")]), p)) io.out(line);
      return ExitCode.OK;
    }
    if (sub === "health") {
      const h = await admin.health();
      if (values.json) printJson(io, toJson(GetHealthResponseSchema, h, { alwaysEmitImplicit: true }));
      else {
        io.out(`${p.bold("status")} ${status(h.status, p)}  version ${h.version}  uptime ${(Number(h.uptimeMs) / 1000).toFixed(1)} s  connections ${h.connections}`);
        const s = h.storage;
        if (s !== undefined) io.out(`${p.bold("storage")} ${s.engine}${s.directory === "" ? "" : ` ${s.directory}`}  used ${bytes(s.usedBytes)}  free ${bytes(s.freeBytes)}`);
        io.out("");
        for (const line of table(["CHECK", "STATUS", "DETAIL"], h.checks.map((c) => [c.name, STATUS[c.status] ?? "UNKNOWN", c.detail]), p)) io.out(line);
      }
      return h.status === HealthStatus.NOT_SERVING ? ExitCode.UNAVAILABLE : ExitCode.OK;
    }
    const m = await admin.metrics({ namePrefix: values.prefix ?? "" });
    if (values.json) {
      printJson(io, toJson(GetMetricsSnapshotResponseSchema, m, { alwaysEmitImplicit: true }));
      return ExitCode.OK;
    }
    for (const family of m.families) {
      for (const sample of family.samples) {
        io.out(family.type === MetricType.HISTOGRAM
          ? `${family.name}${labels(sample.labels)} count=${sample.count} sum=${sample.sum}`
          : `${family.name}${labels(sample.labels)} ${sample.value}`);
      }
    }
    return ExitCode.OK;
  } catch (error) {
    throw toCliError(error, { admin: adminAt });
  }
}

/** `polywire cluster`: cluster description, health and metrics. */
export const command: Command = { name: "cluster", summary: "describe the cluster, its health and metrics", usage, run };
