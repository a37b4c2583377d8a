import { readFileSync } from "node:fs";
import { formatSummary, progressListener, runSuite, type SuiteOptions } from "@polywire/conformance";
import { runEmbeddedSuite, type EmbeddedSuiteOptions } from "@polywire/conformance/embedded";
import { tsAdapterCommand } from "@polywire/conformance/ts-adapter";
import { integerFlag, parseFlags, UsageError } from "../args.js";
import { palette } from "../colors.js";
import type { Command, CommandIO } from "../command.js";
import { adminToken } from "../endpoints.js";
import { CliError, ExitCode } from "../exit-codes.js";

const usage = `usage: polywire conformance [flags]

Checks a broker (and a client) against the Polywire spec, clause by clause,
and reports the coverage of every MUST clause. Without --broker it starts
the reference broker in this process and checks it together with the
reference TypeScript client.

target:
  --broker <url>           broker under test: tcp://host:port, tls://host:port, unix:///path,
                           ws://host:port/path, wss://host:port/path
  --admin <url>            its admin listener (http://host:port), to create topics (default: the
                           admin URL its handshake advertises, PW-ADMIN-060); without either,
                           cases that need topics are skipped
  --admin-token <token>    bearer token of an admin listener with authentication (default
                           $POLYWIRE_ADMIN_TOKEN); also checks PW-ADMIN-003
  --admin-viewer-token <t> a read-only admin token of that broker: checks permission_denied
  --restart-cmd <cmd>      shell command that restarts the broker on the same data (restart and
                           history-under-restart cases; put a kill -9 in it to test crashes)
  --default-config         the broker runs with no configuration (checks the PW-LIM-005 defaults)
  --tls-ca <file>          CA (PEM) for a tls:// or wss:// broker
  --insecure               accept any certificate from a tls:// or wss:// broker
  --client <cmd|ts|none>   client under test: the command line of its adapter (stdin/stdout, see
                           packages/conformance/README.md), "ts" for the reference TypeScript client, or
                           "none" (default: ts with the embedded broker, none with --broker)

what to run:
  --quick                  the quick profile, under a minute against a local broker (default)
  --full                   the full profile: longer property, race and fault runs
  --only <glob>            run only cases whose id or clauses match, repeatable ('PW-LOG-*', 'log/fetch-*')
  --seed <n>               seed of the property, race and history cases (printed in their names)
  --path <path>            with --seed and --only: replay a failure's shrunk sequence
  --expectations <file>    known-failing and known-flaky globs (default for the embedded broker:
                           packages/conformance/expectations/reference.json)

output:
  --out <dir>              write report.json, junit.xml and report.html here (default packages/conformance/reports)
  --no-report              write no report files
  --json                   print the JSON report on stdout instead of the summary

examples:
  polywire conformance --quick
  polywire conformance --broker tcp://10.0.0.5:7420 --full
  polywire conformance --only 'PW-LOG-*' --seed 42
  polywire conformance --client "python3 my_adapter.py"

exit codes: 0 passed, 1 failed (a case failed, or a known-failing case now passes),
2 usage, 3 broker unreachable, 130 interrupted.`;

const FLAGS = {
  broker: { type: "string" },
  admin: { type: "string" },
  "admin-token": { type: "string" },
  "admin-viewer-token": { type: "string" },
  "restart-cmd": { type: "string" },
  "default-config": { type: "boolean" },
  "tls-ca": { type: "string" },
  insecure: { type: "boolean" },
  client: { type: "string" },
  quick: { type: "boolean" },
  full: { type: "boolean" },
  only: { type: "string", multiple: true },
  seed: { type: "string" },
  path: { type: "string" },
  expectations: { type: "string" },
  out: { type: "string" },
  "no-report": { type: "boolean" },
  json: { type: "boolean" },
} as const;

function clientChoice(value: string | undefined): SuiteOptions["client"] {
  if (value === undefined || value === "none") return value;
  if (value === "ts") return tsAdapterCommand();
  // An adapter command line, run by the shell (exec: the adapter itself gets stdin's end and signals).
  return ["sh", "-c", `exec ${value}`];
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.quick === true && values.full === true) throw new UsageError("--quick and --full exclude each other");
  if (values.broker === undefined && (values.admin !== undefined || values["admin-token"] !== undefined || values["admin-viewer-token"] !== undefined || values["restart-cmd"] !== undefined || values["default-config"] === true)) {
    throw new UsageError("--admin, --admin-token, --admin-viewer-token, --restart-cmd and --default-config describe an external broker: give --broker too");
  }
  if (values["admin-viewer-token"] !== undefined && adminToken(values) === undefined) {
    throw new UsageError("--admin-viewer-token needs the admin token too (--admin-token or $POLYWIRE_ADMIN_TOKEN)");
  }
  // The environment's token applies only to an external broker: the embedded one makes its own.
  const token = values.broker === undefined ? undefined : adminToken(values);
  if (values.path !== undefined && values.seed === undefined) throw new UsageError("--path replays a seeded run: give --seed too");
  if (values.out !== undefined && values["no-report"] === true) throw new UsageError("--out and --no-report exclude each other");
  let ca: string | undefined;
  if (values["tls-ca"] !== undefined) {
    try {
      ca = readFileSync(values["tls-ca"], "utf8");
    } catch (error) {
      throw new UsageError(`--tls-ca: cannot read ${values["tls-ca"]}: ${(error as Error).message}`);
    }
  }
  const p = palette(io.color ?? false);
  const interrupted = io.interrupt?.();
  const client = clientChoice(values.client);
  const external: Partial<SuiteOptions> = {
    ...(values.admin === undefined ? {} : { admin: values.admin }),
    ...(token === undefined ? {} : { adminToken: token }),
    ...(values["admin-viewer-token"] === undefined ? {} : { adminViewerToken: values["admin-viewer-token"] }),
    ...(values["restart-cmd"] === undefined ? {} : { restartCmd: values["restart-cmd"] }),
    ...(values["default-config"] === true ? { defaultConfig: true } : {}),
    ...(ca === undefined && values.insecure !== true ? {} : { tls: { ...(ca === undefined ? {} : { ca }), insecure: values.insecure === true } }),
  };
  const options: EmbeddedSuiteOptions = {
    ...(client === undefined ? {} : { client }),
    profile: values.full === true ? "full" : "quick",
    ...(values.only === undefined ? {} : { only: values.only }),
    ...(values.seed === undefined ? {} : { seed: integerFlag("seed", values.seed, 0) }),
    ...(values.path === undefined ? {} : { path: values.path }),
    ...(values.expectations === undefined ? {} : { expectations: values.expectations }),
    ...(values["no-report"] === true ? { out: null } : values.out === undefined ? {} : { out: values.out }),
    progress: progressListener({
      line: values.json === true ? (text) => io.err(text) : (text) => io.out(text),
      ...(io.status === undefined ? {} : { status: io.status.bind(io) }),
      columns: process.stderr.columns ?? 100,
    }, p),
    ...(interrupted === undefined ? {} : { bail: () => interrupted.aborted }),
    command: "polywire conformance",
  };
  let result;
  try {
    // Without --broker: the reference broker in this process, with the TypeScript client's adapter unless --client says otherwise.
    result = values.broker === undefined ? await runEmbeddedSuite(options) : await runSuite({ ...options, ...external, broker: values.broker });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/ECONNREFUSED|could not connect|ENOTFOUND|EHOSTUNREACH|timed out|TIMEOUT/i.test(message)) {
      throw new CliError(`cannot reach the broker under test: ${message}`, ExitCode.UNAVAILABLE, "check --broker (and that the broker is running)");
    }
    throw error;
  }
  const { report, files } = result;
  if (values.json === true) {
    io.out(JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
  } else {
    io.out("");
    for (const line of formatSummary(report, p)) io.out(line);
    if (files !== undefined) io.out(p.dim(`reports: ${files.html}, ${files.junit}, ${files.json}`));
  }
  if (interrupted?.aborted === true) return ExitCode.INTERRUPTED;
  return report.ok ? ExitCode.OK : ExitCode.FAILURE;
}

/** `polywire conformance`: the conformance suite against a broker (and a client). */
export const command: Command = { name: "conformance", summary: "check a broker (and a client) against the spec, clause by clause", usage, run };
