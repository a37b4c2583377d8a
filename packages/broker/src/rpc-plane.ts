import { create, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { CallCancelSchema, CallChunkSchema, CallCreditSchema, CallResponseSchema, RegisterResponderResponseSchema, UnregisterResponderResponseSchema } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { PolywireError } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { Registry } from "prom-client";
import { integerSetting } from "./config/errors.js";
import { registerRpcMetrics } from "./rpc-metrics.js";
import { DEFAULT_MAX_CALLS_PER_CONNECTION, DEFAULT_MAX_RESPONDERS_PER_CONNECTION, DEFAULT_MAX_WAITING_BYTES, DEFAULT_MAX_WAITING_CALLS, RpcRouter, type CallOutcome, type RpcClock, type RpcPeer } from "./rpc/index.js";
import { route, type RequestSession, type Route } from "./route.js";

/** Request/reply bounds of a broker (PW-RPC-006); every one has the reference broker's default. */
export interface RpcOptions {
  /** Calls in progress one connection started, and calls routed to one connection's responders. Default 1,024. */
  readonly maxCallsPerConnection?: number;
  /** Responders one connection registers. Default 1,024. */
  readonly maxRespondersPerConnection?: number;
  /** Calls waiting for a responder of one service. Default 1,024. */
  readonly maxWaitingCalls?: number;
  /** Bytes of first payloads held by calls waiting for a responder, all services together. Default 64 MiB. */
  readonly maxWaitingBytes?: number;
}

export const RPC_OPTION_KEYS: readonly (keyof RpcOptions)[] = ["maxCallsPerConnection", "maxRespondersPerConnection", "maxWaitingCalls", "maxWaitingBytes"];

function positive(name: keyof RpcOptions, value: number | undefined, fallback: number): number {
  return value === undefined ? fallback : integerSetting(`rpc.${name}`, value, 1, 0xffff_ffff, "a positive 32-bit integer");
}

/** Checks the options, a BrokerConfigError naming a bad one; the broker does so before it opens anything. */
export function checkRpcOptions(options: RpcOptions = {}): void {
  for (const key of RPC_OPTION_KEYS) positive(key, options[key], 1);
}

/**
 * A route for a frame kind of a call that is not a request (CallResponse,
 * CallChunk, CallCredit, CallCancel from a client): nothing answers it and
 * it holds no max_in_flight slot; an Error answers it only when the handler
 * throws (UNKNOWN_CALL, PW-RPC-013).
 */
function streamRoute<S extends DescMessage>(kind: FrameKind, _schema: S, handle: (message: MessageShape<S>, frame: Frame, session: RequestSession) => void): Route {
  const r = {
    kind,
    answers: () => false,
    handle: ({ message, frame, session }: { message: unknown; frame: Frame; session: RequestSession }) => {
      handle(message as MessageShape<S>, frame, session);
      return undefined;
    },
  };
  // The session decodes the message with the protocol table's schema for `kind`, which is `_schema`.
  return r as unknown as Route;
}

/**
 * The request/reply plane of a broker (§10): one {@link RpcRouter} for
 * every connection, an {@link RpcPeer} per session that takes part, and
 * the routes of the plane's seven frame kinds. A session's close ends its
 * calls and unregisters its responders (PW-RPC-004, -034, -043).
 */
export class RpcPlane {
  readonly router: RpcRouter;
  readonly #peers = new WeakMap<RequestSession, RpcPeer>();

  constructor(options: RpcOptions = {}, registry?: Registry, clock?: RpcClock) {
    let observe: ((service: string, outcome: CallOutcome, seconds: number) => void) | undefined;
    this.router = new RpcRouter({
      maxCallsPerConnection: positive("maxCallsPerConnection", options.maxCallsPerConnection, DEFAULT_MAX_CALLS_PER_CONNECTION),
      maxRespondersPerConnection: positive("maxRespondersPerConnection", options.maxRespondersPerConnection, DEFAULT_MAX_RESPONDERS_PER_CONNECTION),
      maxWaitingCalls: positive("maxWaitingCalls", options.maxWaitingCalls, DEFAULT_MAX_WAITING_CALLS),
      maxWaitingBytes: positive("maxWaitingBytes", options.maxWaitingBytes, DEFAULT_MAX_WAITING_BYTES),
      ...(clock === undefined ? {} : { clock }),
      observe: (service, outcome, seconds) => observe?.(service, outcome, seconds),
    });
    if (registry !== undefined) observe = registerRpcMetrics(registry, this.router.counters);
  }

  #peer(session: RequestSession): RpcPeer {
    let peer = this.#peers.get(session);
    if (peer === undefined) {
      if (session.signal.aborted) throw new PolywireError("CONNECTION_LOST", "the connection is closing");
      const push = session.push;
      const created = this.router.peer({
        frame: (kind, id, message, payload) => push.writeFrame(kind, id, message, payload),
        error: (error, id) => push.writeError(error, id),
        drained: () => push.drained(),
        pauseReadingUntil: (until) => session.pauseReadingUntil(until),
        get writable() {
          return push.writable;
        },
        onWritable: (listener) => push.onWritable(listener),
      });
      session.signal.addEventListener("abort", () => this.router.close(created), { once: true });
      this.#peers.set(session, created);
      peer = created;
    }
    return peer;
  }

  routes(): Route[] {
    return [
      route({
        kind: FrameKind.REGISTER_RESPONDER_REQUEST,
        handle: ({ message, session }) => {
          this.router.register(this.#peer(session), message.responderId, message.service, message.maxConcurrency);
          return { message: toBinary(RegisterResponderResponseSchema, create(RegisterResponderResponseSchema, { responderId: message.responderId })) };
        },
      }),
      route({
        kind: FrameKind.UNREGISTER_RESPONDER_REQUEST,
        handle: ({ message, session }) => {
          this.router.unregister(this.#peer(session), message.responderId);
          return { message: toBinary(UnregisterResponderResponseSchema, create(UnregisterResponderResponseSchema, { responderId: message.responderId })) };
        },
      }),
      route({
        kind: FrameKind.CALL_REQUEST,
        // The call holds its correlation id and a max_in_flight slot until it ends on the caller's leg (PW-RPC-012); every frame of it is written by the router.
        handle: ({ message, frame, session }) => this.router.call(this.#peer(session), frame.correlationId, message, frame.message, frame.payload).then(() => undefined),
      }),
      streamRoute(FrameKind.CALL_RESPONSE, CallResponseSchema, (message, frame, session) => this.router.response(this.#peer(session), frame.correlationId, message, frame.message, frame.payload)),
      streamRoute(FrameKind.CALL_CHUNK, CallChunkSchema, (message, frame, session) => this.router.chunk(this.#peer(session), frame.correlationId, frame.message, message.endOfStream, frame.payload)),
      streamRoute(FrameKind.CALL_CREDIT, CallCreditSchema, (message, frame, session) => this.router.credit(this.#peer(session), frame.correlationId, frame.message, message.bytes)),
      streamRoute(FrameKind.CALL_CANCEL, CallCancelSchema, (_message, frame, session) => this.router.cancel(this.#peer(session), frame.correlationId, frame.message)),
    ];
  }
}
