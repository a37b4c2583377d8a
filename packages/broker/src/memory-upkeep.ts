import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { trimMemory } from "@polywire/wasm-codec";

/** How often memory is looked after. */
export const UPKEEP_INTERVAL_MS = 10_000;
// A burst is over when at least this many connections have gone and at most half the peak is left.
const BURST_CONNECTIONS = 256;

let collector: (() => void) | null | undefined;

// A full garbage collection: `gc` when the process was started with
// --expose-gc, else the same function obtained the way test runners do
// (the flag set at run time applies to a context made afterwards).
function collectGarbage(): boolean {
  if (collector === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === "function") {
      collector = exposed;
    } else {
      try {
        setFlagsFromString("--expose-gc");
        collector = runInNewContext("gc") as () => void;
      } catch {
        collector = null;
      }
    }
  }
  collector?.();
  return collector !== null;
}

/**
 * Gives memory back after a burst. WASM memory never shrinks, so the
 * codec's instance is replaced once it grew far past its size when fresh
 * (trimMemory). And after a burst of connections (a flood of hostile
 * sockets, issue 12) V8 keeps the heap it grew to until its memory reducer
 * runs, which can take more than a minute on a quiet broker: once most of
 * a burst's connections are gone, one full collection lets the heap shrink
 * at once. A broker serving steady traffic never triggers it.
 */
export class MemoryUpkeep {
  readonly #connections: () => { open: number; peak: number };
  readonly #timer: ReturnType<typeof setInterval>;
  #collections = 0;

  /** `connections` returns the connections open now and the most open since its previous call. */
  constructor(connections: () => { open: number; peak: number }) {
    this.#connections = connections;
    this.#timer = setInterval(() => this.tick(), UPKEEP_INTERVAL_MS);
    this.#timer.unref();
  }

  /** One round; returns whether it collected garbage. */
  tick(): boolean {
    trimMemory();
    const { open, peak } = this.#connections();
    // Native state of closed sockets (TLS, libuv) is freed by the first collection's finalizers; the second gives back what they held.
    if (peak - open >= BURST_CONNECTIONS && open <= peak / 2) this.#collections = 2;
    if (this.#collections === 0) return false;
    this.#collections--;
    return collectGarbage();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
