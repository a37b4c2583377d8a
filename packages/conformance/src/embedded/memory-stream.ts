import { dial, type Transport } from "@polywire/core";
import type { ByteStream } from "../wire/dial.js";

/**
 * An in-process `memory://` or `worker://` connection (`@polywire/core`'s transports) as a
 * byte stream: the broker must be in this process (the embedded target and
 * its variants).
 */
class MemoryStream {
  readonly #transport: Transport;
  readonly #listeners = { data: [] as Array<(chunk: Buffer) => void>, error: [] as Array<(error: Error) => void>, close: [] as Array<() => void> };

  constructor(transport: Transport) {
    this.#transport = transport;
    transport.attach({
      onData: (chunk) => {
        for (const l of this.#listeners.data) l(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      },
      onDrain: () => undefined,
      onInvalid: () => undefined,
      onClose: (error) => {
        if (error !== undefined) for (const l of this.#listeners.error) l(error);
        for (const l of this.#listeners.close) l();
      },
    });
  }

  get destroyed(): boolean {
    return this.#transport.closed;
  }

  on(event: "data" | "error" | "close", listener: never): this {
    (this.#listeners[event] as unknown[]).push(listener);
    return this;
  }

  write(bytes: Uint8Array): void {
    // The transport takes ownership of what it is given; the caller may reuse its buffer.
    this.#transport.write(bytes.slice());
  }

  end(): void {
    this.#transport.end();
  }

  destroy(): void {
    this.#transport.destroy();
  }
}

/** Opens `memory://` and `worker://` URLs of brokers in this process (a worker:// listener in this thread is dialed directly): the embedded target's `inProcess`. */
export async function dialInProcess(url: string): Promise<ByteStream> {
  return new MemoryStream(await dial(url)) as ByteStream;
}
