import type { CallRequest } from "@polywire/proto/rpc";
import { Credit } from "./credit.js";
import type { RpcPeer } from "./peer.js";
import type { Responder, Service } from "./service.js";

/** How a call ended, as the metrics count it. */
export type CallOutcome =
  | "ok"
  | "app_error"
  | "no_responders"
  | "deadline_exceeded"
  | "cancelled"
  | "responder_gone"
  | "caller_gone"
  | "flow_control_violation";

export const CALL_OUTCOMES: readonly CallOutcome[] = ["ok", "app_error", "no_responders", "deadline_exceeded", "cancelled", "responder_gone", "caller_gone", "flow_control_violation"];

/**
 * One call in progress (§10.2): its caller leg (the caller's odd
 * correlation id), and once routed its responder leg (a broker-chosen even
 * id on the responder's connection), the credit of each direction, the
 * deadline, and what the caller was sent so far.
 */
export class Call {
  readonly caller: RpcPeer;
  readonly callerId: number;
  readonly service: Service;
  readonly request: CallRequest;
  /** The caller's CallRequest message bytes, forwarded to the responder as they came (PW-RPC-011). */
  message: Uint8Array;
  /** Milliseconds on the plane's clock (PW-RPC-030). */
  readonly deadline: number;
  readonly started: number;
  /** The caller's first payload, held only while the call waits for a responder. */
  firstPayload: Uint8Array | undefined;
  responder: Responder | undefined;
  responderId = 0;
  /** Chunks the caller may send: granted by the responder. */
  readonly requestCredit = new Credit();
  /** Chunks the responder may send: granted by the caller (CallRequest.initial_credit first). */
  readonly responseCredit = new Credit();
  /** Credit the caller granted while the call waited: forwarded once it is routed (PW-RPC-041). */
  heldCredit = 0;
  /** The caller ended its body with an empty chunk while the call waited. */
  heldEnd = false;
  /** The caller sent `end_of_stream` (PW-RPC-040). */
  requestEnded: boolean;
  /** A CallResponse was forwarded to the caller. */
  responseStarted = false;
  ended = false;
  cancelTimer: () => void = () => {};
  readonly #done: () => void;

  constructor(caller: RpcPeer, callerId: number, service: Service, request: CallRequest, message: Uint8Array, deadline: number, started: number, done: () => void) {
    this.message = message;
    this.caller = caller;
    this.callerId = callerId;
    this.service = service;
    this.request = request;
    this.deadline = deadline;
    this.started = started;
    this.requestEnded = request.endOfStream;
    this.#done = done;
  }

  get routed(): boolean {
    return this.responder !== undefined;
  }

  /** Called once, when the call ended on the caller's leg. */
  finish(): void {
    this.#done();
  }
}
