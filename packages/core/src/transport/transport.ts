/**
 * The schemes of PW-TRANS-001 and PW-TRANS-013. `wss` is WebSocket over
 * TLS; `worker` is a MessagePort between threads of one process.
 */
export type TransportScheme = "tcp" | "tls" | "unix" | "ws" | "wss" | "memory" | "worker";

/**
 * What a transport calls back into. Every callback runs on the event loop,
 * never re-entrantly from inside `write`.
 */
export interface TransportHandlers {
  /**
   * Bytes arrived. The callee owns `chunk`. On a stream transport a chunk is
   * any slice of the byte stream; on a message-framed transport
   * (`Transport.messageFramed`, WebSocket) it is exactly one received message.
   */
  onData(chunk: Uint8Array): void;
  /** The transport can take more after a `write` or `writev` returned false. */
  onDrain(): void;
  /**
   * The peer sent something that cannot be a frame (a WebSocket text
   * message, PW-TRANS-003). The connection is still open: the owner decides
   * how to answer.
   */
  onInvalid(reason: string): void;
  /** The connection is closed; `error` is set when it did not end cleanly. Called once. */
  onClose(error?: Error): void;
  /**
   * A message-framed transport that sees a message while it arrives (the
   * broker's WebSocket listener) reports it: `received` bytes of it are held
   * so far, and its WebSocket frames announce `announced` bytes in all so
   * far. Called as its bytes arrive, and with 0, 0 once it was delivered
   * through `onData`. The reader can refuse a message above its frame limit
   * before it is buffered (PW-FRAME-006, PW-FRAME-017) and count what it
   * holds (PW-LIM-006). Optional.
   */
  onPartial?(received: number, announced: number): void;
}

/**
 * One connection: an ordered, reliable byte stream (PW-TRANS-002). Nothing
 * above this interface knows which transport carries the frames.
 */
export interface Transport {
  /** The scheme this connection was made with. */
  readonly scheme: TransportScheme;
  /**
   * True when the transport keeps message boundaries (WebSocket): each
   * `write` or `writev` is sent as one message and each `onData` is one
   * message.
   */
  readonly messageFramed: boolean;
  /** A printable description of the peer, for logs. */
  readonly remoteAddress: string;
  /** True once the connection is closed or closing. */
  readonly closed: boolean;
  /**
   * Starts delivering events to `handlers`. Data received before this call
   * is held, not lost. Call once.
   */
  attach(handlers: TransportHandlers): void;
  /**
   * Queues one frame for sending and takes ownership of `frame` (do not
   * modify it afterwards). Returns false when the caller should wait for
   * `onDrain` before writing more; the frame is queued either way. Writing
   * to a closed transport drops the frame and returns false.
   */
  write(frame: Uint8Array): boolean;
  /**
   * Queues the concatenation of `chunks` as one frame and takes ownership of
   * every chunk. A byte stream gathers them into one write without copying
   * (a frame's header and the payload behind it, the chunks of a fetch); a
   * message-framed transport copies them into one message. Returns as
   * `write` does.
   */
  writev(chunks: readonly Uint8Array[]): boolean;
  /** Stops reading from the peer (inbound backpressure). */
  pause(): void;
  /** Resumes reading after `pause`. */
  resume(): void;
  /** Flushes queued writes, then closes; `onClose` follows. */
  end(): void;
  /** Closes at once, dropping queued writes; `onClose` follows with `error`. */
  destroy(error?: Error): void;
  /**
   * In-process transports only (`memory://`): makes `service` available to
   * the other end under `key` (PW-TRANS-012). Absent on other transports.
   */
  provide?(key: symbol, service: unknown): void;
  /** In-process transports only: what the other end provided under `key`, if anything. */
  peerService?(key: symbol): unknown;
}

/** Client-side TLS options, used by `tls://` and `wss://`. */
export interface TlsClientOptions {
  /** Trusted CA certificates (PEM). Default: the runtime's trust store. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Client certificate chain (PEM) for mutual TLS. */
  cert?: string | Uint8Array;
  /** Private key (PEM) of `cert`. */
  key?: string | Uint8Array;
  /** SNI server name and name checked against the certificate. Default: the URL's host. */
  servername?: string;
  /** Verify the server's certificate. Default true; false is for tests only. */
  rejectUnauthorized?: boolean;
}

/** Options of {@link dial}. */
export interface DialOptions {
  /** Aborts the dial. */
  signal?: AbortSignal;
  /** Gives up after this many ms. Default 10 000. */
  timeoutMs?: number;
  /** TLS settings for `tls://` and `wss://`. */
  tls?: TlsClientOptions;
  /** Extra HTTP headers for the WebSocket upgrade request (Node only). */
  headers?: Record<string, string>;
}
