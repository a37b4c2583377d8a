import type { Feature, Welcome } from "@polywire/proto/session";
import type { AdapterClient } from "../client/adapter-client.js";
import type { Monitor } from "../wire/monitor.js";
import type { SessionOptions, WireSession } from "../wire/session.js";
import type { Target, VariantBroker } from "./target.js";

/** The planes of the spec, as the report groups them. */
export type PlaneId = "session" | "log" | "groups" | "pubsub" | "rpc" | "admin";

/** `quick` (at most a minute against a local broker) or `full`. */
export type Profile = "quick" | "full";

/** Something a case needs from the target beyond a running broker. */
export type Need = "restart" | "crash" | "variants" | "defaultConfig" | "admin";

/**
 * One conformance case. It names the clauses it checks; a failure names the
 * clause it found broken (a {@link ClauseViolation}). Each plane keeps its
 * cases in its own folder under `planes/` and lists them in its `index.ts`.
 */
export interface ConformanceCase {
  /** `<plane>/<name>`, stable: expectations and `--only` match it. */
  readonly id: string;
  readonly title: string;
  readonly plane: PlaneId;
  /** Who is under test: the broker (the default) or the client behind the adapter. */
  readonly role?: "broker" | "client";
  /** The clauses the case checks; coverage counts them. */
  readonly clauses: readonly string[];
  /** Features the target must grant; otherwise the case is not applicable. */
  readonly features?: readonly Feature[];
  readonly needs?: readonly Need[];
  /** Profiles that run the case; default both. */
  readonly profiles?: readonly Profile[];
  /** Property-based: runs from a seed, which the case's name carries. */
  readonly seeded?: boolean;
  /** Default 30 000 ms. */
  readonly timeoutMs?: number;
  run(ctx: CaseContext): Promise<void>;
}

/** What a case gets to work with. Sessions, topics and variants it opens are cleaned up after it. */
export interface CaseContext {
  readonly target: Target;
  /** The Welcome of the runner's probe, which asked for every feature. */
  readonly welcome: Welcome;
  readonly profile: Profile;
  /** The seed of a seeded case. */
  readonly seed: number;
  /** A fast-check replay path, with `--path`. */
  readonly path: string | undefined;
  /** Aborted when the case times out. */
  readonly signal: AbortSignal;
  readonly monitor: Monitor;
  /** The client under test (client cases only). */
  readonly client: AdapterClient | undefined;
  /** A fresh topic, unique to this run. */
  topic(partitions?: number, config?: Record<string, string>): Promise<string>;
  /** A session to the target (handshake done unless `handshake: false`). */
  connect(options?: Partial<SessionOptions>): Promise<WireSession>;
  /** A session to another URL (a variant broker). */
  connectTo(url: string, options?: Partial<SessionOptions>): Promise<WireSession>;
  /** Starts a variant broker, closed after the case. */
  variant(options: Parameters<Target["variant"]>[0]): Promise<VariantBroker>;
  /** Registers cleanup to run after the case, last registered first. */
  defer(cleanup: () => unknown): void;
  /** Adds a line to the case's report. */
  note(text: string): void;
}
