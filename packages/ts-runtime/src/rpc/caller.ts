import { create, toBinary } from "@bufbuild/protobuf";
import { CallChunkSchema, CallCreditSchema, CallRequestSchema, CallResponseSchema, CallStatus } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { checkPublishSubject, decodeMessage, errorFromFrame, PolywireError } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { Connection } from "../connection.js";
import { SendCredit } from "./credit.js";
import { ApplicationError, statusError } from "./errors.js";
import { fromWireHeaders, toWireHeaders, type Headers, type HeadersInit } from "./headers.js";
import { IncomingBody } from "./incoming.js";
import { BodySender, type BodyInit } from "./outgoing.js";
import { DEFAULT_WINDOW, encodeCancel, encodeChunk, encodeCredit, MAX_CHUNK } from "./wire.js";

/** Options of `client.call` and `client.request`. */
export interface CallOptions {
  /** The method, opaque to the broker (PW-RPC-014). */
  readonly method?: string;
  readonly headers?: HeadersInit;
  /** Milliseconds for the whole call; the broker's default (30 s) when absent (PW-RPC-030). */
  readonly timeout?: number;
  /** Cancels the call: the responder is told (PW-RPC-032) and the call fails with CANCELLED. */
  readonly signal?: AbortSignal;
  /** Response bytes granted ahead of the reader; 0 grants unlimited credit. Default 256 KiB. */
  readonly window?: number;
}

/** What a responder answered: its headers and the response body as it arrives. */
export interface Reply {
  readonly headers: Headers;
  readonly body: IncomingBody;
}

// One error for every call whose response ended before its request body did
// (PW-RPC-024): made once, since a stack trace per successful call costs more
// than the call.
const RESPONSE_COMPLETE = new PolywireError("CANCELLED", "the call ended: its response is complete, the rest of the request body is not read (PW-RPC-024)");

/** Checks a window option: an integer from 0 to 2^32-1. */
export function checkWindow(window: number | undefined): number {
  const w = window ?? DEFAULT_WINDOW;
  if (!Number.isInteger(w) || w < 0 || w > 0xffff_ffff) throw new PolywireError("INVALID_ARGUMENT", `window must be an integer from 0 to 2^32-1, got ${String(window)}`);
  return w;
}

/**
 * One call as its caller sees it (§10): the request body is written with
 * {@link write}/{@link end}, {@link send} or {@link requestBody} (a Web
 * WritableStream), each chunk within the credit the responder grants; the
 * reply comes as {@link reply}, its body read as a stream whose credit is
 * granted back as it is read. Fails with ApplicationError
 * (APPLICATION_ERROR) or NO_RESPONDERS, TIMEOUT, CANCELLED, RESPONDER_GONE
 * (PW-RPC-046).
 */
export class Call {
  readonly service: string;
  /** Resolves with the responder's headers and body once its CallResponse arrives. */
  readonly reply: Promise<Reply>;
  /** Resolves when the call ended on this side (its terminal event), rejects with its failure. */
  readonly done: Promise<void>;
  readonly #connection: Connection;
  readonly #requestCredit = new SendCredit();
  readonly #sender: BodySender;
  readonly #body: IncomingBody;
  #id = 0;
  #ended = false;
  #resolveReply!: (reply: Reply) => void;
  #rejectReply!: (error: PolywireError) => void;
  #resolveDone!: () => void;
  #rejectDone!: (error: PolywireError) => void;
  readonly #abandon: () => void;
  #replied = false;

  constructor(connection: Connection, service: string, options: CallOptions, first: Uint8Array, endOfStream: boolean) {
    checkPublishSubject(service);
    const window = checkWindow(options.window);
    const timeout = options.timeout ?? 0;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 0xffff_ffff) throw new PolywireError("INVALID_ARGUMENT", `timeout must be a whole number of milliseconds, got ${String(options.timeout)}`);
    this.service = service;
    this.#connection = connection;
    this.reply = new Promise((resolve, reject) => {
      this.#resolveReply = resolve;
      this.#rejectReply = reject;
    });
    this.done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Awaited by the application or not: a failure is not an unhandled rejection.
    this.reply.catch(() => {});
    this.done.catch(() => {});
    this.#body = new IncomingBody(window, (n) => this.#send(FrameKind.CALL_CREDIT, encodeCredit(n)));
    const maxChunk = Math.min(MAX_CHUNK, connection.limits.maxFrameSize - 1024);
    this.#sender = new BodySender(this.#requestCredit, (payload, eos) => this.#send(FrameKind.CALL_CHUNK, encodeChunk(eos), payload), maxChunk, () => connection.writable(), endOfStream);
    const message = toBinary(CallRequestSchema, create(CallRequestSchema, {
      service, method: options.method ?? "", headers: toWireHeaders(options.headers), timeoutMs: timeout, endOfStream, initialCredit: window,
    }));
    this.#abandon = connection.openStream(FrameKind.CALL_REQUEST, message, first, {
      opened: (id) => {
        this.#id = id;
      },
      frame: (frame) => this.#frame(frame),
      failed: (error) => this.#fail(error),
    });
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.cancel(signal.reason);
      else signal.addEventListener("abort", () => this.cancel(signal.reason), { once: true });
    }
  }

  /** The request body as a Web WritableStream; closing it ends the body. */
  get requestBody(): WritableStream<Uint8Array> {
    return this.#sender.writable();
  }

  /** Writes a chunk of the request body, waiting for credit. */
  write(chunk: Uint8Array | string): Promise<void> {
    return this.#sender.write(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  }

  /** Ends the request body. */
  end(): void {
    this.#sender.end();
  }

  /** Sends a whole body (bytes, a Blob, a stream, an async iterable) as the request body, then ends it. */
  send(body: BodyInit): Promise<void> {
    return this.#sender.pipe(body);
  }

  /** Cancels the call (PW-RPC-032): the responder is told, and the call fails with CANCELLED. */
  cancel(reason?: unknown): void {
    if (this.#ended) return;
    const error = PolywireError.from(reason ?? new PolywireError("CANCELLED", `call to ${this.service} cancelled`), "CANCELLED");
    const failure = error.code === "CANCELLED" ? error : new PolywireError("CANCELLED", `call to ${this.service} cancelled: ${error.message}`, { cause: error });
    if (this.#id === 0) {
      // Not sent yet (waiting for a max_in_flight slot): it never reaches the broker.
      this.#abandon();
      this.#fail(failure);
      return;
    }
    this.#send(FrameKind.CALL_CANCEL, encodeCancel(typeof reason === "string" ? reason : ""));
    // The broker's CANCELLED ends the stream; the application learns of it now.
    this.#fail(failure);
  }

  #send(kind: FrameKind, message: Uint8Array, payload?: Uint8Array): boolean {
    if (this.#id === 0 || this.#connection.state === "closed") return true;
    try {
      return this.#connection.sendFrame(kind, this.#id, message, payload);
    } catch {
      return true;
    }
  }

  #frame(frame: Frame): boolean {
    switch (frame.kind) {
      case FrameKind.CALL_CREDIT:
        this.#requestCredit.grant(decodeMessage(CallCreditSchema, frame.message).bytes);
        return false;
      case FrameKind.CALL_RESPONSE: {
        const response = decodeMessage(CallResponseSchema, frame.message);
        const headers = fromWireHeaders(response.headers);
        if (response.status === CallStatus.OK) {
          this.#requestCredit.initial(response.initialCredit);
          this.#replied = true;
          this.#resolveReply({ headers, body: this.#body });
          this.#body.push(frame.payload, false);
          if (response.endOfStream) this.#finish();
          return response.endOfStream;
        }
        this.#fail(response.status === CallStatus.ERROR
          ? new ApplicationError(response.errorCode || "UNKNOWN", response.errorMessage, { details: frame.payload, headers })
          : statusError(response.status, this.service));
        return true;
      }
      case FrameKind.CALL_CHUNK: {
        const eos = decodeMessage(CallChunkSchema, frame.message).endOfStream;
        this.#body.push(frame.payload);
        if (eos) this.#finish();
        return eos;
      }
      case FrameKind.ERROR:
        this.#fail(errorFromFrame(frame));
        return true;
      default:
        this.#fail(new PolywireError("MALFORMED_FRAME", `the broker sent frame kind ${frame.kind} on call ${this.#id}`));
        return true;
    }
  }

  /** The response body ended: the call succeeded. */
  #finish(): void {
    this.#ended = true;
    this.#body.end();
    this.#sender.stop(RESPONSE_COMPLETE);
    this.#resolveDone();
  }

  #fail(error: PolywireError): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#replied) this.#rejectReply(error);
    this.#body.fail(error);
    this.#sender.stop(error);
    this.#rejectDone(error);
  }
}
