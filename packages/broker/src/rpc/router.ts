import { CallStatus, type CallRequest, type CallResponse } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { checkHeaderKeys, checkPublishSubject, PolywireError, type PolywireErrorCode } from "@polywire/core";
import { Call, CALL_OUTCOMES, type CallOutcome } from "./call.js";
import { encodeCancel, encodeCredit, encodeRoutedRequest, encodeStatus, END_CHUNK } from "./codec.js";
import { RpcPeer, type RpcSink } from "./peer.js";
import { Responder, Service } from "./service.js";

/** The reference broker's default for each bound of PW-RPC-006. */
export const DEFAULT_MAX_CALLS_PER_CONNECTION = 1024;
export const DEFAULT_MAX_RESPONDERS_PER_CONNECTION = 1024;
export const DEFAULT_MAX_WAITING_CALLS = 1024;
/** Bytes of first payloads the calls waiting for a responder hold, on every service together. */
export const DEFAULT_MAX_WAITING_BYTES = 64 * 1024 * 1024;
/** The deadline of a call whose `timeout_ms` is 0 (PW-RPC-030). */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/** The plane's clock: milliseconds, monotonic, and a one-shot timer. Tests may drive their own. */
export interface RpcClock {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: RpcClock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface RpcRouterOptions {
  readonly maxCallsPerConnection?: number;
  readonly maxRespondersPerConnection?: number;
  readonly maxWaitingCalls?: number;
  readonly maxWaitingBytes?: number;
  readonly clock?: RpcClock;
  /** Told of every call that ended after it was routed: its service, outcome and duration in seconds. */
  readonly observe?: (service: string, outcome: CallOutcome, seconds: number) => void;
}

/** Plain counters the metrics read when collected. */
export interface RpcCounters {
  readonly outcomes: Record<CallOutcome, number>;
  /** Calls in progress, waiting ones included. */
  inFlight: number;
  /** Calls waiting for a responder with room. */
  waiting: number;
  /** Bytes of first payloads those calls hold. */
  waitingBytes: number;
  responders: number;
  /** CallChunk payload bytes forwarded, by direction (first payloads included). */
  requestBytes: number;
  responseBytes: number;
}

const UINT32 = 0xffff_ffff;

/**
 * The request/reply plane's core (§10): responders in queue groups per
 * service, the table of calls and their two legs, credit on both
 * directions, deadlines, cancellation and the one terminal event of each
 * call. It knows nothing of sessions or sockets: each connection is an
 * {@link RpcPeer} writing through its {@link RpcSink}, and time comes from
 * an {@link RpcClock}.
 */
export class RpcRouter {
  readonly counters: RpcCounters = {
    outcomes: Object.fromEntries(CALL_OUTCOMES.map((o) => [o, 0])) as Record<CallOutcome, number>,
    inFlight: 0,
    waiting: 0,
    waitingBytes: 0,
    responders: 0,
    requestBytes: 0,
    responseBytes: 0,
  };
  readonly #services = new Map<string, Service>();
  readonly #maxCalls: number;
  readonly #maxResponders: number;
  readonly #maxWaiting: number;
  readonly #maxWaitingBytes: number;
  readonly #clock: RpcClock;
  readonly #observe: RpcRouterOptions["observe"];

  constructor(options: RpcRouterOptions = {}) {
    this.#maxCalls = options.maxCallsPerConnection ?? DEFAULT_MAX_CALLS_PER_CONNECTION;
    this.#maxResponders = options.maxRespondersPerConnection ?? DEFAULT_MAX_RESPONDERS_PER_CONNECTION;
    this.#maxWaiting = options.maxWaitingCalls ?? DEFAULT_MAX_WAITING_CALLS;
    this.#maxWaitingBytes = options.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES;
    this.#clock = options.clock ?? realClock;
    this.#observe = options.observe;
  }

  /** A connection's side of the plane. */
  peer(sink: RpcSink): RpcPeer {
    const peer = new RpcPeer(sink, this.#maxCalls);
    // Drained after pushing back: its responders have room again (PW-RPC-047).
    sink.onWritable(() => {
      if (!peer.closed) for (const r of [...peer.responders.values()]) this.#dispatchWaiting(r.service);
    });
    return peer;
  }

  /** RegisterResponderRequest (PW-RPC-001, -002, -006): routed to from the moment this returns. */
  register(peer: RpcPeer, responderId: number, serviceName: string, maxConcurrency: number): void {
    checkPublishSubject(serviceName);
    if (responderId === 0) throw new PolywireError("INVALID_ARGUMENT", "responder_id must be non-zero (PW-RPC-001)");
    if (peer.responders.has(responderId)) throw new PolywireError("RESPONDER_EXISTS", `responder ${responderId} is already registered on this connection (PW-RPC-001)`);
    if (peer.responders.size >= this.#maxResponders) {
      throw new PolywireError("TOO_MANY_RESPONDERS", `this connection already registers ${this.#maxResponders} responders (PW-RPC-006)`, { limit: this.#maxResponders });
    }
    let service = this.#services.get(serviceName);
    if (service === undefined) {
      service = new Service(serviceName);
      this.#services.set(serviceName, service);
    }
    const responder = new Responder(peer, responderId, service, maxConcurrency);
    peer.responders.set(responderId, responder);
    service.add(responder);
    this.counters.responders++;
    // Calls waiting for the service go to it once the RegisterResponderResponse is out (PW-RPC-002).
    queueMicrotask(() => this.#dispatchWaiting(service));
  }

  /** UnregisterResponderRequest (PW-RPC-004): no new calls; routed ones run on. */
  unregister(peer: RpcPeer, responderId: number): void {
    const responder = peer.responders.get(responderId);
    if (responder === undefined) throw new PolywireError("UNKNOWN_RESPONDER", `responder ${responderId} is not registered on this connection (PW-RPC-004)`);
    this.#remove(responder);
  }

  #remove(responder: Responder): void {
    responder.peer.responders.delete(responder.id);
    const service = responder.service;
    service.remove(responder);
    this.counters.responders--;
    if (service.responders > 0) return;
    // Nobody left to wait for (PW-RPC-005).
    for (const call of [...service.waiting]) this.#endWith(call, "no_responders", CallStatus.NO_RESPONDERS, "NO_RESPONDERS");
    if (service.waiting.size === 0) this.#services.delete(service.name);
  }

  /**
   * A caller's CallRequest (PW-RPC-010): routes it, queues it or answers
   * NO_RESPONDERS at once. Throws, the call never starting, for a bad
   * service name or a bound (PW-RPC-015, PW-RPC-006). The promise resolves
   * when the call ended on the caller's leg.
   */
  call(peer: RpcPeer, callerId: number, request: CallRequest, message: Uint8Array, payload: Uint8Array): Promise<void> {
    checkPublishSubject(request.service);
    checkHeaderKeys(request.headers);
    if (peer.calls.size >= this.#maxCalls) {
      throw new PolywireError("TOO_MANY_CALLS", `this connection already has ${this.#maxCalls} calls in progress (PW-RPC-006)`, { limit: this.#maxCalls });
    }
    const service = this.#services.get(request.service);
    const now = this.#clock.now();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    if (service === undefined || service.responders === 0) {
      // At once, no timer involved (PW-RPC-020).
      this.counters.outcomes.no_responders++;
      peer.send(FrameKind.CALL_RESPONSE, callerId, encodeStatus(CallStatus.NO_RESPONDERS));
      return Promise.resolve();
    }
    const responder = service.pick();
    if (responder === undefined && service.waiting.size >= this.#maxWaiting) {
      throw new PolywireError("TOO_MANY_CALLS", `service ${request.service} already has ${this.#maxWaiting} calls waiting for a responder (PW-RPC-006)`, { limit: this.#maxWaiting });
    }
    if (responder === undefined && this.counters.waitingBytes + payload.byteLength > this.#maxWaitingBytes) {
      throw new PolywireError("TOO_MANY_CALLS", `calls waiting for a responder already hold ${this.counters.waitingBytes} bytes of payload; the bound is ${this.#maxWaitingBytes} (PW-RPC-006)`, { limit: this.#maxWaitingBytes });
    }
    const timeout = request.timeoutMs === 0 ? DEFAULT_CALL_TIMEOUT_MS : request.timeoutMs;
    const call = new Call(peer, callerId, service, request, message, now + timeout, now, finish);
    call.firstPayload = payload;
    // The caller's first grant: 0 is unlimited (PW-RPC-041).
    call.responseCredit.initial(request.initialCredit);
    peer.calls.set(callerId, call);
    this.counters.inFlight++;
    this.counters.requestBytes += payload.byteLength;
    call.cancelTimer = this.#clock.after(timeout, () => this.#deadline(call));
    if (responder !== undefined) {
      this.#route(call, responder);
    } else {
      // Held until routed: copies, so that the read buffer they came in is not kept (PW-RPC-003).
      call.firstPayload = payload.slice();
      call.message = message.slice();
      service.waiting.add(call);
      this.counters.waiting++;
      this.counters.waitingBytes += payload.byteLength;
    }
    return done;
  }

  #route(call: Call, responder: Responder): void {
    const peer = responder.peer;
    const id = peer.nextLegId();
    call.responder = responder;
    call.responderId = id;
    responder.active++;
    peer.legs.set(id, call);
    const left = Math.max(1, Math.floor(call.deadline - this.#clock.now()));
    const payload = call.firstPayload;
    call.firstPayload = undefined;
    peer.forward(call.caller, FrameKind.CALL_REQUEST, id, encodeRoutedRequest(call.message, responder.id, left), payload);
    if (call.heldCredit > 0) peer.send(FrameKind.CALL_CREDIT, id, encodeCredit(call.heldCredit));
    if (call.heldEnd) peer.send(FrameKind.CALL_CHUNK, id, END_CHUNK);
  }

  #dispatchWaiting(service: Service): void {
    while (service.waiting.size > 0) {
      const responder = service.pick();
      if (responder === undefined) return;
      const call = service.firstWaiting() as Call;
      service.waiting.delete(call);
      this.counters.waiting--;
      this.counters.waitingBytes -= (call.firstPayload as Uint8Array).byteLength;
      this.#route(call, responder);
    }
  }

  /** A CallChunk (PW-RPC-040, -042); one naming no call in progress is discarded (PW-RPC-013). */
  chunk(peer: RpcPeer, id: number, message: Uint8Array, endOfStream: boolean, payload: Uint8Array): void {
    if (id % 2 === 1) {
      const call = peer.calls.get(id);
      if (call === undefined) return;
      if (call.requestEnded) return this.#callerViolated(call, "a CallChunk after the request body ended (PW-RPC-040)");
      if (!call.requestCredit.spend(payload.byteLength)) return this.#callerViolated(call, `a CallChunk of ${payload.byteLength} bytes beyond the request credit of ${call.requestCredit.available} (PW-RPC-042)`);
      call.requestEnded = endOfStream;
      this.counters.requestBytes += payload.byteLength;
      // Only an empty chunk can arrive before routing: no credit was granted yet.
      if (call.routed) {
        const to = (call.responder as Responder).peer;
        if (call.requestCredit.unlimited) to.forward(peer, FrameKind.CALL_CHUNK, call.responderId, message, payload);
        else to.send(FrameKind.CALL_CHUNK, call.responderId, message, payload);
      } else if (endOfStream) {
        call.heldEnd = true;
      }
      return;
    }
    const call = peer.legs.get(id);
    if (call === undefined) return;
    if (!call.responseStarted) return this.#responderFailed(call, "FLOW_CONTROL_VIOLATION", "a CallChunk before the CallResponse (PW-RPC-045)");
    if (!call.responseCredit.spend(payload.byteLength)) return this.#responderFailed(call, "FLOW_CONTROL_VIOLATION", `a CallChunk of ${payload.byteLength} bytes beyond the response credit of ${call.responseCredit.available} (PW-RPC-042)`);
    this.counters.responseBytes += payload.byteLength;
    if (call.responseCredit.unlimited) call.caller.forward(peer, FrameKind.CALL_CHUNK, call.callerId, message, payload);
    else call.caller.send(FrameKind.CALL_CHUNK, call.callerId, message, payload);
    if (endOfStream) this.#end(call, "ok");
  }

  /** A CallCredit (PW-RPC-041), forwarded to the other leg; above 2^32-1 it is a violation (PW-RPC-042). */
  credit(peer: RpcPeer, id: number, message: Uint8Array, bytes: number): void {
    if (id % 2 === 1) {
      const call = peer.calls.get(id);
      if (call === undefined) return;
      if (call.responseCredit.grant(bytes) === "overflow") return this.#callerViolated(call, "a CallCredit taking the responder's credit above 2^32-1 (PW-RPC-042)");
      if (call.routed) (call.responder as Responder).peer.send(FrameKind.CALL_CREDIT, call.responderId, message);
      else call.heldCredit = Math.min(UINT32, call.heldCredit + bytes);
      return;
    }
    const call = peer.legs.get(id);
    if (call === undefined) return;
    if (call.requestCredit.grant(bytes) === "overflow") return this.#responderFailed(call, "FLOW_CONTROL_VIOLATION", "a CallCredit taking the caller's credit above 2^32-1 (PW-RPC-042)");
    call.caller.send(FrameKind.CALL_CREDIT, call.callerId, message);
  }

  /** A CallCancel from either leg (PW-RPC-032, -033). */
  cancel(peer: RpcPeer, id: number, message: Uint8Array): void {
    if (id % 2 === 1) {
      const call = peer.calls.get(id);
      if (call === undefined) return;
      if (call.routed) (call.responder as Responder).peer.send(FrameKind.CALL_CANCEL, call.responderId, message);
      this.#endWith(call, "cancelled", CallStatus.CANCELLED, "CANCELLED");
      return;
    }
    const call = peer.legs.get(id);
    if (call === undefined) return;
    // The responder stops; nothing more is sent to it (PW-RPC-033).
    this.#endWith(call, "cancelled", CallStatus.CANCELLED, "CANCELLED");
  }

  /** A responder's CallResponse (PW-RPC-021..023); UNKNOWN_CALL when it names no call routed here (PW-RPC-013). */
  response(peer: RpcPeer, id: number, response: CallResponse, message: Uint8Array, payload: Uint8Array): void {
    const call = id % 2 === 0 ? peer.legs.get(id) : undefined;
    if (call === undefined) throw new PolywireError("UNKNOWN_CALL", `no call with correlation id ${id} is in progress on this connection (PW-RPC-013)`);
    if (call.responseStarted) return this.#responderFailed(call, "FLOW_CONTROL_VIOLATION", "a second CallResponse for one call (PW-RPC-045)");
    const { status } = response;
    if (status !== CallStatus.OK && status !== CallStatus.ERROR) return this.#responderFailed(call, "INVALID_ARGUMENT", `a responder may only answer CALL_STATUS_OK or CALL_STATUS_ERROR, got ${status} (PW-RPC-021)`);
    if (status === CallStatus.ERROR && (response.errorCode === "" || !response.endOfStream)) {
      return this.#responderFailed(call, "INVALID_ARGUMENT", "a CALL_STATUS_ERROR response needs an error_code and end_of_stream (PW-RPC-022)");
    }
    if (call.requestCredit.initial(response.initialCredit) === "overflow") return this.#responderFailed(call, "FLOW_CONTROL_VIOLATION", "an initial_credit taking the caller's credit above 2^32-1 (PW-RPC-042)");
    call.responseStarted = true;
    this.counters.responseBytes += payload.byteLength;
    call.caller.forward(peer, FrameKind.CALL_RESPONSE, call.callerId, message, payload);
    if (status === CallStatus.ERROR) this.#end(call, "app_error");
    else if (response.endOfStream) this.#end(call, "ok");
  }

  /** The connection closed (PW-RPC-004, -034, -043): its calls end, its responders go. */
  close(peer: RpcPeer): void {
    if (peer.closed) return;
    peer.closed = true;
    for (const call of [...peer.calls.values()]) {
      if (call.routed) (call.responder as Responder).peer.send(FrameKind.CALL_CANCEL, call.responderId, encodeCancel("the caller's connection ended"));
      this.#end(call, "caller_gone");
    }
    for (const call of [...peer.legs.values()]) this.#endWith(call, "responder_gone", CallStatus.RESPONDER_GONE, "RESPONDER_GONE");
    for (const responder of [...peer.responders.values()]) this.#remove(responder);
  }

  #deadline(call: Call): void {
    if (call.ended) return;
    if (call.routed) (call.responder as Responder).peer.send(FrameKind.CALL_CANCEL, call.responderId, encodeCancel("deadline exceeded"));
    this.#endWith(call, "deadline_exceeded", CallStatus.DEADLINE_EXCEEDED, "TIMEOUT");
  }

  /** The caller broke flow control: its Error is its terminal event; the responder gets CallCancel (PW-RPC-042). */
  #callerViolated(call: Call, why: string): void {
    call.caller.fail(new PolywireError("FLOW_CONTROL_VIOLATION", why), call.callerId);
    if (call.routed) (call.responder as Responder).peer.send(FrameKind.CALL_CANCEL, call.responderId, encodeCancel("flow-control violation by the caller"));
    this.#end(call, "flow_control_violation");
  }

  /** The responder failed the call: an Error to it, RESPONDER_GONE to the caller (PW-RPC-042, -043, -045). */
  #responderFailed(call: Call, code: PolywireErrorCode, why: string): void {
    (call.responder as Responder).peer.fail(new PolywireError(code, why), call.responderId);
    this.#endWith(call, "responder_gone", CallStatus.RESPONDER_GONE, "RESPONDER_GONE");
  }

  /** Ends the call towards the caller with `status`, or with an Error of `code` once a CallResponse was forwarded (PW-RPC-031..033, -043). */
  #endWith(call: Call, outcome: CallOutcome, status: CallStatus, code: PolywireErrorCode): void {
    if (call.responseStarted) call.caller.fail(new PolywireError(code, `the call ended after its response started: ${outcome.replaceAll("_", " ")}`), call.callerId);
    else call.caller.send(FrameKind.CALL_RESPONSE, call.callerId, encodeStatus(status));
    this.#end(call, outcome);
  }

  /** Takes the call out of every table, once; the caller's leg has had its terminal event (PW-RPC-044). */
  #end(call: Call, outcome: CallOutcome): void {
    if (call.ended) return;
    call.ended = true;
    call.cancelTimer();
    call.caller.calls.delete(call.callerId);
    this.counters.inFlight--;
    this.counters.outcomes[outcome]++;
    const service = call.service;
    const responder = call.responder;
    if (responder === undefined) {
      if (service.waiting.delete(call)) {
        this.counters.waiting--;
        this.counters.waitingBytes -= (call.firstPayload as Uint8Array).byteLength;
      }
      call.firstPayload = undefined;
      if (service.responders === 0 && service.waiting.size === 0 && this.#services.get(service.name) === service) this.#services.delete(service.name);
    } else {
      const peer = responder.peer;
      const wasFull = !peer.hasLegRoom;
      peer.legs.delete(call.responderId);
      responder.active--;
      this.#observe?.(service.name, outcome, (this.#clock.now() - call.started) / 1000);
      this.#dispatchWaiting(service);
      // Its connection had no room: every service it serves may route again.
      if (wasFull && !peer.closed) for (const r of peer.responders.values()) this.#dispatchWaiting(r.service);
    }
    call.finish();
  }
}
