// The request/reply plane's core (§10): responders in queue groups per
// service, calls with their two legs, credit, deadlines and cancellation.
// It knows nothing of sessions or transports; rpc-plane.ts wires it to the
// routes of the plane's frame kinds.
export { RpcRouter, realClock, DEFAULT_CALL_TIMEOUT_MS, DEFAULT_MAX_CALLS_PER_CONNECTION, DEFAULT_MAX_RESPONDERS_PER_CONNECTION, DEFAULT_MAX_WAITING_BYTES, DEFAULT_MAX_WAITING_CALLS } from "./router.js";
export type { RpcClock, RpcCounters, RpcRouterOptions } from "./router.js";
export { RpcPeer } from "./peer.js";
export type { RpcSink } from "./peer.js";
export { CALL_OUTCOMES } from "./call.js";
export type { CallOutcome } from "./call.js";
export { Credit, MAX_CREDIT } from "./credit.js";
