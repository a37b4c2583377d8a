import type { Feature } from "@polywire/proto/session";
import type { FrameMessage, FramePayload, PolywireError, RequestKind, RequestMessage } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";

/**
 * What a handler answers with: one response frame, of the kind the protocol
 * table names as the answer to the request.
 */
export interface Reply {
  readonly message: Uint8Array;
  /** The payload: one buffer, or chunks (storage reads) written without being joined. */
  readonly payload?: FramePayload;
}

/** What a request handler may know of, and ask of, the session it serves. */
export interface RequestSession {
  /** Aborted when the session closes; long-running handlers listen to it. */
  readonly signal: AbortSignal;
  /** The features granted in Welcome. */
  readonly features: ReadonlySet<Feature>;
  /** The authenticated identity; empty for anonymous sessions. */
  readonly principal: string;
  /** Hello.client_id (group members show it in DescribeGroup). */
  readonly clientId: string;
  /** The largest frame the client accepts (Hello.max_frame_size). */
  readonly clientMaxFrameSize: number;
  /**
   * Resolves when the client is reading its responses. A handler about to
   * write a large answer waits here; while the client does not read, such
   * handlers are let through one at a time.
   */
  awaitWritable(): Promise<void>;
  /** Frames the broker sends on its own (correlation id 0): Delivery, SlowConsumer. */
  readonly push: SessionPush;
  /**
   * Reads nothing more from the client until `until` settles: a plane that
   * forwards this client's bytes to a connection that does not read them
   * (§10) holds the sender instead of the bytes.
   */
  pauseReadingUntil(until: Promise<void>): void;
}

/**
 * The session's output for unsolicited frames. A plane that pushes
 * (pub/sub) writes while `writable` and otherwise waits for `onWritable`,
 * holding or dropping what it has by its own rules: the session never
 * buffers pushes for it.
 */
export interface SessionPush {
  /** False while the transport pushes back (the client is not reading), or once the session is closing. */
  readonly writable: boolean;
  /** Writes one frame with correlation id 0; false when the transport asks to wait (or the session is sealed). */
  write(kind: number, message: FrameMessage, payload?: FramePayload): boolean;
  /** Calls `listener` each time the transport drains after pushing back. */
  onWritable(listener: () => void): void;
  /**
   * Writes one frame of a stream the plane keeps (a call's frames, §10)
   * with the correlation id the plane chose; false when the transport asks
   * to wait (or the session is sealed).
   */
  writeFrame(kind: number, correlationId: number, message: Uint8Array, payload?: FramePayload): boolean;
  /** Writes an Error frame carrying `correlationId` (a call that failed, §10). */
  writeError(error: PolywireError, correlationId: number): void;
  /** Resolves once the transport takes writes again (at once when it does, or the session closed). */
  drained(): Promise<void>;
}

/** One decoded request, as a handler sees it. */
export interface RequestContext<M> {
  readonly message: M;
  readonly frame: Frame;
  readonly session: RequestSession;
}

/**
 * How the session serves one request frame kind. Its message schema, the
 * features it needs (PW-SESS-006), whether it starts work that Drain
 * refuses (PW-SESS-015) and the kind of its answer come from the protocol
 * table of `@polywire/core`. Each plane contributes routes; the session
 * itself knows none of them.
 */
export interface Route<K extends RequestKind = RequestKind> {
  readonly kind: K;
  /** Decodes the request message; `decodeMessage` of the table's schema unless a faster equivalent exists. */
  readonly decode?: (bytes: Uint8Array) => RequestMessage<K>;
  /** False when the broker sends no response (ACKS_NONE); such requests do not count against max_in_flight. Default true. */
  answers?(message: RequestMessage<K>): boolean;
  handle(request: RequestContext<RequestMessage<K>>): Reply | undefined | Promise<Reply | undefined>;
}

/** Builds a {@link Route} with its message type inferred from `kind`. */
export function route<K extends RequestKind>(r: Route<K>): Route {
  return r as unknown as Route;
}

/** Routes by the frame kind each serves. */
export function routeMap(routes: readonly Route[]): Map<number, Route> {
  return new Map(routes.map((r) => [r.kind as number, r]));
}
