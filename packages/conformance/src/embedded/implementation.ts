import { Broker, type BrokerOptions, type StorageConfig } from "@polywire/broker";

/** The broker's storage contract, as `BrokerOptions.storage` accepts an instance of it. */
export type BrokerStorage = Exclude<NonNullable<BrokerOptions["storage"]>, StorageConfig>;
/** One partition's log of a {@link BrokerStorage}. */
export type BrokerPartitionLog = ReturnType<BrokerStorage["partition"]>;

/** A broker started in this process by a {@link BrokerImplementation}. */
export interface RunningBroker {
  /** Data-plane URLs, in the order of `options.listeners`. */
  readonly urls: readonly string[];
  /** The admin listener's base URL (PW-ADMIN-001), when `options.http` was given. */
  readonly httpUrl: string | undefined;
  /** The storage the broker serves, for fault injection by the embedded target. */
  readonly storage: BrokerStorage;
  /** Shuts down gracefully (Drain, finish in-flight work, flush storage). */
  close(): Promise<void>;
}

/**
 * A broker implementation the runner can start in-process: the reference
 * broker, or one of the mutants in `packages/conformance/mutants/`. `module` and
 * `exportName` let a child process load the same implementation, for the
 * cases that kill a broker process (PW-LOG-006, PW-LOG-034).
 */
export interface BrokerImplementation {
  readonly name: string;
  /** URL of the module that exports this implementation. */
  readonly module: string;
  /** The export holding it. */
  readonly exportName: string;
  start(options: BrokerOptions): Promise<RunningBroker>;
}

/** The reference broker of `packages/broker`, unchanged. */
export const referenceBroker: BrokerImplementation = {
  name: "reference broker",
  module: import.meta.url,
  exportName: "referenceBroker",
  start: (options) => Broker.start(options),
};

/**
 * A broker with one deliberate bug, used to prove the suite catches it:
 * the quick profile must fail against it, on one of the clauses it breaks.
 */
export interface Mutant {
  readonly name: string;
  /** What the bug is, in one sentence. */
  readonly description: string;
  /** The clauses the bug breaks; the run must fail on one of them. */
  readonly breaks: readonly string[];
  readonly implementation: BrokerImplementation;
}
