import { randomBytes } from "node:crypto";
import { Feature, type Welcome } from "@polywire/proto/session";
import { ClauseViolation, PropertyFailure } from "../clause.js";
import type { AdapterClient } from "../client/adapter-client.js";
import { BrokerError } from "../wire/messages.js";
import { Monitor } from "../wire/monitor.js";
import { WireSession, type SessionOptions } from "../wire/session.js";
import type { CaseContext, ConformanceCase, Profile } from "./case.js";
import { loadClauses, type Clause } from "./clauses.js";
import { clauseCoverage, mustCoverage, planeSummaries } from "./coverage.js";
import { findExpectation, matchesAny, NO_EXPECTATIONS, type Expectations } from "./expectations.js";
import { failsRun, type CaseResult, type RunReport } from "./results.js";
import { Unsupported, type Target, type VariantBroker } from "./target.js";

/** Receives progress while a run goes on. */
export interface ProgressListener {
  /** The run starts `total` cases. */
  started?(total: number, target: string): void;
  caseStarted?(name: string, index: number, total: number): void;
  caseFinished?(result: CaseResult, index: number, total: number): void;
}

/** Options of {@link runConformance}. */
export interface RunOptions {
  readonly target: Target;
  /** The client under test, for client cases; without one they are skipped. */
  readonly client?: AdapterClient;
  /** Default "quick". */
  readonly profile?: Profile;
  /** Globs over case ids and clause ids: only cases matching one run. */
  readonly only?: readonly string[];
  /** Seed of every seeded case; default a random one per case. */
  readonly seed?: number;
  /** A fast-check replay path (with `seed` and `only`). */
  readonly path?: string;
  readonly expectations?: Expectations;
  readonly cases: readonly ConformanceCase[];
  readonly progress?: ProgressListener;
  /** The clauses to report coverage of; default `spec/clauses.json`. */
  readonly clauses?: readonly Clause[];
  /** The command that started the run, for replay lines. Default "polywire conformance". */
  readonly command?: string;
  /** Stops the run after the first result for which this returns true (the rest of the cases are not run). */
  readonly bail?: (result: CaseResult) => boolean;
}

let topicCounter = 0;
const RUN_TAG = randomBytes(3).toString("hex");

/** How sessions reach the target: its TLS settings and, for brokers in this process, its `memory://` dialer. */
function reach(target: Target): Pick<SessionOptions, "tls" | "inProcess"> {
  return { ...(target.tls === undefined ? {} : { tls: target.tls }), ...(target.inProcess === undefined ? {} : { inProcess: target.inProcess }) };
}

async function probe(target: Target): Promise<Welcome> {
  const session = await WireSession.open(target.url, { monitor: new Monitor(), ...reach(target) });
  const welcome = session.welcome;
  session.destroy();
  return welcome;
}

function timeout(ms: number, signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => reject(new TimeoutFailure(`the case did not finish within ${ms} ms`)), ms);
    signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  });
}

class TimeoutFailure extends Error {
  override readonly name = "TimeoutFailure";
}

interface Outcome {
  readonly error: unknown;
  readonly notes: string[];
  readonly durationMs: number;
}

async function execute(c: ConformanceCase, env: { target: Target; welcome: Welcome; profile: Profile; seed: number; path: string | undefined; client: AdapterClient | undefined }): Promise<Outcome> {
  const monitor = new Monitor();
  const controller = new AbortController();
  const cleanups: Array<() => unknown> = [];
  const notes: string[] = [];
  const sessions: WireSession[] = [];
  const started = performance.now();
  const open = async (url: string, options: Partial<SessionOptions> = {}): Promise<WireSession> => {
    const session = await WireSession.open(url, { monitor, ...reach(env.target), ...options });
    sessions.push(session);
    return session;
  };
  const slug = c.id.replace(/[^a-zA-Z0-9]+/g, "-").slice(0, 40);
  const ctx: CaseContext = {
    target: env.target,
    welcome: env.welcome,
    profile: env.profile,
    seed: env.seed,
    path: env.path,
    signal: controller.signal,
    monitor,
    client: env.client,
    topic: async (partitions = 1, config = {}) => {
      const name = `cf-${RUN_TAG}-${slug}-${++topicCounter}`;
      await env.target.createTopic(name, partitions, config);
      return name;
    },
    connect: (options) => open(env.target.url, options),
    connectTo: (url, options) => open(url, options),
    variant: async (options) => {
      const variant: VariantBroker = await env.target.variant(options);
      cleanups.push(() => variant.close());
      return variant;
    },
    defer: (cleanup) => cleanups.push(cleanup),
    note: (text) => notes.push(text),
  };
  let error: unknown;
  try {
    await Promise.race([c.run(ctx), timeout(c.timeoutMs ?? 30_000, controller.signal)]);
  } catch (e) {
    error = e;
  } finally {
    controller.abort();
    for (const s of sessions) s.destroy();
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (e) {
        notes.push(`cleanup failed: ${(e as Error).message}`);
      }
    }
  }
  // A rule the monitor saw broken fails the case even when its own checks passed.
  if (error === undefined && monitor.violations.length > 0) error = monitor.violations[0];
  return { error, notes, durationMs: performance.now() - started };
}

function describeFailure(error: unknown): NonNullable<CaseResult["failure"]> {
  if (error instanceof ClauseViolation) return { clause: error.clause, message: error.message, ...(error instanceof PropertyFailure ? { detail: error.info.counterexample } : {}) };
  if (error instanceof BrokerError) return { clause: undefined, message: `unexpected ${error.message}` };
  if (error instanceof Error) return { clause: undefined, message: `${error.name}: ${error.message}`, ...(error.stack === undefined ? {} : { detail: error.stack }) };
  return { clause: undefined, message: String(error) };
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * Runs the selected cases against `options.target` one after another and
 * builds the report: per-case results, the coverage of every clause, and
 * per-plane summaries. Resolves with the report; `report.ok` says whether
 * the run passed.
 */
export async function runConformance(options: RunOptions): Promise<RunReport> {
  const profile = options.profile ?? "quick";
  const clauses = options.clauses ?? loadClauses();
  const expectations = options.expectations ?? NO_EXPECTATIONS;
  const startedAt = new Date();
  const started = performance.now();
  const baseSeed = options.seed ?? randomBytes(4).readUInt32BE() >>> 1;
  const welcome = await probe(options.target);
  const granted = new Set<Feature>(welcome.features);
  const hasAdmin = options.target.admin !== undefined;
  const selected = options.cases.filter((c) => (c.profiles ?? ["quick", "full"]).includes(profile)
    && (options.only === undefined || options.only.length === 0 || matchesAny(options.only, [c.id, ...c.clauses])));
  options.progress?.started?.(selected.length, options.target.name);
  const results: CaseResult[] = [];
  let index = 0;
  for (const c of selected) {
    index++;
    const seed = c.seeded === true ? (options.seed ?? (baseSeed + index) >>> 0) : 0;
    const name = c.seeded === true ? `${c.id} [seed=${seed}]` : c.id;
    options.progress?.caseStarted?.(name, index, selected.length);
    const result = await runOne(c, name, seed);
    results.push(result);
    options.progress?.caseFinished?.(result, index, selected.length);
    if (options.bail?.(result) === true) break;
  }

  async function runOne(c: ConformanceCase, name: string, seed: number): Promise<CaseResult> {
    const base = { id: c.id, name, title: c.title, plane: c.plane, role: c.role ?? "broker", clauses: c.clauses, ...(c.seeded === true ? { seed } : {}) } as const;
    const missing = (c.features ?? []).filter((f) => !granted.has(f));
    if (missing.length > 0) {
      return { ...base, status: "not-applicable", durationMs: 0, reason: `the target does not grant ${missing.map((f) => `FEATURE_${Feature[f]}`).join(", ")}`, notes: [] };
    }
    const caps = options.target.capabilities;
    for (const need of c.needs ?? []) {
      const ok = need === "admin" ? hasAdmin : caps[need];
      if (!ok) return { ...base, status: "skipped", durationMs: 0, reason: `the target cannot ${need === "admin" ? "create topics (no --admin)" : need === "defaultConfig" ? "promise a default configuration" : need === "restart" ? "be restarted (no --restart-cmd)" : need === "crash" ? "be killed (embedded target only)" : "start configured variants (embedded target only)"}`, notes: [] };
    }
    if (c.role === "client" && options.client === undefined) {
      return { ...base, status: "skipped", durationMs: 0, reason: "no client under test (--client)", notes: [] };
    }
    const env = { target: options.target, welcome, profile, seed, path: options.path, client: options.client };
    let outcome = await execute(c, env);
    if (outcome.error instanceof Unsupported) {
      return { ...base, status: "skipped", durationMs: outcome.durationMs, reason: outcome.error.message, notes: outcome.notes };
    }
    const failingNames = (error: unknown): string[] => [c.id, ...(error instanceof ClauseViolation ? [error.clause] : [])];
    let flaky = false;
    if (outcome.error !== undefined && findExpectation(expectations.knownFlaky, failingNames(outcome.error)) !== undefined) {
      const retry = await execute(c, env);
      flaky = retry.error === undefined;
      outcome = { ...retry, notes: [...outcome.notes, `first attempt failed: ${describeFailure(outcome.error).message}`, ...retry.notes] };
    }
    const knownFailing = findExpectation(expectations.knownFailing, outcome.error === undefined ? [c.id, ...c.clauses] : failingNames(outcome.error));
    if (outcome.error === undefined) {
      if (knownFailing !== undefined) {
        return { ...base, status: "fixed", durationMs: outcome.durationMs, reason: `listed as known-failing (${knownFailing.pattern}) but passed: remove it from the expectations`, notes: outcome.notes };
      }
      return { ...base, status: flaky ? "flaky" : "passed", durationMs: outcome.durationMs, notes: outcome.notes };
    }
    const failure = describeFailure(outcome.error);
    const replay = c.seeded === true
      ? `${options.command ?? "polywire conformance"} --only ${quote(c.id)} --seed ${seed}${outcome.error instanceof PropertyFailure ? ` --path ${quote(outcome.error.info.path)}` : ""}`
      : undefined;
    return {
      ...base,
      status: knownFailing === undefined ? "failed" : "known-failing",
      durationMs: outcome.durationMs,
      failure,
      ...(replay === undefined ? {} : { replay }),
      ...(knownFailing === undefined ? {} : { reason: `known failing (${knownFailing.pattern}): ${knownFailing.reason}` }),
      notes: outcome.notes,
    };
  }

  const coverage = clauseCoverage({ clauses, cases: options.cases, results, granted, hasAdmin });
  const planes = planeSummaries(coverage, results, granted, hasAdmin);
  return {
    target: options.target.name,
    client: options.client?.name,
    profile,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    seed: baseSeed,
    granted: [...granted].map((f) => `FEATURE_${Feature[f] ?? f}`),
    cases: results,
    clauses: coverage,
    planes,
    coverage: mustCoverage(coverage, planes),
    ok: !results.some((r) => failsRun(r.status)),
  };
}
