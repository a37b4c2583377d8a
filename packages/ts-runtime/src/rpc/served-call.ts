import { CallChunkSchema, CallCreditSchema, type CallRequest } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { decodeMessage, errorFromFrame, PolywireError } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { Connection } from "../connection.js";
import { SendCredit } from "./credit.js";
import { ApplicationError } from "./errors.js";
import { fromWireHeaders, toWireHeaders, type Headers, type HeadersInit } from "./headers.js";
import { IncomingBody } from "./incoming.js";
import { BodySender, wholeBody, type BodyInit } from "./outgoing.js";
import { encodeAppError, encodeCancel, encodeChunk, encodeCredit, encodeOk, FRAME_ROOM, MAX_CHUNK } from "./wire.js";

/** A call as a `serve` handler gets it. */
export interface IncomingRequest {
  readonly service: string;
  readonly method: string;
  readonly headers: Headers;
  /** The request body as it arrives: `for await`, `.stream`, `.bytes()`, `.text()`. */
  readonly body: IncomingBody;
  /** When the broker ends the call, in `Date.now()` milliseconds (PW-RPC-030). */
  readonly deadline: number;
  /** Aborted when the caller cancels, the deadline passes or the connection goes (PW-RPC-032, -034). */
  readonly signal: AbortSignal;
}

/** What a handler answers: a body (bytes, text, Blob, stream, async iterable), `{ headers, body }`, or nothing. */
export type ReplyInit = BodyInit | { readonly headers?: HeadersInit; readonly body?: BodyInit } | undefined | void;

export type Handler = (request: IncomingRequest) => ReplyInit | Promise<ReplyInit>;

function isBody(value: unknown): value is BodyInit {
  return value instanceof Uint8Array || value instanceof ArrayBuffer || typeof value === "string" || value instanceof Blob || value instanceof ReadableStream
    || (typeof value === "object" && value !== null && (Symbol.asyncIterator in value || Symbol.iterator in value));
}

/**
 * One call routed to this client's responder (PW-RPC-011), on the
 * broker-chosen even id: the request body grants credit as the handler
 * reads it, the handler's answer goes out as a CallResponse and chunks
 * within the caller's credit; a CallCancel or the deadline aborts the
 * handler's signal and nothing more is sent (PW-RPC-033).
 */
export class ServedCall {
  readonly id: number;
  readonly #connection: Connection;
  #abort: AbortController | undefined;
  readonly #responseCredit = new SendCredit();
  readonly #body: IncomingBody;
  readonly #sender: BodySender;
  readonly #request: IncomingRequest;
  readonly #timer: ReturnType<typeof setTimeout>;
  #over = false;

  constructor(connection: Connection, id: number, request: CallRequest, payload: Uint8Array, window: number) {
    this.id = id;
    this.#connection = connection;
    this.#responseCredit.initial(request.initialCredit);
    this.#body = new IncomingBody(window, (n) => this.#send(FrameKind.CALL_CREDIT, encodeCredit(n)));
    this.#body.push(payload, false);
    if (request.endOfStream) this.#body.end();
    // The first grant of request credit, so the caller can stream before any response (PW-RPC-041).
    else this.#send(FrameKind.CALL_CREDIT, encodeCredit(window));
    const maxChunk = Math.min(MAX_CHUNK, connection.limits.maxFrameSize - 1024);
    this.#sender = new BodySender(this.#responseCredit, (p, eos) => this.#send(FrameKind.CALL_CHUNK, encodeChunk(eos), p), maxChunk, () => connection.writable());
    const timeoutMs = Math.max(1, request.timeoutMs);
    this.#timer = setTimeout(() => this.#stop(new PolywireError("TIMEOUT", `the call's deadline passed (${timeoutMs} ms)`)), timeoutMs);
    const call = this;
    this.#request = {
      service: request.service,
      method: request.method,
      headers: fromWireHeaders(request.headers),
      body: this.#body,
      deadline: Date.now() + timeoutMs,
      // Made when a handler first looks: most never do.
      get signal() {
        call.#abort ??= new AbortController();
        return call.#abort.signal;
      },
    };
  }

  /** Runs `handler` and answers with what it returns; resolves when the call is over on this side. */
  async run(handler: Handler): Promise<void> {
    try {
      let result: ReplyInit;
      try {
        result = await handler(this.#request);
      } catch (error) {
        if (!this.#over) this.#answerError(error);
        return;
      }
      if (this.#over) return;
      const { headers, body } = isBody(result) || result === undefined ? { headers: undefined, body: result } : result as { headers?: HeadersInit; body?: BodyInit };
      const wire = toWireHeaders(headers);
      // A request body that arrived whole, answered as it is (an echo), goes back in one frame too.
      const whole = body === undefined ? new Uint8Array(0) : body instanceof IncomingBody && body.ended ? await body.bytes() : wholeBody(body);
      if (whole !== undefined && whole.byteLength <= this.#connection.limits.maxFrameSize - FRAME_ROOM) {
        this.#send(FrameKind.CALL_RESPONSE, encodeOk(wire, true), whole);
        return;
      }
      this.#send(FrameKind.CALL_RESPONSE, encodeOk(wire, false));
      try {
        await this.#sender.pipe(body as BodyInit);
      } catch (error) {
        // The answer's own source failed mid-way: the call is abandoned, the caller sees CANCELLED (PW-RPC-033).
        if (!this.#over) this.#send(FrameKind.CALL_CANCEL, encodeCancel(error instanceof Error ? error.message : String(error)));
        throw error;
      }
    } catch (error) {
      // Cancelled, past its deadline, or the connection went: nothing more is sent.
      if (!this.#over) this.#stop(PolywireError.from(error));
    } finally {
      this.#close();
    }
  }

  /** A frame the broker sent on this call's id; true when it ends the call here. */
  frame(frame: Frame): boolean {
    switch (frame.kind) {
      case FrameKind.CALL_CHUNK: {
        this.#body.push(frame.payload);
        if (decodeMessage(CallChunkSchema, frame.message).endOfStream) this.#body.end();
        return false;
      }
      case FrameKind.CALL_CREDIT:
        this.#responseCredit.grant(decodeMessage(CallCreditSchema, frame.message).bytes);
        return false;
      case FrameKind.CALL_CANCEL:
        this.#stop(new PolywireError("CANCELLED", "the call was cancelled"));
        return true;
      case FrameKind.ERROR:
        this.#stop(errorFromFrame(frame));
        return true;
      default:
        return false;
    }
  }

  /** The connection went: the handler is aborted. */
  lost(error: PolywireError): void {
    this.#stop(error);
  }

  #answerError(error: unknown): void {
    const app = error instanceof ApplicationError ? error : new ApplicationError("INTERNAL", error instanceof Error ? error.message : String(error));
    this.#send(FrameKind.CALL_RESPONSE, encodeAppError(app.applicationCode, app.applicationMessage, toWireHeaders(app.headers)), app.details);
  }

  /** The call is over for this side: abort the handler, send nothing more. */
  #stop(reason: PolywireError): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#timer);
    (this.#abort ??= new AbortController()).abort(reason);
    this.#body.fail(reason);
    this.#sender.stop(reason);
  }

  #close(): void {
    clearTimeout(this.#timer);
    this.#over = true;
  }

  #send(kind: FrameKind, message: Uint8Array, payload?: Uint8Array): boolean {
    if (this.#over || this.#connection.state === "closed") return true;
    try {
      return this.#connection.sendFrame(kind, this.id, message, payload);
    } catch {
      return true;
    }
  }
}
