import { PolywireError } from "@polywire/core";
import type { RequestOptions } from "./connection-options.js";

/** What {@link Keepalive} needs from its connection. */
export interface KeepaliveSettings {
  /** Ping after this long without writing anything; 0 disables pings. */
  readonly intervalMs: number;
  /** A Ping unanswered this long means the connection is dead. */
  readonly pongTimeoutMs: number;
  /** `performance.now()` of the last frame written. */
  lastWritten(): number;
  ping(options: RequestOptions): Promise<number>;
  /** The broker stopped answering: the connection is lost. */
  dead(error: PolywireError): void;
}

/**
 * Pings the broker after `intervalMs` without a frame written (PW-SESS-010)
 * and declares the connection dead when a Pong does not come in time.
 */
export class Keepalive {
  readonly #settings: KeepaliveSettings;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** Starts at once. */
  constructor(settings: KeepaliveSettings) {
    this.#settings = settings;
    if (settings.intervalMs > 0) this.#schedule(settings.intervalMs);
  }

  /** No more pings. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return;
    const s = this.#settings;
    const idle = performance.now() - s.lastWritten();
    if (idle < s.intervalMs) {
      this.#schedule(s.intervalMs - idle);
      return;
    }
    s.ping({ timeoutMs: s.pongTimeoutMs }).catch((error: unknown) => {
      const failure = PolywireError.from(error);
      if (failure.code === "TIMEOUT") s.dead(new PolywireError("CONNECTION_LOST", `no Pong within ${s.pongTimeoutMs} ms`, { cause: failure }));
    });
    this.#schedule(s.intervalMs);
  };

  #schedule(ms: number): void {
    const timer = setTimeout(this.#tick, ms);
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }
}
