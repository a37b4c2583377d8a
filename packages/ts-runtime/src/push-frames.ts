import type { Frame } from "@polywire/wasm-codec";
import type { BrokerLink } from "./broker-link.js";
import type { Connection } from "./connection.js";

/**
 * Unsolicited frames of given kinds on a link's current connection, handed
 * to whoever listens for their kind: one listener per connection however
 * many group consumers wait for notices, re-attached after each reconnect.
 */
export class PushFrames {
  readonly #link: BrokerLink;
  readonly #listeners = new Map<number, Set<(frame: Frame) => void>>();
  #attached: Connection | undefined;
  #watching = false;
  readonly #onFrame = (frame: Frame): void => {
    for (const listener of this.#listeners.get(frame.kind) ?? []) listener(frame);
  };

  constructor(link: BrokerLink) {
    this.#link = link;
  }

  /** Calls `listener` with each frame of `kind`; returns the function that stops it. */
  on(kind: number, listener: (frame: Frame) => void): () => void {
    let set = this.#listeners.get(kind);
    if (set === undefined) this.#listeners.set(kind, (set = new Set()));
    set.add(listener);
    if (!this.#watching) {
      this.#watching = true;
      this.#link.on("state", (state) => {
        if (state === "ready") this.#attach(this.#link.ready);
      });
    }
    this.#attach(this.#link.ready);
    return () => {
      set.delete(listener);
    };
  }

  #attach(connection: Connection | undefined): void {
    if (connection === undefined || connection === this.#attached) return;
    this.#attached?.off("frame", this.#onFrame);
    this.#attached = connection;
    connection.on("frame", this.#onFrame);
  }
}
