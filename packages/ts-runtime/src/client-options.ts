import type { ConnectionOptions } from "./connection.js";
import type { PolywireError } from "@polywire/core";
import type { LinkState } from "./broker-link.js";
import type { RetryOptions } from "./retry.js";

// The public shapes around a Client: its options, states, events and health report.

/**
 * The life of a client, following its primary connection: `connecting`,
 * `ready`, `reconnecting` (lost; redialing with backoff), `draining` (the
 * broker announced shutdown; moving to another URL), `closed`.
 */
export type ClientState = LinkState;

/** Events of a {@link Client}. */
export interface ClientEvents {
  [event: string]: (...args: never[]) => void;
  /** The state changed. */
  state: (state: ClientState, previous: ClientState) => void;
  /**
   * The primary connection is down and the client waits `delayMs` before
   * redial number `attempt` (1 for the first after the loss); `error` is
   * the loss or the previous redial's failure (ECONNREFUSED, ...).
   */
  reconnecting: (attempt: number, delayMs: number, error: PolywireError) => void;
  /**
   * A failure outside any call: a lost connection (the client reconnects),
   * reconnecting given up (the client closes), a broker error for a request
   * no one waits for (an acks "none" produce, PW-LOG-004).
   */
  error: (error: PolywireError) => void;
}

/**
 * Options of {@link connect}. Every field is optional; the connection
 * fields (`clientId`, `auth`, `tls`, `requestTimeoutMs`, `keepaliveIntervalMs`,
 * ...) apply to every connection the client makes.
 */
export interface ClientOptions extends Omit<ConnectionOptions, "signal" | "connectTimeoutMs"> {
  /**
   * How long `connect()` may take to make the first connection, in ms:
   * every pass over the URLs and the backoff between them included. Past
   * it, `connect()` rejects with the last failure, naming each address and
   * its cause (ECONNREFUSED, ENOTFOUND, a TLS alert, ...), or TIMEOUT when
   * nothing answered. Each later dial is bounded by it too. Default 5 000.
   */
  connectTimeoutMs?: number;
  /**
   * Backoff between dials: while making the first connection (within
   * `connectTimeoutMs`) and after a connection was lost. Defaults:
   * `initialDelayMs` 100, `maxDelayMs` 5 000, `multiplier` 2 and
   * `maxAttempts` Infinity: once connected, the client redials for as long
   * as it is open, and gives up only on a failure that cannot be retried
   * (AUTHENTICATION_FAILED, a refused TLS certificate) or after a finite
   * `maxAttempts`, and then closes.
   */
  reconnect?: RetryOptions;
  /** Backoff and retry policy for produce retries, fetches and lookups (requests; `reconnect` covers dials). */
  retry?: RetryOptions;
  /** Topic metadata older than this is fetched again. Default 300 000 ms (Kafka's `metadata.max.age.ms`). */
  metadataMaxAgeMs?: number;
  /** Aborts the initial connect. */
  signal?: AbortSignal;
}

/** The result of {@link Client.health}. */
export interface HealthReport {
  readonly state: ClientState;
  /** The URL of the primary connection. */
  readonly url: string;
  /** The broker the primary connection talks to. */
  readonly brokerId: string;
  /** The broker's id for this session (Welcome.session_id). */
  readonly sessionId: string;
  /** Round trip of a Ping (PW-SESS-010), in ms. */
  readonly rttMs: number;
  /** Requests awaiting a response on the primary connection. */
  readonly inFlight: number;
  /** Connections re-established so far. */
  readonly reconnects: number;
}
