import { Counter, Gauge, type Registry } from "prom-client";
import type { PubSubCounters } from "./pubsub/index.js";

/**
 * The pub/sub plane's Prometheus series (PW-ADMIN-045 naming), read from
 * the router's plain counters when metrics are collected, so routing pays
 * a field increment per event and no label lookup.
 */
export function registerPubSubMetrics(registry: Registry, counters: Readonly<PubSubCounters>): void {
  // Each counter follows a plain number: it is raised by what the number gained since the last collection.
  const follow = (name: string, help: string, read: () => number): void => {
    let seen = 0;
    const counter: Counter = new Counter({
      name,
      help,
      registers: [registry],
      collect: () => {
        const now = read();
        counter.inc(now - seen);
        seen = now;
      },
    });
  };
  follow("polywire_pubsub_messages_in_total", "Valid PublishRequests routed.", () => counters.published);
  follow("polywire_pubsub_messages_out_total", "Deliveries written to subscribers.", () => counters.delivered);
  follow("polywire_pubsub_messages_routed_total", "Subscriptions messages were routed to (the sum of routed counts, one per queue group).", () => counters.routed);
  follow("polywire_pubsub_slow_consumer_notices_total", "SlowConsumer notices sent.", () => counters.notices);
  const seen = new Map<string, number>();
  const dropped = new Counter({
    name: "polywire_pubsub_messages_dropped_total",
    help: "Messages dropped for a subscription, by reason (max_pending: at the subscription's max_pending; pending_bytes: at the connection's byte budget; unsubscribed: queued when the subscription or its connection ended).",
    labelNames: ["reason"] as const,
    registers: [registry],
    collect: () => {
      for (const [reason, now] of [["max_pending", counters.droppedMaxPending], ["pending_bytes", counters.droppedPendingBytes], ["unsubscribed", counters.droppedUnsubscribed]] as const) {
        const child = dropped.labels(reason);
        child.inc(now - (seen.get(reason) ?? 0));
        seen.set(reason, now);
      }
    },
  });
  new Gauge({
    name: "polywire_pubsub_subscriptions",
    help: "Subscriptions held, on every connection (ended ones whose id is still taken included).",
    registers: [registry],
    collect() {
      this.set(counters.subscriptions);
    },
  });
}
