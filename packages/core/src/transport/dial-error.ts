import { PolywireError, type TlsFailure } from "../errors.js";
import type { TransportAddress } from "./url.js";

// A TLS alert the peer sent, as Node (OpenSSL) codes it:
// ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE,
// ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, ...
const ALERT_CODE = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z0-9_]+)$/;
// The same alert in OpenSSL's message, for runtimes that give no code: "tlsv1 alert unknown ca ... SSL alert number 48".
const ALERT_MESSAGE = /(?:sslv3|tlsv1|tlsv13) alert ([a-z0-9 ]+?)(?::|$)/i;
const ALERT_NUMBER = /SSL alert number (\d+)/;
// Alerts that refuse a certificate (RFC 8446 §6.2), and handshake_failure,
// which TLS 1.2 servers send for a missing client certificate. Other alerts
// (a version or cipher mismatch) are configuration errors too, but not about
// certificates; they stay CONNECTION_LOST with the alert in the message.
const CERTIFICATE_ALERTS: ReadonlySet<string> = new Set([
  "handshake failure", "bad certificate", "unsupported certificate", "certificate revoked", "certificate expired",
  "certificate unknown", "unknown ca", "access denied", "certificate required",
]);
// A certificate this side failed to verify: OpenSSL verification codes
// (UNABLE_TO_VERIFY_LEAF_SIGNATURE, DEPTH_ZERO_SELF_SIGNED_CERT,
// CERT_HAS_EXPIRED, ...) and Node's host name check (ERR_TLS_CERT_ALTNAME_INVALID).
const VERIFY_CODE = /^(?:ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_[A-Z_]+|[A-Z_]*SELF_SIGNED[A-Z_]*|CERT_[A-Z_]+|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|HOSTNAME_MISMATCH)$/;

/**
 * The certificate failure `cause` reports, if it is one: a TLS alert by
 * which the peer refused a certificate, or this side's refusal of the
 * peer's certificate. Undefined for anything else.
 */
export function tlsFailure(cause: unknown): TlsFailure | undefined {
  if (typeof cause !== "object" || cause === null) return undefined;
  const code = typeof (cause as { code?: unknown }).code === "string" ? (cause as { code: string }).code : undefined;
  const message = String((cause as { message?: unknown }).message ?? "");
  const alertName = (code === undefined ? undefined : ALERT_CODE.exec(code)?.[1]?.toLowerCase().replaceAll("_", " "))
    ?? ALERT_MESSAGE.exec(message)?.[1]?.toLowerCase();
  if (alertName !== undefined) {
    if (!CERTIFICATE_ALERTS.has(alertName)) return undefined;
    const number = ALERT_NUMBER.exec(message)?.[1];
    return { refusedBy: "broker", reason: alertName, ...(number === undefined ? {} : { alert: Number(number) }), ...(code === undefined ? {} : { code }) };
  }
  if (code !== undefined && VERIFY_CODE.test(code)) return { refusedBy: "client", reason: message, code };
  return undefined;
}

/** An AUTHENTICATION_FAILED error for a certificate failure: never retried, since the same certificates fail the same way. */
export function tlsError(url: string, failure: TlsFailure, cause: unknown): PolywireError {
  const what = failure.refusedBy === "broker"
    ? `the broker refused this client's certificate (TLS alert "${failure.reason}"${failure.alert === undefined ? "" : `, ${failure.alert}`})`
    : `this client refused the broker's certificate: ${failure.reason}${failure.code === undefined ? "" : ` (${failure.code})`}`;
  return new PolywireError("AUTHENTICATION_FAILED", `cannot connect to ${url}: ${what}`, { cause, tls: failure });
}

/**
 * The error for a dial that failed. A peer that could not be reached is
 * CONNECTION_LOST, which a retry may fix; a certificate refused by either
 * side is AUTHENTICATION_FAILED with `tls` set, which retrying cannot fix,
 * so clients give up at once instead of backing off. The message names the
 * address and the cause (ECONNREFUSED, ENOTFOUND, the TLS alert, ...).
 */
export function dialError(address: TransportAddress, cause: unknown): PolywireError {
  const failure = tlsFailure(cause);
  if (failure !== undefined) return tlsError(address.url, failure, cause);
  const message = cause instanceof Error ? cause.message : String(cause);
  return new PolywireError("CONNECTION_LOST", `cannot connect to ${address.url}: ${message}`, { cause });
}

/**
 * The error for a connection the peer closed. With TLS 1.3 a broker judges
 * the client's certificate after the client's side of the handshake is
 * done: its refusal is an alert that closes the connection during Hello,
 * which is AUTHENTICATION_FAILED, not a lost connection.
 */
export function closedByPeer(url: string, cause: Error | undefined): PolywireError {
  const failure = tlsFailure(cause);
  if (failure !== undefined) return tlsError(url, failure, cause);
  return new PolywireError("CONNECTION_LOST", "the connection was closed by the broker", { cause });
}
