import { Feature, FrameKind } from "@polywire/proto/session";
import { decodeMessage, frameKindTable, PolywireError, type FrameKindInfo, type RequestKind, type RequestMessage } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import { toPolywireError } from "./errors.js";
import type { Reply, Route, RequestSession } from "./route.js";
import type { SessionHost } from "./session.js";
import type { SessionOutput } from "./session-output.js";

/** What request dispatch needs from its session. */
export interface RequestsSide {
  readonly host: SessionHost;
  readonly output: SessionOutput;
  /** What handlers see of the session. */
  readonly view: RequestSession;
  /** Features granted in Welcome. */
  readonly features: ReadonlySet<Feature>;
  /** True once Drain was sent or the broker drains: new work is refused (PW-SESS-015). */
  readonly draining: boolean;
  /** True once the transport closed: answers are dropped. */
  readonly closed: boolean;
  /** Pong, Close and Error from the client. */
  sessionFrame(frame: Frame): void;
  /** Sends a connection-level Error and closes (PW-FRAME-016); `requestCorrelationId` names the request that caused it. */
  fail(error: PolywireError, correlationId: number, requestCorrelationId: number): void;
  /** The bytes of requests in flight changed (PW-LIM-006). */
  heldChanged(): void;
}

/** A request being handled. */
interface InFlight {
  readonly kind: number;
  readonly id: number;
  /** The kind of its answer, from the protocol table. */
  readonly answerKind: number | undefined;
  /** False for a request the broker does not answer (ACKS_NONE). */
  readonly answers: boolean;
  readonly started: number;
  /** Its frame's message and payload bytes, held until it is answered (PW-LIM-006). */
  readonly bytes: number;
}

/** What dispatch learns of a known frame kind the first time it sees one: fixed once the handshake is done. */
interface KnownKind {
  readonly info: FrameKindInfo;
  /** Every feature the kind needs was granted in Welcome (the first missing one otherwise). */
  readonly missing: Feature | undefined;
  readonly route: Route | undefined;
}

function kindName(kind: number): string {
  return FrameKind[kind] ?? String(kind);
}

/**
 * The requests of one session after the handshake: the checks of
 * PW-SESS-022 in their order, the route of each kind, correlation ids in
 * flight (PW-FRAME-011, PW-FRAME-016), `max_in_flight` (PW-LIM-002), and
 * the answer or Error of each. A request's frame counts in the inbound
 * budget until it is answered (PW-LIM-006).
 */
export class SessionRequests {
  readonly #side: RequestsSide;
  #inFlight = 0;
  readonly #inFlightIds = new Set<number>();
  #inFlightBytes = 0;
  #idleWaiters: Array<() => void> = [];
  // Known kinds by number, learnt as they come (a peer's unknown kinds are never kept).
  readonly #known: (KnownKind | undefined)[] = [];

  constructor(side: RequestsSide) {
    this.#side = side;
  }

  /** Bytes of the frames of requests being handled (PW-LIM-006). */
  get bytes(): number {
    return this.#inFlightBytes;
  }

  /** Resolves when no request is being processed. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Serves one frame after the handshake, checked in the order of PW-SESS-022. */
  dispatch(frame: Frame): void {
    const side = this.#side;
    const output = side.output;
    const kind = frame.kind;
    const id = frame.correlationId;
    const known = this.#known[kind] ?? this.#learn(kind);
    const info = known?.info;
    if (info === undefined || kind === FrameKind.UNSPECIFIED) {
      output.writeError(new PolywireError("UNKNOWN_FRAME_KIND", `unknown frame kind ${kind} (PW-FRAME-009)`), id);
      return;
    }
    if (kind === FrameKind.PONG || kind === FrameKind.CLOSE || kind === FrameKind.ERROR) {
      side.sessionFrame(frame);
      return;
    }
    if (info.sentBy === "broker" || kind === FrameKind.HELLO || kind === FrameKind.AUTH_RESPONSE) {
      output.writeError(new PolywireError("INVALID_ARGUMENT", `frame kind ${kindName(kind)} is not one a client may send after the handshake (PW-SESS-021)`), id);
      return;
    }
    const missing = (known as KnownKind).missing;
    if (missing !== undefined) {
      output.writeError(new PolywireError("FEATURE_NOT_NEGOTIATED", `frame kind ${kindName(kind)} needs feature ${Feature[missing] ?? missing}, which was not granted on this connection (PW-SESS-006)`), id);
      return;
    }
    if (info.answeredBy !== undefined) {
      // A client-initiated request, Ping included (PW-FRAME-016, PW-SESS-024).
      if (id % 2 === 0) {
        output.writeError(new PolywireError("INVALID_ARGUMENT", `client requests must carry an odd correlation id, got ${id} (PW-FRAME-010)`), id);
        return;
      }
      if (this.#inFlightIds.has(id)) {
        // An answer on `id` could not be told apart from the first request's: the connection is done (PW-FRAME-016).
        side.fail(new PolywireError("INVALID_ARGUMENT", `correlation id ${id} of a ${kindName(kind)} is already awaiting a response (PW-FRAME-011, PW-FRAME-016)`), 0, id);
        return;
      }
    }
    if (kind === FrameKind.PING) {
      // Answered at once: a Ping holds no max_in_flight slot (PW-SESS-025).
      output.pong(frame);
      return;
    }
    const route = (known as KnownKind).route;
    if (route === undefined) {
      // Only reachable if the broker granted a feature it does not serve.
      output.writeError(new PolywireError("INTERNAL", `frame kind ${kindName(kind)} has no handler on this broker`), id);
      return;
    }
    // The table's schema for this kind is the route's: the message is the route's type.
    let message: RequestMessage<RequestKind>;
    try {
      message = route.decode === undefined ? decodeMessage(info.message, frame.message) as RequestMessage<RequestKind> : route.decode(frame.message);
    } catch (cause) {
      output.writeError(new PolywireError("MALFORMED_FRAME", `cannot decode the message of frame kind ${kindName(kind)} (PW-FRAME-008): ${(cause as Error).message}`, { cause }), id);
      return;
    }
    if (info.startsWork && side.draining) {
      output.writeError(new PolywireError("SHUTTING_DOWN", "the broker is draining; send new work elsewhere (PW-SESS-015)"), id);
      return;
    }
    this.#handle(route, info.answeredBy, frame, message);
  }

  // Dispatch runs only after Welcome, so the features granted and the routes no longer change.
  #learn(kind: number): KnownKind | undefined {
    const info = frameKindTable.get(kind);
    if (info === undefined) return undefined;
    const known: KnownKind = {
      info,
      missing: info.features.find((f) => !this.#side.features.has(f)),
      route: this.#side.host.routes.get(kind),
    };
    this.#known[kind] = known;
    return known;
  }

  #handle(route: Route, answerKind: number | undefined, frame: Frame, message: RequestMessage<RequestKind>): void {
    const side = this.#side;
    const { kind, correlationId: id } = frame;
    const answers = route.answers === undefined || route.answers(message);
    const maxInFlight = side.host.limits.maxInFlight;
    // Requests without an answer (ACKS_NONE) hold no slot (PW-LIM-002).
    if (answers && this.#inFlightIds.size >= maxInFlight) {
      side.output.writeError(new PolywireError("TOO_MANY_IN_FLIGHT", `more than ${maxInFlight} requests awaiting a response (PW-LIM-002)`, { limit: maxInFlight }), id);
      return;
    }
    // Only an answered request is timed (the request-duration histogram).
    const started = answers ? performance.now() : 0;
    const bytes = frame.message.byteLength + frame.payload.byteLength;
    this.#inFlight++;
    this.#inFlightBytes += bytes;
    if (answers) this.#inFlightIds.add(id);
    const done: InFlight = { kind, id, answerKind, answers, started, bytes };
    let result: Reply | undefined | Promise<Reply | undefined>;
    try {
      result = route.handle({ message, frame, session: side.view });
    } catch (error) {
      this.#complete(done, undefined, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (reply) => this.#complete(done, reply, undefined),
        (error: unknown) => this.#complete(done, undefined, error),
      );
    } else {
      this.#complete(done, result, undefined);
    }
  }

  #complete(done: InFlight, reply: Reply | undefined, error: unknown): void {
    const side = this.#side;
    this.#inFlight--;
    this.#inFlightBytes -= done.bytes;
    if (done.answers) this.#inFlightIds.delete(done.id);
    if (!side.closed) {
      if (error !== undefined) {
        side.output.writeError(toPolywireError(error), done.id);
      } else if (reply !== undefined && done.answers && done.answerKind !== undefined) {
        side.output.write(done.answerKind, done.id, reply.message, reply.payload);
      }
      // A request sent without expecting an answer (ACKS_NONE, a Publish without ack) has no time to its answer, even when refused.
      if (done.answers) side.host.metrics.kind(done.kind).latency.observe((performance.now() - done.started) / 1000);
    }
    side.heldChanged();
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
