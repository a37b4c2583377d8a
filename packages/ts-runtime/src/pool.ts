import { BrokerLink, shuffled, type LinkConfig } from "./broker-link.js";

/** The scheme of a URL (`tcp`, `ws`, ...), or "" when it cannot be parsed. */
function schemeOf(url: string | undefined): string {
  if (url === undefined) return "";
  const colon = url.indexOf(":");
  return colon < 0 ? "" : url.slice(0, colon);
}

/**
 * A client's connections, one per broker. The primary link dials the
 * bootstrap URLs (in random order, PW-TRANS-005); requests for a partition
 * go to its leader (PW-LOG-025): the primary link when the leader is the
 * broker it is connected to, else a link opened on demand to the URLs the
 * metadata lists for that broker, preferring the scheme the application
 * bootstrapped with.
 */
export class ConnectionPool {
  readonly primary: BrokerLink;
  #links = new Map<string, BrokerLink>();
  readonly #config: Omit<LinkConfig, "candidates">;

  constructor(bootstrap: readonly string[], config: Omit<LinkConfig, "candidates">) {
    this.#config = config;
    this.primary = new BrokerLink({ ...config, candidates: () => shuffled(bootstrap) });
  }

  /**
   * The link to broker `brokerId`, reachable at `urls`. Opens one when the
   * primary link is connected elsewhere and none is open yet.
   */
  link(brokerId: string, urls: readonly string[]): BrokerLink {
    const primary = this.primary;
    if (primary.brokerId === brokerId || (primary.state !== "ready" && primary.state !== "draining")) return primary;
    const existing = this.#links.get(brokerId);
    if (existing !== undefined && existing.state !== "closed") return existing;
    const preferred = schemeOf(primary.connection?.url);
    const ordered = [...urls.filter((u) => schemeOf(u) === preferred), ...urls.filter((u) => schemeOf(u) !== preferred)];
    const link = new BrokerLink({ ...this.#config, candidates: () => ordered });
    this.#links.set(brokerId, link);
    link.open().catch(() => {
      // acquire() reports the failure to whoever waits; a later request opens a fresh link.
    });
    return link;
  }

  /** Closes every link, waiting up to `timeoutMs` for requests in flight. */
  async close(timeoutMs?: number): Promise<void> {
    await Promise.all([this.primary.close(timeoutMs), ...[...this.#links.values()].map((l) => l.close(timeoutMs))]);
    this.#links.clear();
  }
}
