import { PolywireError } from "@polywire/core";
import type { SendCredit } from "./credit.js";

/** What a body can be sent from: bytes, text, a Blob or File, a Web ReadableStream, a Node stream or any async iterable of bytes. */
export type BodyInit = Uint8Array | ArrayBuffer | string | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>;

const encoder = new TextEncoder();

/** The bytes of a body given whole, or undefined for a body that streams. */
export function wholeBody(body: BodyInit | undefined): Uint8Array | undefined {
  if (body === undefined) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof body === "string") return encoder.encode(body);
  return undefined;
}

/** A streamed body as chunks, read as they are needed (a Blob through its stream, never whole). */
export async function* chunksOf(body: BodyInit): AsyncGenerator<Uint8Array> {
  const whole = wholeBody(body);
  if (whole !== undefined) {
    yield whole;
    return;
  }
  const source: AsyncIterable<unknown> | Iterable<unknown> = body instanceof Blob ? body.stream() as unknown as AsyncIterable<Uint8Array> : body as AsyncIterable<unknown>;
  for await (const chunk of source) {
    if (chunk instanceof Uint8Array) yield chunk;
    else if (typeof chunk === "string") yield encoder.encode(chunk);
    else if (chunk instanceof ArrayBuffer) yield new Uint8Array(chunk);
    else throw new PolywireError("INVALID_ARGUMENT", `a body chunk must be bytes or text, got ${chunk === null ? "null" : typeof chunk}`);
  }
}

/** Writes one CallChunk; false when the transport asks to wait. */
export type ChunkWriter = (payload: Uint8Array, endOfStream: boolean) => boolean;

/**
 * Sends a body as CallChunks within the peer's credit (PW-RPC-042): each
 * chunk is cut to the credit available and to `maxChunk`, waits for credit
 * when there is none, and for the transport when it pushes back, so that
 * nothing piles up in memory on this side either.
 */
export class BodySender {
  readonly #credit: SendCredit;
  readonly #write: ChunkWriter;
  readonly #maxChunk: number;
  readonly #writable: () => Promise<void>;
  #ended = false;
  #stopped: PolywireError | undefined;

  /** `ended` when the body already ended with the call's first frame. */
  constructor(credit: SendCredit, write: ChunkWriter, maxChunk: number, writable: () => Promise<void>, ended = false) {
    this.#ended = ended;
    this.#credit = credit;
    this.#write = write;
    this.#maxChunk = maxChunk;
    this.#writable = writable;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#ended) throw new PolywireError("INVALID_ARGUMENT", "the body already ended (PW-RPC-040)");
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#stopped !== undefined) throw this.#stopped;
      const n = await this.#credit.take(Math.min(chunk.byteLength - at, this.#maxChunk));
      if (this.#stopped !== undefined) throw this.#stopped;
      const piece = chunk.subarray(at, at + n);
      at += n;
      if (!this.#write(piece, false)) await this.#writable();
    }
  }

  /** Ends the body with an empty chunk (it needs no credit). */
  end(): void {
    if (this.#ended || this.#stopped !== undefined) return;
    this.#ended = true;
    this.#write(new Uint8Array(0), true);
  }

  /** Sends everything `body` holds, then ends it. */
  async pipe(body: BodyInit): Promise<void> {
    for await (const chunk of chunksOf(body)) await this.write(chunk);
    this.end();
  }

  /** No more chunks may go: the call ended. Writers fail with `error`. */
  stop(error: PolywireError): void {
    this.#stopped ??= error;
    this.#credit.fail(error);
  }

  /** A Web WritableStream over this sender: closing it ends the body. */
  writable(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.end(),
    });
  }
}
