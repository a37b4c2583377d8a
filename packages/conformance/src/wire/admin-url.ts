/**
 * The admin URL a client uses for an advertised `Welcome.admin_url` or
 * `BrokerInfo.admin_url` (PW-ADMIN-063): an unspecified host (the broker is
 * bound to every interface) becomes the host of the data-plane URL, and
 * 127.0.0.1 for unix:// and memory://. The suite's own reading of the spec,
 * not a client library's, so that it checks brokers independently.
 */
export function usableAdminUrl(advertised: string, dataUrl: string): string {
  const url = new URL(advertised);
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") {
    const data = new URL(dataUrl);
    url.hostname = data.protocol === "unix:" || data.protocol === "memory:" ? "127.0.0.1" : data.hostname;
  }
  return url.href.replace(/\/+$/, "");
}
