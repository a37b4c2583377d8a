// Opcodes below this are data frames (continuation, text, binary); from it on, control frames (RFC 6455 §5.5).
const FIRST_CONTROL_OPCODE = 0x8;

/**
 * Follows the WebSocket frames (RFC 6455 §5.2) in the bytes a client sends,
 * ahead of the `ws` library, so that a broker knows how much of a message
 * has arrived and how much its frames announce while `ws` is still
 * collecting it: `ws` hands a message over only once it is whole, so
 * without this a client could make the broker hold up to the largest
 * message size before any Polywire limit applied (PW-FRAME-017, PW-LIM-006).
 * It reads frame headers only; `ws` still parses and checks everything.
 */
export class WebSocketMeter {
  readonly #header = new Uint8Array(14);
  #headerBytes = 0;
  // Header bytes the current frame needs: 2, then 2 plus its extended length and mask.
  #headerNeeds = 2;
  #inHeader = true;
  #remaining = 0;
  #control = false;
  #fin = false;
  #received = 0;
  #announced = 0;

  /** Payload bytes received so far of the data message not yet complete (0 between messages). */
  get received(): number {
    return this.#received;
  }

  /** Payload bytes the frames of that message announced so far (a later fragment may add more). */
  get announced(): number {
    return this.#announced;
  }

  /** Follows `chunk`, the next bytes the client sent. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#inHeader) {
        const take = Math.min(this.#headerNeeds - this.#headerBytes, chunk.byteLength - at);
        this.#header.set(chunk.subarray(at, at + take), this.#headerBytes);
        this.#headerBytes += take;
        at += take;
        if (this.#headerBytes < this.#headerNeeds) return;
        if (this.#headerNeeds === 2) {
          const short = this.#header[1]! & 0x7f;
          const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
          const mask = (this.#header[1]! & 0x80) !== 0 ? 4 : 0;
          this.#headerNeeds = 2 + extended + mask;
          if (this.#headerNeeds > 2) continue;
        }
        this.#startFrame();
        continue;
      }
      const take = Math.min(this.#remaining, chunk.byteLength - at);
      at += take;
      this.#remaining -= take;
      if (!this.#control) this.#received += take;
      if (this.#remaining === 0) this.#endFrame();
    }
  }

  #startFrame(): void {
    const h = this.#header;
    const short = h[1]! & 0x7f;
    const view = new DataView(h.buffer);
    const length = short < 126 ? short
      : short === 126 ? view.getUint16(2)
      : Math.min(view.getUint32(2) * 2 ** 32 + view.getUint32(6), Number.MAX_SAFE_INTEGER);
    this.#fin = (h[0]! & 0x80) !== 0;
    this.#control = (h[0]! & 0x0f) >= FIRST_CONTROL_OPCODE;
    if (!this.#control) this.#announced += length;
    this.#remaining = length;
    this.#headerBytes = 0;
    this.#headerNeeds = 2;
    this.#inHeader = false;
    if (length === 0) this.#endFrame();
  }

  #endFrame(): void {
    this.#inHeader = true;
    // Control frames may come between the fragments of a message; only a data frame's FIN ends it.
    if (!this.#control && this.#fin) {
      this.#received = 0;
      this.#announced = 0;
    }
  }
}
