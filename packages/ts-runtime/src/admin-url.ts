import { parseTransportUrl } from "@polywire/core";

/** Hosts that mean "every interface" to a listener and nothing to a client. */
const UNSPECIFIED_HOSTS: ReadonlySet<string> = new Set(["0.0.0.0", "[::]", "::"]);

/**
 * The admin URL a client should use, from the `Welcome.admin_url` (or
 * `BrokerInfo.admin_url`) a broker advertised and the data-plane URL the
 * client connected to (PW-ADMIN-060, PW-ADMIN-063): undefined when the broker
 * serves no admin plane or advertised something that is not an http(s) URL;
 * an unspecified host (the broker is bound to every interface) is replaced
 * by the host the client dialed, or 127.0.0.1 for `unix://` and `memory://`.
 */
export function resolveAdminUrl(advertised: string, dataUrl: string): string | undefined {
  if (advertised === "") return undefined;
  let url: URL;
  try {
    url = new URL(advertised);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (UNSPECIFIED_HOSTS.has(url.hostname)) {
    const data = parseTransportUrl(dataUrl);
    const host = "host" in data ? data.host : "127.0.0.1";
    url.hostname = host.includes(":") ? `[${host}]` : host;
  }
  // Base URL form of PW-ADMIN-060: no trailing slash.
  return url.href.replace(/\/+$/, "");
}
