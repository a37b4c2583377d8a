/**
 * One accepted connection's place in the broker's connection count
 * (PW-TRANS-007), taken the moment it was accepted, before any TLS
 * handshake, WebSocket upgrade or Hello.
 */
export interface Admission {
  /** `performance.now()` when the connection was accepted: the handshake deadline runs from here (PW-TRANS-008). */
  readonly acceptedAt: number;
  /**
   * Within the connection limit. False for a connection accepted while
   * the broker held its maximum: it is kept only to answer its Hello with
   * TOO_MANY_CONNECTIONS (PW-LIM-004).
   */
  readonly slot: boolean;
  /** Set once the connection reached the broker as a transport (its TLS handshake or upgrade is done). */
  started: boolean;
  /** Gives the place back; idempotent. */
  release(): void;
}

/**
 * Counts every accepted connection against `maxConnections` (PW-TRANS-007).
 * Beyond it, up to `overflow` connections are admitted without a slot, to
 * be refused at Hello with TOO_MANY_CONNECTIONS (PW-LIM-004); further ones
 * are refused at once, so what a flood of connections can make the broker
 * hold (file descriptors, TLS state) is bounded by `maxConnections +
 * overflow` whatever the transport.
 */
export class SocketGate {
  #open = 0;
  #refusing = 0;
  #peak = 0;
  readonly #max: number;
  readonly #overflow: number;

  constructor(maxConnections: number, overflow = 64) {
    this.#max = maxConnections;
    this.#overflow = overflow;
  }

  /** Connections holding a slot. */
  get open(): number {
    return this.#open;
  }

  /** Connections open now, and the most open at once since the previous call (for MemoryUpkeep). */
  takePeak(): { open: number; peak: number } {
    const open = this.#open + this.#refusing;
    const peak = Math.max(this.#peak, open);
    this.#peak = open;
    return { open, peak };
  }

  /** Admits a connection just accepted; undefined when it must be closed at once. */
  admit(): Admission | undefined {
    const slot = this.#open < this.#max;
    if (!slot && this.#refusing >= this.#overflow) return undefined;
    if (slot) this.#open++;
    else this.#refusing++;
    this.#peak = Math.max(this.#peak, this.#open + this.#refusing);
    let released = false;
    return {
      acceptedAt: performance.now(),
      slot,
      started: false,
      release: () => {
        if (released) return;
        released = true;
        if (slot) this.#open--;
        else this.#refusing--;
      },
    };
  }
}
