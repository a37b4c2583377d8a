/**
 * `@polywire/conformance/embedded`: the reference broker (or a mutant of
 * it) started in the runner's process, as a target with every capability:
 * restarts, a child process to kill, configured variants, in-process
 * `memory://` listeners. It needs `@polywire/broker` installed (and with it
 * `@polywire/core`, whose transport opens `memory://` URLs); checking a
 * broker by URL (the main entry point) needs neither.
 */
export { runEmbeddedSuite, REFERENCE_EXPECTATIONS } from "./embedded-suite.js";
export type { EmbeddedSuiteOptions } from "./embedded-suite.js";
export { EmbeddedTarget } from "./embedded-target.js";
export { referenceBroker } from "./implementation.js";
export type { BrokerImplementation, BrokerPartitionLog, BrokerStorage, Mutant, RunningBroker } from "./implementation.js";
export { delegateLog, interceptPartitions } from "./intercept.js";
