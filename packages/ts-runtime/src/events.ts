/** A map from event name to listener signature. */
export type EventMap = { [event: string]: (...args: never[]) => void };

/**
 * A minimal typed event emitter that works in every runtime (no
 * `node:events`). Listeners run synchronously in registration order; a
 * listener that throws does not stop the others (the error is reported with
 * `reportError` where it exists, else rethrown asynchronously).
 */
export class Emitter<E extends EventMap> {
  // Each event's listeners, replaced (never changed) when one is added or
  // removed: an emit walks the list as it was when it started, without
  // copying it.
  #listeners = new Map<keyof E, ReadonlyArray<E[keyof E]>>();

  /** Adds a listener (once: adding it again changes nothing); returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    const list = this.#listeners.get(event) ?? [];
    if (!list.includes(listener)) this.#listeners.set(event, [...list, listener]);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof E>(event: K, listener: E[K]): () => void {
    const off = this.on(event, ((...args: Parameters<E[K]>) => {
      off();
      (listener as (...a: Parameters<E[K]>) => void)(...args);
    }) as E[K]);
    return off;
  }

  /** Removes a listener. */
  off<K extends keyof E>(event: K, listener: E[K]): void {
    const list = this.#listeners.get(event);
    if (list?.includes(listener)) this.#listeners.set(event, list.filter((l) => l !== listener));
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    for (const listener of list) {
      try {
        (listener as (...a: Parameters<E[K]>) => void)(...args);
      } catch (error) {
        const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
        if (report !== undefined) report(error);
        else queueMicrotask(() => { throw error; });
      }
    }
  }
}
