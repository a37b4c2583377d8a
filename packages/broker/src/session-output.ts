import { PolywireError, type FrameChannel, type FrameMessage, type FramePayload } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { BrokerMetrics } from "./metrics.js";

/**
 * A session's output and its back-pressure. When the transport pushes back
 * on a write, the session stops reading and stops serving requests already
 * read (they wait in the backlog) until it drains, so a client that does
 * not read its responses cannot make the broker buffer more than the
 * answers already in flight. Handlers about to write a large answer wait
 * for a turn ({@link awaitWritable}), one at a time while the client does
 * not read. The backlog also holds the frames pipelined behind a Hello until
 * Welcome (PW-SESS-023).
 */
export class SessionOutput {
  readonly #channel: FrameChannel;
  readonly #metrics: BrokerMetrics;
  readonly #serve: (frame: Frame) => void;
  #readBlocked = false;
  #serving = false;
  #readingStopped = false;
  #paused = false;
  #sealed = false;
  #writers: Array<() => void> = [];
  #writerTurn = false;
  #backlog: Frame[] = [];
  #backlogBytes = 0;
  #drainListeners: Array<() => void> = [];
  #drainWaiters: Array<() => void> = [];
  #holds = 0;

  /** `serve` handles one frame taken from the backlog. */
  constructor(channel: FrameChannel, metrics: BrokerMetrics, serve: (frame: Frame) => void) {
    this.#channel = channel;
    this.#metrics = metrics;
    this.#serve = serve;
  }

  /** Bytes of the frames waiting in the backlog (PW-LIM-006). */
  get backlogBytes(): number {
    return this.#backlogBytes;
  }

  /** True when a frame read now must wait in the backlog: the client is not reading, or others wait before it. */
  get holding(): boolean {
    return this.#readBlocked || this.#backlog.length > 0;
  }

  /** Writes one frame, unless the session is sealed (a connection-level Error went out, or it closed); false when the transport pushed back or the session is sealed. */
  write(kind: number, correlationId: number, message: Uint8Array, payload?: FramePayload): boolean {
    if (this.#sealed) return false;
    return this.#channel.write(kind, correlationId, message, payload);
  }

  /** True while a frame written now is taken without push-back, and the session is not sealed. */
  get writable(): boolean {
    return !this.#readBlocked && !this.#sealed && this.#channel.writable;
  }

  /** Writes one unsolicited frame (correlation id 0); false when the transport pushed back or the session is sealed. */
  push(kind: number, message: FrameMessage, payload?: FramePayload): boolean {
    if (this.#sealed) return false;
    return this.#channel.write(kind, 0, message, payload);
  }

  /** Resolves once the transport takes writes again: at once when it does now, or when the session is sealed. */
  drained(): Promise<void> {
    if (!this.#readBlocked || this.#sealed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Reads nothing more from the client until `until` settles (it sends what another connection cannot take yet, §10). */
  pauseReadingUntil(until: Promise<void>): void {
    this.#holds++;
    this.updateReading();
    void until.finally(() => {
      this.#holds--;
      this.updateReading();
    });
  }

  #wakeDrainWaiters(): void {
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** Calls `listener` every time the transport drains after pushing back (planes that push resume then). */
  onDrained(listener: () => void): void {
    this.#drainListeners.push(listener);
  }

  /** Answers one request (or the connection, on id 0) with an Error frame. */
  writeError(error: PolywireError, correlationId: number, requestCorrelationId?: number): void {
    if (this.#sealed) return;
    this.#metrics.errors.labels(error.code).inc();
    this.#channel.writeError(error, correlationId, requestCorrelationId === undefined ? {} : { requestCorrelationId });
  }

  /** Answers a Ping with its Pong (PW-SESS-010), or with MALFORMED_FRAME when it does not decode (PW-FRAME-008). */
  pong(ping: Frame): void {
    if (this.#sealed) return;
    try {
      this.#channel.answerPing(ping);
    } catch (cause) {
      this.writeError(new PolywireError("MALFORMED_FRAME", `cannot decode Ping (PW-FRAME-008): ${(cause as Error).message}`, { cause }), ping.correlationId);
    }
  }

  /** No frame may follow: a connection-level Error was sent (PW-FRAME-013), or the session closed. */
  seal(): void {
    this.#sealed = true;
  }

  /** Called after every frame written (the channel's `afterWrite`). */
  afterWrite(kind: number, accepted: boolean): void {
    this.#metrics.kind(kind).sent++;
    if (!accepted && !this.#readBlocked) {
      this.#readBlocked = true;
      this.updateReading();
    }
    this.#releaseWriter();
  }

  /** The transport drained: serve the backlog and read again. */
  onWritable(): void {
    if (!this.#readBlocked) return;
    this.#readBlocked = false;
    this.#wakeDrainWaiters();
    if (!this.#writerTurn) this.#releaseWriter();
    // Pushes first: they were waiting longest, and the backlog's answers may push back again.
    for (const listener of this.#drainListeners) listener();
    this.runBacklog();
    this.updateReading();
  }

  /**
   * Resolves when the client is reading its responses. Handlers about to
   * write a large answer (fetch) wait here, and are let through one at a
   * time while the transport pushes back, so unread answers do not pile up
   * in memory.
   */
  awaitWritable(): Promise<void> {
    if (!this.#readBlocked && !this.#writerTurn) {
      this.#writerTurn = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#writers.push(resolve));
  }

  /** The turn passes with every frame written, to one waiter at a time. */
  #releaseWriter(): void {
    this.#writerTurn = false;
    if (this.#readBlocked || this.#writers.length === 0) return;
    this.#writerTurn = true;
    (this.#writers.shift() as () => void)();
  }

  /** Lets every handler waiting for a turn go on (the session closed). */
  releaseWriters(): void {
    for (const release of this.#writers.splice(0)) release();
    this.#wakeDrainWaiters();
  }

  /** Keeps a frame to serve later, in order. */
  hold(frame: Frame): void {
    this.#backlog.push(frame);
    this.#backlogBytes += frame.message.byteLength + frame.payload.byteLength;
  }

  /** Drops the backlog unserved (the connection failed). */
  dropBacklog(): void {
    this.#backlog = [];
    this.#backlogBytes = 0;
  }

  /** The handshake is done: requests are served from now on, the ones held behind the Hello first (PW-SESS-023). */
  startServing(): void {
    this.#serving = true;
    this.runBacklog();
  }

  /**
   * Serves frames that arrived while the client was not reading its
   * responses (or behind the Hello), in order, until the transport pushes
   * back again or the session stops serving.
   */
  runBacklog(): void {
    while (this.#backlog.length > 0 && !this.#readBlocked && this.#serving) {
      const frame = this.#backlog.shift() as Frame;
      this.#backlogBytes -= frame.message.byteLength + frame.payload.byteLength;
      this.#serve(frame);
    }
  }

  /** Reads and serves nothing more (the session is closing). */
  stopReading(): void {
    this.#serving = false;
    this.#readingStopped = true;
    this.updateReading();
  }

  /** Pauses the transport while writes are pushed back or the session is closing; resumes otherwise. */
  updateReading(): void {
    const pause = this.#readBlocked || this.#readingStopped || this.#holds > 0;
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.#channel.transport.pause();
    else this.#channel.transport.resume();
  }
}
