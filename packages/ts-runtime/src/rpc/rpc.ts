import { CallRequestSchema } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { checkPublishSubject, decodeMessage, PolywireError } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { BrokerLink } from "../broker-link.js";
import type { Connection } from "../connection.js";
import { Call, checkWindow, type CallOptions } from "./caller.js";
import type { Headers } from "./headers.js";
import { chunksOf, wholeBody, type BodyInit } from "./outgoing.js";
import { ServedCall, type Handler } from "./served-call.js";
import { Service, type ServeOptions } from "./service.js";
import { encodeCancel, FRAME_ROOM } from "./wire.js";

/** The answer of `client.request`: the responder's headers and whole body. */
export interface Response {
  readonly headers: Headers;
  readonly body: Uint8Array;
  /** The body as UTF-8 text. */
  text(): string;
}

/**
 * A client's side of the request/reply plane (§10) on its primary
 * connection: calls as caller, responders it serves (registered again
 * after a reconnect), and the calls routed to them, by the even ids the
 * broker chose (PW-RPC-011).
 */
export class Rpc {
  readonly #link: BrokerLink;
  readonly #services = new Map<number, Service>();
  readonly #served = new Map<number, { call: ServedCall; service: Service }>();
  #attached: Connection | undefined;
  #nextResponderId = 1;
  readonly #onFrame = (frame: Frame): void => this.#frame(frame);
  readonly #onClose = (): void => this.#lost();

  constructor(link: BrokerLink) {
    this.#link = link;
    link.on("state", () => {
      const connection = link.ready;
      if (connection !== undefined) this.#attach(connection);
    });
    const connection = link.ready;
    if (connection !== undefined) this.#attach(connection);
  }

  async call(service: string, options: CallOptions = {}, first = new Uint8Array(0), endOfStream = false): Promise<Call> {
    checkPublishSubject(service);
    checkWindow(options.window);
    const connection = await this.#connection(options.signal);
    return new Call(connection, service, options, first, endOfStream);
  }

  async request(service: string, body: BodyInit | undefined, options: CallOptions = {}): Promise<Response> {
    checkPublishSubject(service);
    const connection = await this.#connection(options.signal);
    const whole = wholeBody(body);
    const fits = whole !== undefined && whole.byteLength <= connection.limits.maxFrameSize - FRAME_ROOM;
    const call = new Call(connection, service, options, fits ? whole : new Uint8Array(0), fits);
    if (!fits) void call.send(chunksOf(body as BodyInit)).catch(() => {});
    const reply = await call.reply;
    const bytes = await reply.body.bytes();
    return { headers: reply.headers, body: bytes, text: () => new TextDecoder().decode(bytes) };
  }

  serve(name: string, handler: Handler, options: ServeOptions = {}): Service {
    checkPublishSubject(name);
    const id = this.#nextResponderId++;
    const service = new Service(name, id, handler, options, {
      register: (s) => this.#register(s),
      unregister: async (s) => {
        const connection = this.#link.ready;
        if (connection !== undefined) await connection.call(FrameKind.UNREGISTER_RESPONDER_REQUEST, { responderId: s.responderId }).catch(() => {});
      },
      forget: (s) => this.#services.delete(s.responderId),
    });
    this.#services.set(id, service);
    return service;
  }

  /** Drains every service (the client closes cleanly): no new calls, running ones finish. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#services.values()].map((s) => s.close()));
  }

  /** Ends every service and call of this plane at once (the client gave up). */
  close(error?: PolywireError): void {
    for (const service of this.#services.values()) service.stop();
    this.#lost(error);
  }

  async #connection(signal: AbortSignal | undefined): Promise<Connection> {
    const connection = this.#link.ready ?? await this.#link.acquire(signal);
    this.#attach(connection);
    return connection;
  }

  async #register(service: Service): Promise<void> {
    const connection = await this.#connection(undefined);
    await connection.call(FrameKind.REGISTER_RESPONDER_REQUEST, { responderId: service.responderId, service: service.name, maxConcurrency: service.concurrency });
    service.registeredOn = connection;
  }

  #attach(connection: Connection): void {
    if (this.#attached === connection) return;
    this.#attached?.off("frame", this.#onFrame);
    this.#attached?.off("close", this.#onClose);
    this.#lost();
    this.#attached = connection;
    connection.on("frame", this.#onFrame);
    connection.on("close", this.#onClose);
    // Responders made on an earlier connection are registered again on this one.
    for (const service of this.#services.values()) {
      if (service.registeredOn !== undefined && service.registeredOn !== connection && service.accepting) void service.reregister();
    }
  }

  /** The connection went: calls served on it are aborted. */
  #lost(error?: PolywireError): void {
    const failure = error ?? new PolywireError("CONNECTION_LOST", "the connection was lost");
    for (const { call } of this.#served.values()) call.lost(failure);
    this.#served.clear();
  }

  #frame(frame: Frame): void {
    const id = frame.correlationId;
    if (id === 0 || id % 2 === 1) return;
    if (frame.kind === FrameKind.CALL_REQUEST) {
      this.#routed(id, frame);
      return;
    }
    const served = this.#served.get(id);
    if (served !== undefined && served.call.frame(frame)) this.#served.delete(id);
  }

  #routed(id: number, frame: Frame): void {
    const connection = this.#attached as Connection;
    const request = decodeMessage(CallRequestSchema, frame.message);
    const service = this.#services.get(request.responderId);
    if (service === undefined || !service.accepting) {
      // Routed before the unregistration took effect: given back at once (PW-RPC-033).
      try {
        connection.sendFrame(FrameKind.CALL_CANCEL, id, encodeCancel("the responder stopped serving"));
      } catch {
        // The connection is going; the broker ends the call.
      }
      return;
    }
    const call = new ServedCall(connection, id, request, frame.payload, service.window);
    this.#served.set(id, { call, service });
    service.track(call.run(service.handler).finally(() => {
      if (this.#served.get(id)?.call === call) this.#served.delete(id);
    }));
  }
}
