import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { CALL_OUTCOMES, type CallOutcome, type RpcCounters } from "./rpc/index.js";

/**
 * The request/reply plane's Prometheus series (PW-ADMIN-045 naming). Counts
 * are read from the router's plain counters at collection; the latency
 * histogram is observed per routed call (its `service` label takes only
 * names a responder registered, so a caller cannot grow the label set).
 * Returns the observer the router calls when a routed call ends.
 */
export function registerRpcMetrics(registry: Registry, counters: Readonly<RpcCounters>): (service: string, outcome: CallOutcome, seconds: number) => void {
  const seen = new Map<string, number>();
  // Raises a child by what its plain number gained since the last collection.
  const follow = (child: { inc(by: number): void }, key: string, now: number): void => {
    child.inc(now - (seen.get(key) ?? 0));
    seen.set(key, now);
  };
  const calls = new Counter({
    name: "polywire_rpc_calls_total",
    help: "Calls ended, by outcome (ok, app_error, no_responders, deadline_exceeded, cancelled, responder_gone, caller_gone, flow_control_violation).",
    labelNames: ["outcome"] as const,
    registers: [registry],
    collect: () => {
      for (const outcome of CALL_OUTCOMES) follow(calls.labels(outcome), `outcome:${outcome}`, counters.outcomes[outcome]);
    },
  });
  const bytes = new Counter({
    name: "polywire_rpc_body_bytes_total",
    help: "Body bytes streamed through the broker, by direction (request: caller to responder; response: responder to caller).",
    labelNames: ["direction"] as const,
    registers: [registry],
    collect: () => {
      follow(bytes.labels("request"), "request", counters.requestBytes);
      follow(bytes.labels("response"), "response", counters.responseBytes);
    },
  });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge("polywire_rpc_calls_in_flight", "Calls in progress, waiting ones included.", () => counters.inFlight);
  gauge("polywire_rpc_calls_waiting", "Calls waiting for a responder below its max_concurrency.", () => counters.waiting);
  gauge("polywire_rpc_waiting_bytes", "Bytes of first payloads held by calls waiting for a responder.", () => counters.waitingBytes);
  gauge("polywire_rpc_responders", "Registered responders, on every connection.", () => counters.responders);
  const latency = new Histogram({
    name: "polywire_rpc_call_duration_seconds",
    help: "Time from a routed CallRequest's arrival to the end of the call, by service.",
    labelNames: ["service"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (service, _outcome, seconds) => latency.labels(service).observe(seconds);
}
