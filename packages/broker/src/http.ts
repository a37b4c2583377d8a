import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from "node:http";
import { constants as http2Constants, createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { AdminConnections, cancelStream } from "./http-connections.js";
import { resolveHttpLimits, type AdminHttpLimits } from "./http-settings.js";

/** A request on the broker's HTTP listener, over HTTP/1.1 or HTTP/2. */
export type HttpRequest = IncomingMessage | Http2ServerRequest;

/** The response to an {@link HttpRequest}. */
export type HttpResponse = ServerResponse | Http2ServerResponse;

/**
 * A handler mounted on the broker's HTTP listener. It returns false (or a
 * promise of false) when the request is not for it, so the next one runs.
 * The admin Connect services mount here too.
 */
export type HttpHandler = (request: HttpRequest, response: HttpResponse) => boolean | Promise<boolean>;

/** Options of the {@link AdminHttpServer} constructor: its resource limits (§11.9), each defaulting as {@link DEFAULT_HTTP_LIMITS} says. */
export type AdminHttpServerOptions = Partial<AdminHttpLimits>;

/** Options of {@link AdminHttpServer.close}. */
export interface HttpCloseOptions {
  /** How long requests in progress may take to finish before their connections are cut. Default 5 000 ms. */
  graceMs?: number;
}

// The HTTP/2 client connection preface (RFC 9113 §3.4). A plaintext client
// that speaks HTTP/2 with prior knowledge (h2c, what gRPC uses) starts with
// it; an HTTP/1.x request never does.
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

// How long an HTTP/2 stream refused before its body was read stays open
// after the answer, so that the answer's trailers go out first.
const RESET_AFTER_MS = 1_000;

/**
 * Says that `response` answers before `request`'s body has been read (a
 * refusal decided from the headers, or a body over a limit), so the rest of
 * the body is not wanted. Over HTTP/1.1, a body of at most `discardUpTo`
 * bytes is read and thrown away, so that a client still sending a small
 * body gets its answer and keeps the connection; a larger one (declared,
 * or counted as a chunked body arrives) is not read: the answer carries
 * `Connection: close` and the connection closes once it is sent, or, for a
 * chunked body that outgrows the allowance, is cut. Over HTTP/2 the stream
 * is reset with NO_ERROR shortly after the answer (RFC 9113 §8.1), and flow
 * control keeps the client from sending more than a window meanwhile. Call
 * it before the response's headers are sent.
 */
export function refuseRestOfBody(request: HttpRequest, response: HttpResponse, discardUpTo: number): void {
  if (!("stream" in request)) {
    if (request.complete || response.headersSent) return;
    const declared = request.headers["content-length"];
    if (declared === undefined && discardUpTo > 0) {
      let seen = 0;
      request.on("data", (chunk: Buffer) => {
        seen += chunk.byteLength;
        if (seen > discardUpTo) request.socket.destroy();
      });
      return;
    }
    // Node's HTTP/1.1 server reads and discards an unread body of a kept-alive connection itself.
    if (declared !== undefined && Number(declared) <= discardUpTo) return;
    response.setHeader("connection", "close");
    return;
  }
  const stream = request.stream;
  const reset = (): void => {
    if (stream.state.remoteClose === 1) return;
    setTimeout(() => {
      if (!stream.closed && !stream.destroyed) stream.close(http2Constants.NGHTTP2_NO_ERROR);
    }, RESET_AFTER_MS).unref();
  };
  if (stream.writableFinished) reset();
  else stream.once("finish", reset);
}

/** Writes a small plain-text answer, over either HTTP version. */
export function sendText(response: HttpResponse, status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
  response.statusCode = status;
  response.setHeader("content-type", contentType);
  response.end(body);
}

/**
 * The broker's HTTP listener: `/metrics` (Prometheus text), `/healthz`,
 * `/readyz`, the admin Connect services, and whatever else is mounted with
 * {@link AdminHttpServer.use}. It serves HTTP/1.1 and plaintext HTTP/2 (h2c
 * with prior knowledge) on one port: Node's plaintext HTTP/2 server has no
 * HTTP/1.1 fallback, so each connection's first bytes are compared with the
 * HTTP/2 connection preface and the socket handed to an HTTP/1.1 or an
 * HTTP/2 server accordingly. Connections, request heads and bodies, and
 * HTTP/2 streams are held to its limits (§11.9, {@link AdminConnections}).
 */
export class AdminHttpServer {
  readonly #listener = createNetServer((socket) => this.#sniff(socket));
  // Neither server ever listens itself: they get their connections from the
  // sniffer, so Node's own connection tracking (headersTimeout,
  // requestTimeout, closeIdleConnections), which starts on "listening",
  // never runs; AdminConnections does that work for both.
  readonly #http1 = createHttp1Server((request, response) => this.#dispatch(request, response));
  readonly #http2: Http2Server;
  readonly #handlers: HttpHandler[] = [];
  readonly #connections: AdminConnections;
  readonly #shutdown = new AbortController();
  #closing = false;
  #url = "";

  constructor(options: AdminHttpServerOptions = {}) {
    const limits = resolveHttpLimits(options);
    this.#connections = new AdminConnections(limits);
    // PW-ADMIN-073: nghttp2 refuses streams beyond this with RST_STREAM REFUSED_STREAM.
    this.#http2 = createHttp2Server({ settings: { maxConcurrentStreams: limits.maxConcurrentStreams } }, (request, response) => this.#dispatch(request, response));
  }

  /** Mounts a handler; handlers run in mount order. */
  use(handler: HttpHandler): void {
    this.#handlers.push(handler);
  }

  /** Aborted when {@link close} starts, so that long-lived streams can end instead of holding the listener open. */
  get shutdownSignal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** The bound base URL, `http://host:port`. */
  get url(): string {
    return this.#url;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  #sniff(socket: Socket): void {
    socket.on("error", () => socket.destroy());
    if (this.#closing || !this.#connections.accept(socket)) {
      socket.destroy();
      return;
    }
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const http2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (http2 && seen.length < PREFACE.length) return;
      socket.removeListener("data", onData);
      socket.pause();
      socket.unshift(seen);
      if (http2) {
        // The server creates the connection's session synchronously, while it handles the event.
        const identify = (session: Http2Session): void => this.#connections.identify(socket, "http2", session);
        this.#http2.once("session", identify);
        this.#http2.emit("connection", socket);
        this.#http2.removeListener("session", identify);
      } else {
        this.#connections.identify(socket, "http1");
        this.#http1.emit("connection", socket);
        // The HTTP/1.1 parser reads straight from the socket's handle, so
        // the bytes already taken for sniffing must be pushed through the
        // stream once: resume() flows them to it before any further read.
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  #dispatch(request: HttpRequest, response: HttpResponse): void {
    if ("stream" in request) {
      const stream = request.stream;
      this.#connections.watchRequest(request, response, false, () => cancelStream(stream));
    } else {
      const socket = request.socket;
      this.#connections.beginHttp1(socket, response);
      this.#connections.watchRequest(request, response, true, () => socket.destroy());
      if (this.#closing) (response as ServerResponse).shouldKeepAlive = false;
    }
    void this.#handle(request, response);
  }

  #closeIdleHttp1(): void {
    for (const socket of [...this.#connections.idle("http1")]) socket.destroy();
  }

  async #handle(request: HttpRequest, response: HttpResponse): Promise<void> {
    try {
      for (const handler of this.#handlers) {
        if (await handler(request, response)) return;
      }
      sendText(response, 404, "not found\n");
    } catch (error) {
      const message = `internal error: ${error instanceof Error ? error.message : String(error)}\n`;
      if (response.headersSent) response.end();
      else sendText(response, 500, message);
    }
  }

  /** Binds to `host:port` (port 0 picks one). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#listener.once("error", reject);
      this.#listener.listen({ host, port }, () => {
        this.#listener.removeListener("error", reject);
        const address = this.#listener.address() as AddressInfo;
        this.#url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
        resolve(this.#url);
      });
    });
  }

  /**
   * Stops accepting connections, signals {@link shutdownSignal}, closes idle
   * HTTP/1.1 connections, sends HTTP/2 GOAWAY, lets requests in progress
   * finish for up to `graceMs`, then cuts whatever is left. Idempotent.
   */
  async close(options: HttpCloseOptions = {}): Promise<void> {
    this.#closing = true;
    this.#shutdown.abort();
    const stopped = new Promise<void>((resolve) => {
      if (this.#listener.listening) this.#listener.close(() => resolve());
      else resolve();
    });
    for (const socket of [...this.#connections.idle("unknown")]) socket.destroy();
    this.#closeIdleHttp1();
    for (const session of this.#connections.sessions()) session.close();
    if (this.#connections.size > 0) {
      await new Promise<void>((resolve) => {
        // Keep-alive connections turn idle as their last response ends; close them as they do.
        const check = setInterval(() => {
          this.#closeIdleHttp1();
          if (this.#connections.size === 0) done();
        }, 20);
        const cut = setTimeout(() => {
          for (const socket of [...this.#connections.sockets()]) socket.destroy();
          done();
        }, options.graceMs ?? 5_000);
        function done(): void {
          clearInterval(check);
          clearTimeout(cut);
          resolve();
        }
      });
    }
    await stopped;
  }
}
