import fc from "fast-check";
import type { Feature } from "@polywire/proto/session";
import { ClauseViolation, PropertyFailure } from "../clause.js";
import type { CaseContext, ConformanceCase, PlaneId } from "../runner/case.js";
import type { WireSession } from "../wire/session.js";

/**
 * The system under test as model commands see it: the case context, a few
 * connections, and per-plane state (topics, producer ids) keyed by plane.
 */
export interface World {
  readonly ctx: CaseContext;
  readonly sessions: WireSession[];
  readonly planes: Map<string, unknown>;
}

/** The reference model: one entry per plane, each plane's simplified model of the spec. */
export type WorldModel = { readonly planes: Map<string, unknown> };

/** A model command over the world. */
export type WorldCommand = fc.AsyncCommand<WorldModel, World>;

/**
 * What a plane contributes to model-based runs: the feature that enables
 * it, its fresh state for a run, and arbitraries of its commands. A plane
 * adds one of these in its own folder; the runner combines every plane the
 * target grants.
 */
export interface ModelPlugin {
  readonly plane: PlaneId;
  /** The key of the plane's state in `World.planes` and `WorldModel.planes`. */
  readonly key: string;
  readonly features: readonly Feature[];
  /** The clauses the plane's commands check. */
  readonly clauses: readonly string[];
  /** Sets up the real side (topics, ids) and returns the plane's initial model and real state. */
  setup(world: World): Promise<{ model: unknown; real: unknown }>;
  commands(profile: CaseContext["profile"]): Array<fc.Arbitrary<WorldCommand>>;
}

/** Options of {@link modelCase}. */
export interface ModelCaseOptions {
  readonly id: string;
  readonly title: string;
  readonly plane: PlaneId;
  readonly plugins: readonly ModelPlugin[];
  /** Connections in the world. Default 2. */
  readonly connections?: number;
}

/**
 * A seeded case running random command sequences (fast-check
 * `fc.commands`) against the target and the plugins' reference models. A
 * failure is shrunk to a minimal sequence and reported with the seed and
 * replay path; `--seed` and `--path` replay it.
 */
export function modelCase(options: ModelCaseOptions): ConformanceCase {
  const plugins = options.plugins;
  return {
    id: options.id,
    title: options.title,
    plane: options.plane,
    clauses: [...new Set(plugins.flatMap((p) => p.clauses))],
    features: [...new Set(plugins.flatMap((p) => p.features))],
    needs: ["admin"],
    seeded: true,
    timeoutMs: 120_000,
    async run(ctx) {
      const quick = ctx.profile === "quick";
      const arbitraries = plugins.flatMap((p) => p.commands(ctx.profile));
      let previous: World | undefined;
      const setup = async (): Promise<{ model: WorldModel; real: World }> => {
        for (const s of previous?.sessions ?? []) s.destroy();
        const world: World = { ctx, sessions: [], planes: new Map() };
        for (let i = 0; i < (options.connections ?? 2); i++) world.sessions.push(await ctx.connect());
        const model: WorldModel = { planes: new Map() };
        for (const p of plugins) {
          const { model: m, real } = await p.setup(world);
          model.planes.set(p.key, m);
          world.planes.set(p.key, real);
        }
        previous = world;
        return { model, real: world };
      };
      const replay = splitReplayPath(ctx.path);
      const property = fc.asyncProperty(fc.commands(arbitraries, { maxCommands: quick ? 30 : 120, size: "medium", ...(replay.replayPath === undefined ? {} : { replayPath: replay.replayPath }) }), async (commands) => {
        await fc.asyncModelRun(setup, commands);
      });
      const details = await fc.check(property, {
        seed: ctx.seed,
        numRuns: quick ? 15 : 100,
        ...(replay.path === undefined ? {} : { path: replay.path }),
        endOnFailure: false,
        interruptAfterTimeLimit: quick ? 60_000 : 600_000,
      });
      if (!details.failed) return;
      const cause = details.errorInstance;
      // fast-check renders only the commands that ran, comma-separated, with the replay path.
      const rendered = renderCommands(details.counterexample?.[0] ?? "");
      const clause = cause instanceof ClauseViolation ? cause.clause : (plugins[0]?.clauses[0] ?? "PW-LOG-031");
      const message = cause instanceof Error ? cause.message.replace(/^PW-[A-Z]+-\d+: /, "") : String(cause);
      throw new PropertyFailure(clause, `after ${details.numShrinks} shrinks, the sequence below fails: ${message}`, { path: replayArgument(details.counterexamplePath, rendered.replayPath), counterexample: rendered.text });
    },
  };
}

/**
 * A replay path as `--path` takes it: fast-check's run path, then `@` and
 * the commands' replay path (which fast-check needs to rebuild a shrunk
 * command sequence from the seed).
 */
export function splitReplayPath(path: string | undefined): { path?: string; replayPath?: string } {
  if (path === undefined) return {};
  const at = path.indexOf("@");
  return at < 0 ? { path } : { path: path.slice(0, at), replayPath: path.slice(at + 1) };
}

/** Splits fast-check's rendering of a command sequence into one command per line and its replay path. */
export function renderCommands(commands: unknown): { text: string; replayPath: string | undefined } {
  const raw = String(commands);
  const replayPath = /\/\*replayPath="([^"]*)"\*\//.exec(raw)?.[1];
  const text = raw.replace(/\s*\/\*replayPath="[^"]*"\*\//, "").split(/,(?=[A-Z][A-Za-z]*\()/).join("\n");
  return { text, replayPath };
}

/** The `--path` value that replays a failure: run path and commands replay path. */
export function replayArgument(counterexamplePath: string | null, replayPath: string | undefined): string {
  return `${counterexamplePath ?? ""}${replayPath === undefined ? "" : `@${replayPath}`}`;
}

/** Reads a plane's model from the world model. */
export function planeModel<M>(model: WorldModel, key: string): M {
  return model.planes.get(key) as M;
}

/** Reads a plane's real state from the world. */
export function planeReal<R>(world: World, key: string): R {
  return world.planes.get(key) as R;
}
