import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Frame } from "@polywire/wasm-codec";
import type { ServerSession } from "./session.js";

/** What a handler answers with: one response frame. */
export interface Reply {
  readonly kind: number;
  readonly message: Uint8Array;
  readonly payload?: Uint8Array;
}

/** One decoded request, as a handler sees it. */
export interface RequestContext<M> {
  readonly message: M;
  readonly frame: Frame;
  readonly session: ServerSession;
}

/**
 * How the session serves one request frame kind: the message schema to
 * decode, whether it starts work that Drain refuses (PW-SESS-015), and the
 * handler. The features a kind needs come from the frame-kind table of
 * spec §3.5 (`frameKindTable`, PW-SESS-006). Each plane contributes routes;
 * the session itself knows none of them.
 */
export interface Route<S extends DescMessage = DescMessage> {
  readonly schema: S;
  /** Decodes the request message; protobuf-es `fromBinary` of `schema` unless a faster equivalent exists. */
  readonly decode?: (bytes: Uint8Array) => MessageShape<S>;
  readonly startsWork: boolean;
  /** False when the broker sends no response (ACKS_NONE); such requests do not count against max_in_flight. Default true. */
  answers?(message: MessageShape<S>): boolean;
  handle(request: RequestContext<MessageShape<S>>): Reply | undefined | Promise<Reply | undefined>;
}

/** Builds a {@link Route} with its message type inferred from `schema`. */
export function route<S extends DescMessage>(r: Route<S>): Route {
  return r as unknown as Route;
}
