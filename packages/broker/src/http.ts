import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A handler mounted on the broker's HTTP listener. It returns false (or a
 * promise of false) when the request is not for it, so the next one runs.
 * The admin Connect services mount here too.
 */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

/**
 * The broker's HTTP listener: `/metrics` (Prometheus text), `/healthz`,
 * `/readyz`, and whatever else is mounted with {@link AdminHttpServer.use}.
 */
export class AdminHttpServer {
  readonly #server: Server;
  readonly #handlers: HttpHandler[] = [];
  #url = "";

  constructor() {
    this.#server = createServer((request, response) => {
      void this.#handle(request, response);
    });
  }

  /** Mounts a handler; handlers run in mount order. */
  use(handler: HttpHandler): void {
    this.#handlers.push(handler);
  }

  /** The bound base URL, `http://host:port`. */
  get url(): string {
    return this.#url;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      for (const handler of this.#handlers) {
        if (await handler(request, response)) return;
      }
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      response.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }

  /** Binds to `host:port` (port 0 picks one). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen({ host, port }, () => {
        this.#server.removeListener("error", reject);
        const address = this.#server.address() as AddressInfo;
        this.#url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
        resolve(this.#url);
      });
    });
  }

  /** Stops listening and closes idle keep-alive connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }
}
