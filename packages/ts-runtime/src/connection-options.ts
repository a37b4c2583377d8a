import type { ErrorCode, Drain, Feature } from "@polywire/proto/session";
import type { PolywireError, RequestKind, ResponseMessage, TlsClientOptions } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { AuthOptions } from "./sasl.js";

/**
 * The life of a connection: `connecting` (transport dial), `handshaking`
 * (Hello, auth rounds), `ready`, `draining` (the broker sent Drain: no new
 * work), `closed`. States only move forward.
 */
export type ConnectionState = "connecting" | "handshaking" | "ready" | "draining" | "closed";

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  [event: string]: (...args: never[]) => void;
  /** The state changed. */
  state: (state: ConnectionState, previous: ConnectionState) => void;
  /** The broker announced shutdown (PW-SESS-015): reconnect elsewhere before `deadline_ms`. */
  drain: (notice: Drain) => void;
  /**
   * A frame the connection does not handle itself: Delivery, SlowConsumer
   * (correlation id 0), broker-initiated requests (even ids), and answers no
   * request waits for (an Error to an ACKS_NONE produce, PW-LOG-004, or a
   * response that arrived after its request timed out).
   */
  frame: (frame: Frame) => void;
  /** The connection closed; `error` says why when it was not a clean close. */
  close: (error: PolywireError | undefined) => void;
}

/** Options of {@link Connection.connect}. Every field is optional. */
export interface ConnectionOptions {
  /** Client identifier sent in Hello, for the broker's logs and metrics. Default "polywire-ts". */
  clientId?: string;
  /** Program name and version sent in Hello. Default `{ name: "@polywire/runtime", version }`. */
  software?: { name: string; version: string };
  /**
   * Features to request. Default: LOG, IDEMPOTENCE, GROUPS, PUBSUB,
   * REQUEST_REPLY, DRAIN_NOTICE, SLOW_CONSUMER_NOTICE, and FRAME_CHECKSUM
   * when `checksum` is set.
   */
  features?: readonly Feature[];
  /** SASL authentication; default anonymous. */
  auth?: AuthOptions;
  /** TLS settings for `tls://` and `wss://`. */
  tls?: TlsClientOptions;
  /** Extra headers of the WebSocket upgrade request (Node only). */
  headers?: Record<string, string>;
  /** Aborts connecting (not the connection once it is up: use `close`). */
  signal?: AbortSignal;
  /** Dial plus handshake deadline in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Default timeout of each request in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Largest frame this client accepts, advertised in Hello: 65 536 (PW-FRAME-020) or more. Default 16 MiB (PW-FRAME-007). */
  maxFrameSize?: number;
  /**
   * CRC-32C on every frame in both directions: set the CHECKSUM flag on
   * frames this client sends (PW-FRAME-022) and ask the broker for
   * FEATURE_FRAME_CHECKSUM, so that it checksums its frames (PW-SESS-026).
   * Default false.
   */
  checksum?: boolean;
  /** Ping interval in ms; default the broker's `keepalive_interval_ms`; 0 disables pings. */
  keepaliveIntervalMs?: number;
  /** How long to wait for a Pong before declaring the connection dead, in ms. Default: the ping interval. */
  pongTimeoutMs?: number;
}

/** Per-call options of {@link Connection.request} and {@link Connection.call}. */
export interface RequestOptions {
  /** Cancels the request: it fails with CANCELLED (or the signal's TimeoutError as TIMEOUT). */
  signal?: AbortSignal;
  /** Fails the request with TIMEOUT after this many ms. Default: the connection's `requestTimeoutMs`. */
  timeoutMs?: number;
  /**
   * False for requests the broker does not answer (a produce with
   * ACKS_NONE): the promise resolves with `undefined` once the frame is
   * handed to the transport. Default true.
   */
  expectResponse?: boolean;
}

/** The decoded answer of {@link Connection.call}. */
export interface CallResult<K extends RequestKind> {
  /** The response message. */
  readonly message: ResponseMessage<K>;
  /** The response frame's payload (record batches of a fetch, for example). */
  readonly payload: Uint8Array;
}

/** Options of {@link Connection.close}. */
export interface CloseOptions {
  /** How long to wait for requests in flight before dropping them. Default 5 000 ms. */
  timeoutMs?: number;
  /** Aborting stops waiting: the transport is dropped at once. */
  signal?: AbortSignal;
  /** The code sent in the Close frame. Default UNSPECIFIED (a normal close). */
  code?: ErrorCode;
  /** The reason sent in the Close frame. */
  reason?: string;
}
