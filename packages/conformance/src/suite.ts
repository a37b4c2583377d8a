import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { initCompression } from "./batch/compress.js";
import { AdapterClient } from "./client/adapter-client.js";
import { ALL_CASES } from "./planes/index.js";
import { toHtml } from "./report/html.js";
import { toJUnit } from "./report/junit.js";
import type { ConformanceCase, Profile } from "./runner/case.js";
import { loadExpectations, NO_EXPECTATIONS, type Expectations } from "./runner/expectations.js";
import type { CaseResult, RunReport } from "./runner/results.js";
import { runConformance, type ProgressListener } from "./runner/run.js";
import type { Target } from "./runner/target.js";
import { ExternalTarget } from "./target/external.js";
import { usableAdminUrl } from "./wire/admin-url.js";
import type { DialTls } from "./wire/dial.js";
import { Monitor } from "./wire/monitor.js";
import { WireSession } from "./wire/session.js";

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** Where reports go by default (ignored by git). */
export const DEFAULT_REPORT_DIR = join(PACKAGE_DIR, "reports");

/**
 * Options of {@link runSuite}: the broker under test is `broker` (a URL)
 * or `target` (started by the suite; the reference broker in this process
 * comes from `@polywire/conformance/embedded`, which also runs it).
 */
export interface SuiteOptions {
  /** The URL of the broker under test: `tcp://`, `tls://`, `unix://`, `ws://`, `wss://`. */
  readonly broker?: string;
  /** Starts the broker under test instead of reaching `broker`; the suite closes it after the run. */
  readonly target?: () => Promise<Target>;
  /** Its admin listener (`http://host:port`), to create topics; default the one its Welcome advertises (PW-ADMIN-060). */
  readonly admin?: string;
  /** The admin bearer token of an external broker with admin authentication (PW-ADMIN-046). */
  readonly adminToken?: string;
  /** A read-only admin token of that broker, to check `permission_denied` (PW-ADMIN-003). */
  readonly adminViewerToken?: string;
  /** A shell command that restarts the external broker on the same data. */
  readonly restartCmd?: string;
  /** The external broker runs with no configuration (PW-LIM-005). */
  readonly defaultConfig?: boolean;
  readonly tls?: DialTls;
  /**
   * The client under test: the command line (argv) of its adapter, or
   * `"none"` (the default). The reference TypeScript client's adapter is
   * `tsAdapterCommand()` of `@polywire/conformance/ts-adapter`.
   */
  readonly client?: readonly string[] | "none";
  /** Default "quick". */
  readonly profile?: Profile;
  /** Globs over case ids and clause ids. */
  readonly only?: readonly string[];
  readonly seed?: number;
  readonly path?: string;
  /** An expectations file, or the expectations themselves. Default none. */
  readonly expectations?: string | Expectations;
  /** Directory for report.json, junit.xml and report.html; null writes none. Default `packages/conformance/reports`. */
  readonly out?: string | null;
  readonly progress?: ProgressListener;
  /** Stops the run after the first result for which this returns true. */
  readonly bail?: (result: CaseResult) => boolean;
  /** The cases to choose from. Default every case of the suite. */
  readonly cases?: readonly ConformanceCase[];
  /** The command line that starts the suite, for replay lines. */
  readonly command?: string;
}

/** The report files written. */
export interface ReportFiles {
  readonly json: string;
  readonly junit: string;
  readonly html: string;
}

/** Writes report.json, junit.xml and report.html into `dir`. */
export function writeReports(report: RunReport, dir: string): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, "report.json"), junit: join(dir, "junit.xml"), html: join(dir, "report.html") };
  writeFileSync(files.json, `${JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
  writeFileSync(files.junit, toJUnit(report));
  writeFileSync(files.html, toHtml(report));
  return files;
}

/**
 * The admin URL an external broker advertises in its Welcome (PW-ADMIN-060,
 * PW-ADMIN-063), for a run without `admin`; undefined when it advertises
 * none or cannot be reached (the run's own probe then reports why).
 */
async function advertisedAdminUrl(url: string, tls: DialTls | undefined): Promise<string | undefined> {
  let session: WireSession;
  try {
    session = await WireSession.open(url, { monitor: new Monitor(), timeoutMs: 10_000, ...(tls === undefined ? {} : { tls }) });
  } catch {
    return undefined;
  }
  try {
    const advertised = session.welcome.adminUrl;
    return advertised === "" ? undefined : usableAdminUrl(advertised, url);
  } catch {
    // Not a URL: admin/advertised-url reports it against PW-ADMIN-060.
    return undefined;
  } finally {
    session.destroy();
  }
}

/** The external broker of `options.broker`, its admin URL from the options or its Welcome. */
async function externalTarget(url: string, options: SuiteOptions): Promise<Target> {
  const admin = options.admin ?? await advertisedAdminUrl(url, options.tls);
  return new ExternalTarget({
    url,
    ...(admin === undefined ? {} : { adminUrl: admin }),
    ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
    ...(options.adminViewerToken === undefined ? {} : { adminViewerToken: options.adminViewerToken }),
    ...(options.restartCmd === undefined ? {} : { restartCmd: options.restartCmd }),
    ...(options.defaultConfig === undefined ? {} : { defaultConfig: options.defaultConfig }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
}

/**
 * Runs the conformance suite: starts (or reaches) the target broker and the
 * client under test, runs the selected cases, writes the reports, and
 * stops what it started. Resolves with the report; `report.ok` is the
 * verdict.
 */
export async function runSuite(options: SuiteOptions): Promise<{ report: RunReport; files: ReportFiles | undefined }> {
  if ((options.broker === undefined) === (options.target === undefined)) {
    throw new TypeError("runSuite needs exactly one of broker (a URL) and target (a broker it starts, e.g. runEmbeddedSuite of @polywire/conformance/embedded)");
  }
  await initCompression();
  const target = options.broker === undefined ? await (options.target as () => Promise<Target>)() : await externalTarget(options.broker, options);
  let client: AdapterClient | undefined;
  try {
    if (options.client !== undefined && options.client !== "none") client = await AdapterClient.start(options.client);
    const expectations = typeof options.expectations === "string" ? loadExpectations(resolve(options.expectations)) : options.expectations ?? NO_EXPECTATIONS;
    const report = await runConformance({
      target,
      ...(client === undefined ? {} : { client }),
      profile: options.profile ?? "quick",
      ...(options.only === undefined ? {} : { only: options.only }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.path === undefined ? {} : { path: options.path }),
      expectations,
      cases: options.cases ?? ALL_CASES,
      ...(options.progress === undefined ? {} : { progress: options.progress }),
      ...(options.bail === undefined ? {} : { bail: options.bail }),
      ...(options.command === undefined ? {} : { command: options.command }),
    });
    const out = options.out === undefined ? DEFAULT_REPORT_DIR : options.out;
    return { report, files: out === null ? undefined : writeReports(report, out) };
  } finally {
    await client?.close();
    await target.close();
  }
}
