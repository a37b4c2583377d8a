import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { HealthStatus } from "@polywire/proto/admin";
import { HealthCheckResponse_ServingStatus as ServingStatus, type Health } from "@polywire/proto/grpc/health/v1/health";
import type { AdminContext } from "./context.js";
import { checkHealth } from "./health.js";
import { quote } from "../quote.js";

/**
 * The broker's status as gRPC health checking reports it (PW-ADMIN-054):
 * SERVING exactly when `/readyz` answers 200 (GetHealth SERVING or
 * DEGRADED), NOT_SERVING while starting, draining or failing a check.
 */
async function servingStatus(context: AdminContext): Promise<ServingStatus> {
  const health = await checkHealth(context);
  return health.status === HealthStatus.NOT_SERVING ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
}

/**
 * One poll of the broker's status for every Watch stream, running only
 * while there are watchers, so that many watchers cost no more than one.
 */
class StatusMonitor {
  readonly #context: AdminContext;
  readonly #intervalMs: number;
  readonly #listeners = new Set<(status: ServingStatus) => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling = false;

  constructor(context: AdminContext, intervalMs: number) {
    this.#context = context;
    this.#intervalMs = intervalMs;
  }

  current(): Promise<ServingStatus> {
    return servingStatus(this.#context);
  }

  /** Calls `listener` with the status after every poll until the returned function is called. */
  subscribe(listener: (status: ServingStatus) => void): () => void {
    this.#listeners.add(listener);
    this.#timer ??= setInterval(() => void this.#poll(), this.#intervalMs);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const status = await this.current();
      for (const listener of this.#listeners) listener(status);
    } finally {
      this.#polling = false;
    }
  }
}

/** Options of {@link healthService}. */
export interface HealthServiceOptions {
  /** Fully-qualified names of the services the broker serves, which Check and Watch know besides "" (the broker). */
  readonly services: readonly string[];
  /** How often Watch streams look for a change. Default 500 ms. */
  readonly watchIntervalMs?: number;
}

/**
 * `grpc.health.v1.Health` on the admin listener (PW-ADMIN-054,
 * PW-ADMIN-055), so that grpc_health_probe, Kubernetes gRPC probes and load
 * balancers can ask the broker: Check answers at once, Watch sends the
 * status at once and again on every change until the client or the
 * broker's shutdown ends the stream, List names every known service.
 */
export function healthService(context: AdminContext, options: HealthServiceOptions): ServiceImpl<typeof Health> {
  const known = new Set(["", ...options.services]);
  const monitor = new StatusMonitor(context, options.watchIntervalMs ?? 500);
  return {
    async check(request) {
      if (!known.has(request.service)) throw new ConnectError(`unknown service ${quote(request.service)}; known: ${[...known].map((s) => JSON.stringify(s)).join(", ")}`, Code.NotFound);
      return { status: await monitor.current() };
    },

    async *watch(request, ctx: HandlerContext) {
      const signal = ctx.signal;
      let wake: (() => void) | undefined;
      const onAbort = (): void => wake?.();
      signal.addEventListener("abort", onAbort, { once: true });
      // An unknown service stays unknown on this broker: say so once, and keep the stream open as the protocol asks.
      let latest = known.has(request.service) ? await monitor.current() : ServingStatus.SERVICE_UNKNOWN;
      const unsubscribe = known.has(request.service)
        ? monitor.subscribe((status) => {
          latest = status;
          wake?.();
        })
        : () => undefined;
      try {
        let sent: ServingStatus | undefined;
        while (!signal.aborted) {
          if (latest !== sent) {
            sent = latest;
            yield { status: sent };
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
      }
    },

    async list() {
      const status = await monitor.current();
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
  };
}
