import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { initCompression } from "./batch/compress.js";
import { AdapterClient, builtinTsAdapter } from "./client/adapter.js";
import { ALL_CASES } from "./planes/index.js";
import { toHtml } from "./report/html.js";
import { toJUnit } from "./report/junit.js";
import type { ConformanceCase, Profile } from "./runner/case.js";
import { loadExpectations, NO_EXPECTATIONS, type Expectations } from "./runner/expectations.js";
import type { CaseResult, RunReport } from "./runner/results.js";
import { runConformance, type ProgressListener } from "./runner/run.js";
import { EmbeddedTarget } from "./target/embedded.js";
import { ExternalTarget } from "./target/external.js";
import { referenceBroker, type BrokerImplementation } from "./target/implementation.js";
import type { Target } from "./target/target.js";
import { usableAdminUrl } from "./wire/admin-url.js";
import type { DialTls } from "./wire/dial.js";
import { Monitor } from "./wire/monitor.js";
import { WireSession } from "./wire/session.js";

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** The expectations checked in for the reference broker. */
export const REFERENCE_EXPECTATIONS = join(PACKAGE_DIR, "expectations", "reference.json");
/** Where reports go by default (ignored by git). */
export const DEFAULT_REPORT_DIR = join(PACKAGE_DIR, "reports");

/** Options of {@link runSuite}; every field is optional. */
export interface SuiteOptions {
  /** The broker under test (`tcp://`, `tls://`, `unix://`); default: an embedded reference broker started in this process. */
  readonly broker?: string;
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
  /** For the embedded target: the implementation to start (mutants). Default the reference broker. */
  readonly implementation?: BrokerImplementation;
  /**
   * The client under test: an adapter command line, `"ts"` for the
   * reference TypeScript client's adapter, or `"none"`. Default `"ts"` with
   * the embedded broker (the suite checks both roles of the reference
   * implementation) and `"none"` with `--broker`.
   */
  readonly client?: readonly string[] | "ts" | "none";
  /** Default "quick". */
  readonly profile?: Profile;
  /** Globs over case ids and clause ids. */
  readonly only?: readonly string[];
  readonly seed?: number;
  readonly path?: string;
  /** An expectations file, or the expectations themselves. Default: the reference list for the embedded reference broker, none otherwise. */
  readonly expectations?: string | Expectations;
  /** Directory for report.json, junit.xml and report.html; null writes none. Default `conformance/reports`. */
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

/**
 * Runs the conformance suite: starts (or reaches) the target broker and the
 * client under test, runs the selected cases, writes the reports, and
 * stops what it started. Resolves with the report; `report.ok` is the
 * verdict.
 */
export async function runSuite(options: SuiteOptions = {}): Promise<{ report: RunReport; files: ReportFiles | undefined }> {
  await initCompression();
  const embedded = options.broker === undefined;
  const admin = embedded ? undefined : options.admin ?? await advertisedAdminUrl(options.broker as string, options.tls);
  const target: Target = embedded
    ? await EmbeddedTarget.start(options.implementation ?? referenceBroker)
    : new ExternalTarget({
      url: options.broker as string,
      ...(admin === undefined ? {} : { adminUrl: admin }),
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      ...(options.adminViewerToken === undefined ? {} : { adminViewerToken: options.adminViewerToken }),
      ...(options.restartCmd === undefined ? {} : { restartCmd: options.restartCmd }),
      ...(options.defaultConfig === undefined ? {} : { defaultConfig: options.defaultConfig }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
  let client: AdapterClient | undefined;
  try {
    const choice = options.client ?? (embedded ? "ts" : "none");
    if (choice !== "none") client = await AdapterClient.start(choice === "ts" ? builtinTsAdapter() : choice);
    const expectations = typeof options.expectations === "string"
      ? loadExpectations(resolve(options.expectations))
      : options.expectations ?? (embedded && options.implementation === undefined ? loadExpectations(REFERENCE_EXPECTATIONS) : NO_EXPECTATIONS);
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
