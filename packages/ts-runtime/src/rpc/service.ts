import { PolywireError } from "@polywire/core";
import type { Connection } from "../connection.js";
import type { Handler } from "./served-call.js";
import { checkWindow } from "./caller.js";

/** Options of `client.serve`. */
export interface ServeOptions {
  /** Most calls handled at once: the responder's `max_concurrency` (PW-RPC-003). Default 64; 0 means no limit. */
  readonly concurrency?: number;
  /** Aborting it drains the service, as {@link Service.close}. */
  readonly signal?: AbortSignal;
  /** Request bytes granted ahead of the handler's reading. Default 256 KiB. */
  readonly window?: number;
}

/** What a {@link Service} asks of the plane that serves it. */
export interface ServiceOwner {
  register(service: Service): Promise<void>;
  unregister(service: Service): Promise<void>;
  forget(service: Service): void;
}

/**
 * A responder this client registered for a service (`client.serve`): calls
 * routed to it run `handler`. {@link close} drains it: the broker stops
 * routing new calls (PW-RPC-004) and the running ones finish.
 */
export class Service implements AsyncDisposable {
  readonly name: string;
  readonly responderId: number;
  readonly handler: Handler;
  readonly concurrency: number;
  readonly window: number;
  /** Resolves once registered with the broker (PW-RPC-002); rejects when the broker refuses. */
  readonly ready: Promise<void>;
  registeredOn: Connection | undefined;
  readonly #owner: ServiceOwner;
  readonly #running = new Set<Promise<void>>();
  #accepting = true;
  #closing: Promise<void> | undefined;

  constructor(name: string, responderId: number, handler: Handler, options: ServeOptions, owner: ServiceOwner) {
    const concurrency = options.concurrency ?? 64;
    if (!Number.isInteger(concurrency) || concurrency < 0 || concurrency > 0xffff_ffff) throw new PolywireError("INVALID_ARGUMENT", `concurrency must be an integer from 0 to 2^32-1, got ${String(options.concurrency)}`);
    const window = checkWindow(options.window);
    if (window === 0) throw new PolywireError("INVALID_ARGUMENT", "a service's window must be at least 1 byte");
    this.name = name;
    this.responderId = responderId;
    this.handler = handler;
    this.concurrency = concurrency;
    this.window = window;
    this.#owner = owner;
    this.ready = owner.register(this);
    this.ready.catch(() => {
      this.#accepting = false;
      owner.forget(this);
    });
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) void this.close();
      else signal.addEventListener("abort", () => void this.close(), { once: true });
    }
  }

  /** True until the service is closing. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** Calls being handled now. */
  get running(): number {
    return this.#running.size;
  }

  /** Registers again on a new connection after a reconnect. */
  async reregister(): Promise<void> {
    try {
      await this.#owner.register(this);
    } catch {
      // A refusal now (the broker changed) leaves the service closed.
      this.#accepting = false;
      this.#owner.forget(this);
    }
  }

  /** Counts a call until it ends. */
  track(run: Promise<void>): void {
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  /**
   * Drains the service: no new calls are routed to it once the broker has
   * answered the UnregisterResponderRequest (PW-RPC-004), and the calls
   * running finish. Resolves when the last one has.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#accepting = false;
      await this.ready.catch(() => {});
      await this.#owner.unregister(this);
      while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
      this.#owner.forget(this);
    })();
    return this.#closing;
  }

  /** Takes no more calls, at once (the client gave up). */
  stop(): void {
    this.#accepting = false;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
