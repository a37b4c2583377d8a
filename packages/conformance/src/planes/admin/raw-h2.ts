import { connect as connectTcp, type Socket } from "node:net";

/**
 * HTTP/2 frames over a plain TCP socket, written by hand (RFC 9113), so that
 * a case can do what no HTTP/2 library does on purpose: open more streams
 * than the server allows, or never acknowledge its SETTINGS. Header blocks
 * are HPACK literals without indexing (RFC 7541 §6.2.2), short enough for
 * one-byte lengths.
 */

export const H2 = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  GOAWAY: 0x7,
  /** SETTINGS_MAX_CONCURRENT_STREAMS. */
  MAX_CONCURRENT_STREAMS: 0x3,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
} as const;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;

export interface H2Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.byteLength, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, "latin1");
  const v = Buffer.from(value, "latin1");
  if (n.byteLength > 126 || v.byteLength > 126) throw new Error(`header ${name} too long for this encoder`);
  return Buffer.concat([Buffer.of(0x00, n.byteLength), n, Buffer.of(v.byteLength), v]);
}

/** A client connection speaking raw HTTP/2 frames. */
export class RawH2Connection {
  readonly socket: Socket;
  readonly frames: H2Frame[] = [];
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #authority: string;

  private constructor(socket: Socket, authority: string) {
    this.socket = socket;
    this.#authority = authority;
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.byteLength >= 9) {
        const length = this.#buffer.readUIntBE(0, 3);
        if (this.#buffer.byteLength < 9 + length) break;
        this.frames.push({ type: this.#buffer[3] as number, flags: this.#buffer[4] as number, stream: this.#buffer.readUInt32BE(5) & 0x7fff_ffff, payload: this.#buffer.subarray(9, 9 + length) });
        this.#buffer = this.#buffer.subarray(9 + length);
      }
      this.#wake();
    });
    this.closed = new Promise((resolve) => socket.once("close", () => {
      this.#wake();
      resolve();
    }));
  }

  /** Connects to `http://host:port` and sends the connection preface and an empty SETTINGS frame; the server's SETTINGS are not acknowledged. */
  static async connect(baseUrl: string): Promise<RawH2Connection> {
    const { hostname, port, host } = new URL(baseUrl);
    const socket = connectTcp({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.write(Buffer.concat([PREFACE, frame(H2.SETTINGS, 0, 0)]));
    return new RawH2Connection(socket, host);
  }

  /** Acknowledges the server's SETTINGS (RFC 9113 §6.5.3), which makes them binding. */
  ackSettings(): void {
    this.socket.write(frame(H2.SETTINGS, ACK, 0));
  }

  /** Opens stream `id` with a POST to `path` and these headers, its request body to follow unless `endStream`. */
  post(id: number, path: string, headers: Record<string, string>, endStream = false): void {
    // :method POST and :scheme http are entries 3 and 6 of the HPACK static table.
    const block = Buffer.concat([Buffer.of(0x83, 0x86), literal(":path", path), literal(":authority", this.#authority), ...Object.entries(headers).map(([n, v]) => literal(n, v))]);
    this.socket.write(frame(H2.HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), id, block));
  }

  /** Sends request body bytes on stream `id`. */
  data(id: number, bytes: Uint8Array, endStream: boolean): void {
    this.socket.write(frame(H2.DATA, endStream ? END_STREAM : 0, id, bytes));
  }

  /** The server's first SETTINGS frame, as parameter id → value. */
  serverSettings(): Map<number, number> | undefined {
    const settings = this.frames.find((f) => f.type === H2.SETTINGS && (f.flags & ACK) === 0);
    if (settings === undefined) return undefined;
    const out = new Map<number, number>();
    for (let at = 0; at + 6 <= settings.payload.byteLength; at += 6) out.set(settings.payload.readUInt16BE(at), settings.payload.readUInt32BE(at + 2));
    return out;
  }

  /** The error code of the RST_STREAM the server sent for stream `id`, if any. */
  resetOf(id: number): number | undefined {
    const reset = this.frames.find((f) => f.type === H2.RST_STREAM && f.stream === id);
    return reset?.payload.readUInt32BE(0);
  }

  /** The GOAWAY the server sent, if any: the last stream it processed and the error code. */
  goaway(): { lastStream: number; code: number } | undefined {
    const away = this.frames.find((f) => f.type === H2.GOAWAY);
    return away === undefined ? undefined : { lastStream: away.payload.readUInt32BE(0) & 0x7fff_ffff, code: away.payload.readUInt32BE(4) };
  }

  /** Resolves once `condition` holds, or the socket closed; false when `timeoutMs` passed first. */
  async until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - performance.now();
      if (left <= 0 || this.socket.destroyed) return condition();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
