// Bodies shorter than this are copied into the shared slab; longer ones get
// a buffer of their own (at that size the allocation no longer dominates).
const SLAB_BELOW = 1024;
const SLAB_SIZE = 16 * 1024;
// A body that is a small part of the read it arrived in is copied, so that
// keeping a message does not keep the whole read; a body that is most of
// it stays a view.
const COPY_BELOW_SHARE = 2;

/**
 * Copies received bodies out of the reads they arrived in. A short body
 * goes into a slab shared with the bodies received after it, as Node's
 * Buffer pool does for small buffers: a view into the slab costs far less
 * than an ArrayBuffer of its own (an allocation outside the heap, and work
 * for the collector), and a message kept keeps at most one 16 KiB slab.
 */
export class BodyCopier {
  #slab = new Uint8Array(0);
  #used = 0;

  /** `body`, or a copy of it when it borrows a larger read. */
  own(body: Uint8Array): Uint8Array {
    const n = body.byteLength;
    if (n * COPY_BELOW_SHARE >= body.buffer.byteLength) return body;
    if (n >= SLAB_BELOW) return body.slice();
    if (this.#slab.byteLength - this.#used < n) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      this.#used = 0;
    }
    const at = this.#used;
    this.#slab.set(body, at);
    // Eight-byte steps keep every body aligned for a reader that views it as wider numbers.
    this.#used = (at + n + 7) & ~7;
    return new Uint8Array(this.#slab.buffer, at, n);
  }
}
