import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { ClauseViolation } from "../clause.js";

/** RFC 6455 opcodes the runner uses. */
export const WsOpcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One WebSocket frame as it went over the wire, for cases that look at message boundaries. */
export interface WsFrameInfo {
  readonly fin: boolean;
  readonly opcode: number;
  readonly length: number;
}

/** A complete message the broker sent. */
export interface WsMessage {
  readonly binary: boolean;
  readonly data: Buffer;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The WebSocket close code 1009 (message too big, PW-TRANS-006). */
export const WS_CLOSE_TOO_BIG = 1009;

/**
 * The runner's own WebSocket client (RFC 6455) over a socket it dialed: it
 * sends exactly the WebSocket frames a case asks for (text messages, frames
 * split into fragments, several Polywire frames in one message) and keeps
 * every message the broker sends, so message boundaries can be checked
 * (PW-TRANS-003). A library client would hide both. It emits `data` with
 * each binary message and `close` once the socket is gone, so a
 * {@link WireSession} runs over it as over TCP.
 */
export class WebSocketStream extends EventEmitter {
  /** Every complete message the broker sent, in order. */
  readonly messages: WsMessage[] = [];
  /** The close code of the broker's Close frame, once one arrived. */
  closeCode: number | undefined;
  readonly #socket: Socket;
  readonly #onViolation: (violation: ClauseViolation) => void;
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #fragmentOpcode = -1;
  #closeSent = false;

  private constructor(socket: Socket, rest: Buffer, onViolation: (violation: ClauseViolation) => void) {
    super();
    this.#socket = socket;
    this.#onViolation = onViolation;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.emit("error", error));
    socket.on("close", () => this.emit("close"));
    if (rest.length > 0) queueMicrotask(() => this.#onData(rest));
  }

  /**
   * Performs the opening handshake on a connected socket (`host` for the
   * Host header, `path` with its query) and resolves with the stream.
   * Violations of PW-TRANS-003 by the broker go to `onViolation`.
   */
  static open(socket: Socket, host: string, path: string, onViolation: (violation: ClauseViolation) => void, timeoutMs: number): Promise<WebSocketStream> {
    const key = randomBytes(16).toString("base64");
    const accept = createHash("sha1").update(key + GUID).digest("base64");
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.removeListener("data", onData);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`no WebSocket upgrade answer within ${timeoutMs} ms`)), timeoutMs);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        clearTimeout(timer);
        socket.removeListener("data", onData);
        socket.removeListener("error", fail);
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        const status = lines[0] ?? "";
        const headers = new Map(lines.slice(1).map((line) => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
        }));
        if (!/^HTTP\/1\.1 101\b/.test(status)) return fail(new Error(`the WebSocket upgrade was refused: ${status}`));
        if (headers.get("sec-websocket-accept") !== accept) return fail(new Error("the WebSocket upgrade answered with a wrong Sec-WebSocket-Accept"));
        resolve(new WebSocketStream(socket, head.subarray(end + 4), onViolation));
      };
      socket.on("data", onData);
      socket.once("error", fail);
    });
  }

  get destroyed(): boolean {
    return this.#socket.destroyed;
  }

  /** Sends `bytes` as one binary message (one Polywire frame, when the session writes a frame). */
  write(bytes: Uint8Array): boolean {
    this.sendFrame(WsOpcode.binary, bytes, true);
    return true;
  }

  /** Sends one WebSocket frame, masked as a client must (RFC 6455 §5.3). */
  sendFrame(opcode: number, payload: Uint8Array, fin: boolean): void {
    if (this.#socket.destroyed) return;
    const length = payload.length;
    const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
    const header = Buffer.alloc(2 + extended + 4);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
    if (extended === 2) header.writeUInt16BE(length, 2);
    if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
    const mask = randomBytes(4);
    mask.copy(header, 2 + extended);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i & 3] as number);
    this.#socket.write(Buffer.concat([header, body]));
  }

  /** Sends a text message. */
  sendText(text: string): void {
    this.sendFrame(WsOpcode.text, Buffer.from(text, "utf8"), true);
  }

  /** Starts the closing handshake, then ends the socket. */
  end(): void {
    this.#sendClose(1000);
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #sendClose(code: number): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.sendFrame(WsOpcode.close, payload, true);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) return;
      const b0 = buffer[0] as number;
      const b1 = buffer[1] as number;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if ((b1 & 0x80) !== 0) offset += 4;
      if (buffer.length < offset + length) return;
      let payload = buffer.subarray(offset, offset + length);
      if ((b1 & 0x80) !== 0) {
        // RFC 6455 §5.1: a server never masks; unmask anyway so the bytes stay readable.
        const mask = buffer.subarray(offset - 4, offset);
        payload = Buffer.from(payload.map((byte, i) => byte ^ (mask[i & 3] as number)));
      }
      this.#buffer = buffer.subarray(offset + length);
      this.#onFrame({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, length }, payload);
    }
  }

  #onFrame(frame: WsFrameInfo, payload: Buffer): void {
    switch (frame.opcode) {
      case WsOpcode.close:
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.#sendClose(this.closeCode === 1005 ? 1000 : this.closeCode);
        this.#socket.end();
        return;
      case WsOpcode.ping:
        this.sendFrame(WsOpcode.pong, payload, true);
        return;
      case WsOpcode.pong:
        return;
      case WsOpcode.continuation:
        this.#fragments.push(payload);
        break;
      default:
        this.#fragmentOpcode = frame.opcode;
        this.#fragments = [payload];
    }
    if (!frame.fin) return;
    const data = Buffer.concat(this.#fragments);
    const binary = this.#fragmentOpcode === WsOpcode.binary;
    this.#fragments = [];
    this.messages.push({ binary, data });
    if (!binary) {
      this.#onViolation(new ClauseViolation("PW-TRANS-003", `the broker sent a WebSocket message with opcode ${this.#fragmentOpcode}; frames travel in binary messages only`));
      return;
    }
    const declared = data.length >= 4 ? data.readUInt32BE(0) + 4 : -1;
    if (declared !== data.length) {
      this.#onViolation(new ClauseViolation("PW-TRANS-003", `the broker sent a binary WebSocket message of ${data.length} bytes whose first frame is ${declared < 0 ? "incomplete" : `${declared} bytes`}; each message must hold exactly one frame`));
    }
    this.emit("data", data);
  }
}
