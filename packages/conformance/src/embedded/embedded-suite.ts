import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tsAdapterCommand } from "../adapters/index.js";
import type { RunReport } from "../runner/results.js";
import { runSuite, type ReportFiles, type SuiteOptions } from "../suite.js";
import { EmbeddedTarget } from "./embedded-target.js";
import { referenceBroker, type BrokerImplementation } from "./implementation.js";

const PACKAGE_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** The expectations checked in for the reference broker. */
export const REFERENCE_EXPECTATIONS = join(PACKAGE_DIR, "expectations", "reference.json");

/** Options of {@link runEmbeddedSuite}: those of `runSuite` that do not describe an external broker. */
export interface EmbeddedSuiteOptions extends Omit<SuiteOptions, "broker" | "target" | "admin" | "adminToken" | "adminViewerToken" | "restartCmd" | "defaultConfig" | "tls"> {
  /** The implementation to start (a mutant). Default the reference broker. */
  readonly implementation?: BrokerImplementation;
}

/**
 * Runs the suite against a broker started in this process: the reference
 * broker (checked with its expectations) or a mutant. The client under
 * test defaults to the reference TypeScript client's adapter, so the run
 * checks both roles of the reference implementation.
 */
export function runEmbeddedSuite(options: EmbeddedSuiteOptions = {}): Promise<{ report: RunReport; files: ReportFiles | undefined }> {
  const { implementation, ...rest } = options;
  return runSuite({
    ...rest,
    target: () => EmbeddedTarget.start(implementation ?? referenceBroker),
    client: options.client ?? tsAdapterCommand(),
    expectations: options.expectations ?? (implementation === undefined ? REFERENCE_EXPECTATIONS : undefined),
  });
}
