import { PolywireError } from "../errors.js";
import type { TransportAddress } from "./url.js";

// OpenSSL and Node name certificate problems with codes like
// UNABLE_TO_VERIFY_LEAF_SIGNATURE, DEPTH_ZERO_SELF_SIGNED_CERT,
// ERR_TLS_CERT_ALTNAME_INVALID, or a TLS alert from a peer that refused our
// client certificate (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED).
const CERTIFICATE_FAILURE = /CERT|UNABLE_TO_(GET|VERIFY)|SELF_SIGNED|ALERT_(BAD|UNKNOWN|UNSUPPORTED)_CERTIFICATE|ALERT_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_HANDSHAKE_FAILURE/;

/**
 * The error for a dial that failed. A peer that could not be reached is
 * CONNECTION_LOST, which a retry may fix; a certificate that failed to
 * verify, on either side, is AUTHENTICATION_FAILED, which retrying cannot
 * fix, so clients give up at once instead of backing off.
 */
export function dialError(address: TransportAddress, cause: unknown): PolywireError {
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  const certificate = (typeof code === "string" && CERTIFICATE_FAILURE.test(code)) || /certificate/i.test(message);
  return new PolywireError(certificate ? "AUTHENTICATION_FAILED" : "CONNECTION_LOST", `cannot connect to ${address.url}: ${message}`, { cause });
}
