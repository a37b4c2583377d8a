import { PolywireError } from "@polywire/core";

/**
 * A body arriving in chunks (§10.5), read as a Web `ReadableStream` or with
 * `for await`. The peer may only send what this end granted, so what waits
 * here unread is bounded by the window: credit is granted again only as the
 * reader takes chunks (half a window at a time), never for bytes still held.
 */
export class IncomingBody implements AsyncIterable<Uint8Array> {
  #stream: ReadableStream<Uint8Array> | undefined;
  readonly #chunks: Array<{ readonly bytes: Uint8Array; readonly credited: boolean }> = [];
  #ended = false;
  #failure: PolywireError | undefined;
  #wake: (() => void) | undefined;
  readonly #grant: (bytes: number) => void;
  readonly #window: number;
  #consumed = 0;

  /** `grant` sends credit for bytes read (none when the peer's credit is unlimited: `window` 0). */
  constructor(window: number, grant: (bytes: number) => void) {
    this.#window = window;
    this.#grant = grant;
  }

  /** The body as a Web ReadableStream (made when first asked for: most bodies are read otherwise). */
  get stream(): ReadableStream<Uint8Array> {
    this.#stream ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.#next();
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
      cancel: () => this.#discard(),
    }, { highWaterMark: 0 });
    return this.#stream;
  }

  /** A chunk arrived; `credited` false for a first payload, which took no credit (PW-RPC-041) and earns none back. */
  push(chunk: Uint8Array, credited = true): void {
    if (this.#ended || this.#failure !== undefined) return;
    // A chunk that is a small part of the read it came in is copied, so that holding it does not hold the whole read.
    if (chunk.byteLength > 0) this.#chunks.push({ bytes: chunk.byteLength * 2 < chunk.buffer.byteLength ? chunk.slice() : chunk, credited });
    this.#notify();
  }

  /** The body ended (end_of_stream). */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The body will not end: readers fail with `error` once they have read what arrived. */
  fail(error: PolywireError): void {
    if (this.#ended) return;
    this.#failure ??= error;
    this.#notify();
  }

  get ended(): boolean {
    return this.#ended;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = await this.#next();
      if (chunk === undefined) return;
      yield chunk;
    }
  }

  /** The whole body, joined (for small bodies). */
  async bytes(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this) {
      parts.push(chunk);
      size += chunk.byteLength;
    }
    if (parts.length === 1) return parts[0] as Uint8Array;
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  async #next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const next = this.#chunks.shift();
      if (next !== undefined) {
        const chunk = next.bytes;
        if (next.credited) this.#consumed += chunk.byteLength;
        // Half a window read: grant it again, so the sender rarely waits and never holds more than a window here.
        if (this.#window > 0 && this.#consumed * 2 >= this.#window && !this.#ended) {
          const n = this.#consumed;
          this.#consumed = 0;
          this.#grant(n);
        }
        return chunk;
      }
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #discard(): void {
    this.#chunks.length = 0;
    this.#failure ??= new PolywireError("CANCELLED", "the body was cancelled by its reader");
  }
}
