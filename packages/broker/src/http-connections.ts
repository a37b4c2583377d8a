import { constants as http2Constants, type Http2Session, type ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import type { AdminHttpLimits } from "./http-settings.js";

/** What a connection speaks: not known until its first bytes arrive. */
export type AdminProtocol = "unknown" | "http1" | "http2";

// What Node's own HTTP/1.1 server sends when a request's head does not arrive in time.
const HEAD_TIMEOUT_ANSWER = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

// How long a connection that was told to close may take to flush its last bytes before it is cut.
const FLUSH_MS = 1_000;

/** One connection of the admin listener, as its limits see it. */
class AdminConnection {
  readonly socket: Socket;
  protocol: AdminProtocol = "unknown";
  session: Http2Session | undefined;
  /** Requests (HTTP/1.1) or streams (HTTP/2) in progress. */
  active = 0;
  /** `socket.bytesRead` when it last had no request in progress: more means a request head has begun. */
  bytesAtRest = 0;
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Closes it now, without a word. */
  destroy(): void {
    if (this.session !== undefined) this.session.destroy();
    this.socket.destroy();
  }
}

/**
 * The connections of the admin listener, each held to the listener's
 * limits (§11.9): at most `maxConnections` open (PW-ADMIN-070), a request
 * head within `headersTimeoutMs` of the connection's accept or the end of
 * its previous request (PW-ADMIN-071), a request body within
 * `requestTimeoutMs` of its head (PW-ADMIN-072). HTTP/2's stream limit is
 * nghttp2's, from the server's SETTINGS (PW-ADMIN-073).
 *
 * A connection is *waiting* while it has no request in progress (HTTP/1.1:
 * none whose head has arrived and whose answer is unfinished; HTTP/2: no
 * open stream). At the connection limit a new connection takes the place of
 * the connection that has waited longest, so that clients that hold
 * connections without using them cannot keep others out; when none is
 * waiting, the new one is closed at once.
 */
export class AdminConnections {
  readonly #limits: AdminHttpLimits;
  readonly #bySocket = new Map<Socket, AdminConnection>();
  // Waiting connections, longest waiting first (a Set keeps insertion order).
  readonly #waiting = new Set<AdminConnection>();

  constructor(limits: AdminHttpLimits) {
    this.#limits = limits;
  }

  /** Connections open now. */
  get size(): number {
    return this.#bySocket.size;
  }

  /**
   * Counts a socket just accepted, closing the longest-waiting connection
   * first when at the limit; false when every connection has a request in
   * progress, and the socket must be closed.
   */
  accept(socket: Socket): boolean {
    if (this.#bySocket.size >= this.#limits.maxConnections) {
      const oldest = this.#waiting.values().next();
      if (oldest.done === true) return false;
      this.#forget(oldest.value);
      oldest.value.destroy();
    }
    const connection = new AdminConnection(socket);
    this.#bySocket.set(socket, connection);
    socket.once("close", () => this.#forget(connection));
    this.#rest(connection);
    return true;
  }

  /** Says what `socket` speaks; for HTTP/2, its session, whose streams are then counted. */
  identify(socket: Socket, protocol: "http1" | "http2", session?: Http2Session): void {
    const connection = this.#bySocket.get(socket);
    if (connection === undefined) return;
    connection.protocol = protocol;
    if (session === undefined) return;
    connection.session = session;
    session.on("stream", (stream: ServerHttp2Stream) => {
      this.#begin(connection);
      stream.once("close", () => this.#end(connection));
    });
  }

  /** An HTTP/1.1 request whose head has arrived on `socket`, in progress until `response` closes. */
  beginHttp1(socket: Socket, response: { once(event: "close", listener: () => void): unknown }): void {
    const connection = this.#bySocket.get(socket);
    if (connection === undefined) return;
    this.#begin(connection);
    response.once("close", () => this.#end(connection));
  }

  /** Sockets whose protocol is `protocol` and that have no request in progress. */
  *idle(protocol: AdminProtocol): Iterable<Socket> {
    for (const connection of this.#waiting) {
      if (connection.protocol === protocol) yield connection.socket;
    }
  }

  /** Every open socket. */
  sockets(): Iterable<Socket> {
    return this.#bySocket.keys();
  }

  /** Every HTTP/2 session. */
  *sessions(): Iterable<Http2Session> {
    for (const connection of this.#bySocket.values()) {
      if (connection.session !== undefined) yield connection.session;
    }
  }

  /**
   * Holds a request's body to `requestTimeoutMs` from its head
   * (PW-ADMIN-072). When it runs out, a request not yet answered gets 408
   * Request Timeout; then its stream is reset (HTTP/2) or its connection
   * closed (HTTP/1.1), which ends the handler's read.
   */
  watchRequest(request: { readonly complete: boolean; once(event: "end", listener: () => void): unknown }, response: HttpAnswer, http1: boolean, cut: () => void): void {
    if (request.complete) return;
    const timer = setTimeout(() => {
      if (response.headersSent) {
        cut();
        return;
      }
      response.once("finish", cut);
      setTimeout(cut, FLUSH_MS).unref();
      response.statusCode = 408;
      response.setHeader("content-type", "text/plain; charset=utf-8");
      if (http1) response.setHeader("connection", "close");
      response.end(`request timeout: the request's body did not arrive within ${this.#limits.requestTimeoutMs} ms (PW-ADMIN-072)\n`);
    }, this.#limits.requestTimeoutMs);
    timer.unref();
    const clear = (): void => clearTimeout(timer);
    request.once("end", clear);
    response.once("close", clear);
  }

  #begin(connection: AdminConnection): void {
    connection.active++;
    if (connection.active > 1) return;
    this.#waiting.delete(connection);
    clearTimeout(connection.timer);
  }

  #end(connection: AdminConnection): void {
    connection.active--;
    if (connection.active === 0 && this.#bySocket.has(connection.socket)) this.#rest(connection);
  }

  // Starts a wait: the connection must present a request head within headersTimeoutMs (PW-ADMIN-071).
  #rest(connection: AdminConnection): void {
    this.#waiting.add(connection);
    connection.bytesAtRest = connection.socket.bytesRead;
    clearTimeout(connection.timer);
    connection.timer = setTimeout(() => this.#expire(connection), this.#limits.headersTimeoutMs);
    connection.timer.unref();
  }

  #expire(connection: AdminConnection): void {
    this.#forget(connection);
    const { socket, session } = connection;
    if (session !== undefined) {
      // An HTTP/2 session without streams: GOAWAY, then close.
      session.close();
      setTimeout(() => connection.destroy(), FLUSH_MS).unref();
      return;
    }
    // An HTTP/1.1 client in the middle of a request head is told why; an idle one is just closed.
    if (connection.protocol === "http1" && socket.bytesRead > connection.bytesAtRest && socket.writable) {
      socket.end(HEAD_TIMEOUT_ANSWER, () => socket.destroy());
      setTimeout(() => socket.destroy(), FLUSH_MS).unref();
      return;
    }
    socket.destroy();
  }

  #forget(connection: AdminConnection): void {
    clearTimeout(connection.timer);
    this.#waiting.delete(connection);
    this.#bySocket.delete(connection.socket);
  }
}

/** What {@link AdminConnections.watchRequest} needs of a response, over either HTTP version. */
interface HttpAnswer {
  readonly headersSent: boolean;
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
  once(event: "finish" | "close", listener: () => void): unknown;
}

/** Resets an HTTP/2 stream whose request ran out of time (PW-ADMIN-072). */
export function cancelStream(stream: ServerHttp2Stream): void {
  if (!stream.closed && !stream.destroyed) stream.close(http2Constants.NGHTTP2_CANCEL);
}
