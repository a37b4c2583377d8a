import { resolveMaxRequestBytes } from "./admin/request-check.js";
import { badSetting, integerSetting } from "./config/errors.js";

/**
 * What the admin HTTP listener lets its peers make the broker hold, and for
 * how long (§11.9). Each has a default and one check, {@link resolveHttpLimits}.
 */
export interface AdminHttpLimits {
  /**
   * Connections open at once (PW-ADMIN-070). At the limit, a new connection
   * closes the open connection that has waited longest without a request in
   * progress; when every one has a request in progress, the new connection
   * is closed at once. Default 256.
   */
  readonly maxConnections: number;
  /**
   * How long a connection without a request in progress may take to present
   * a request's headers, counted from its accept or from the end of its
   * previous request (PW-ADMIN-071): a slow or silent client, or an idle
   * kept-alive connection or HTTP/2 session, is closed then. Default 10 000 ms.
   */
  readonly headersTimeoutMs: number;
  /** How long a request's body may take to arrive whole, from its headers (PW-ADMIN-072). Default 60 000 ms. */
  readonly requestTimeoutMs: number;
  /** Streams one HTTP/2 connection may have open at once, advertised in SETTINGS (PW-ADMIN-073). Default 100. */
  readonly maxConcurrentStreams: number;
}

/** Defaults of {@link AdminHttpLimits}. */
export const DEFAULT_HTTP_LIMITS: AdminHttpLimits = Object.freeze({
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  maxConcurrentStreams: 100,
});

/** The longest delay a Node.js timer takes. */
const MAX_TIMER_MS = 2_147_483_647;

/** Fills defaults and checks every limit; a {@link BrokerConfigError} naming `http.<key>` otherwise. */
export function resolveHttpLimits(overrides: Partial<AdminHttpLimits> = {}): AdminHttpLimits {
  const given = (key: keyof AdminHttpLimits): unknown => overrides[key] ?? DEFAULT_HTTP_LIMITS[key];
  return {
    maxConnections: integerSetting("http.maxConnections", given("maxConnections"), 1, 1_048_576, "a number of connections"),
    headersTimeoutMs: integerSetting("http.headersTimeoutMs", given("headersTimeoutMs"), 1, MAX_TIMER_MS, "a number of milliseconds"),
    requestTimeoutMs: integerSetting("http.requestTimeoutMs", given("requestTimeoutMs"), 1, MAX_TIMER_MS, "a number of milliseconds"),
    maxConcurrentStreams: integerSetting("http.maxConcurrentStreams", given("maxConcurrentStreams"), 1, 0xffff_ffff, "a number of streams"),
  };
}

/** The broker's admin HTTP listener (`BrokerOptions.http`). */
export interface HttpListenerOptions extends Partial<AdminHttpLimits> {
  /** Interface to bind. Default `127.0.0.1`: with no admin authentication, whoever reaches the port may administer the broker. */
  readonly host?: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** The largest admin request message read (PW-ADMIN-051), 1 KiB to 4 GiB - 1. Default 4 MiB. */
  readonly maxRequestBytes?: number;
}

/** {@link HttpListenerOptions} with every default filled in. */
export interface HttpListenerSettings extends AdminHttpLimits {
  readonly host: string;
  readonly port: number;
  readonly maxRequestBytes: number;
}

/** The interface the admin listener binds by default. */
export const DEFAULT_ADMIN_HOST = "127.0.0.1";

/** The admin listener's default port (PW-ADMIN-062), next to the data plane's 7420; a config file without `http` serves it. */
export const DEFAULT_ADMIN_PORT = 7421;

/** Fills defaults and checks every setting of the admin listener. */
export function resolveHttpListener(options: HttpListenerOptions): HttpListenerSettings {
  const host = options.host ?? DEFAULT_ADMIN_HOST;
  if (typeof host !== "string" || host === "") badSetting("http.host", "must be a host name or address");
  return {
    host,
    port: integerSetting("http.port", options.port, 0, 65_535, "a port number (0 picks a free one)"),
    maxRequestBytes: resolveMaxRequestBytes(options.maxRequestBytes),
    ...resolveHttpLimits(options),
  };
}
