import { Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { usableAdminUrl } from "../../wire/admin-url.js";

function headers(ctx: CaseContext): Record<string, string> {
  const token = ctx.target.adminToken;
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

const advertisedUrl: ConformanceCase = {
  id: "admin/advertised-url",
  title: "Welcome.admin_url is the base URL of an admin listener that answers (empty only without one), and Metadata and DescribeCluster give the same URL for the same broker",
  plane: "admin",
  clauses: ["PW-ADMIN-060", "PW-ADMIN-061", "PW-ADMIN-063"],
  async run(ctx) {
    // A Welcome of now: the target may have been restarted since the run's probe, under another broker id.
    const session = await ctx.connect();
    const welcome = session.welcome;
    const advertised = welcome.adminUrl;
    if (advertised === "") {
      check("PW-ADMIN-060", ctx.target.adminUrl === undefined, `Welcome.admin_url is empty, but the broker serves an admin listener at ${ctx.target.adminUrl}`);
      ctx.note("the broker advertises no admin listener and none was given: nothing more to check");
      return;
    }
    check("PW-ADMIN-060", /^https?:\/\/[^/?#]+$/.test(advertised), `Welcome.admin_url ${JSON.stringify(advertised)} is not a base URL (http:// or https://, host and port, no path or trailing slash)`);
    const base = usableAdminUrl(advertised, ctx.target.url);
    const healthz = await fetch(`${base}/healthz`, { headers: headers(ctx), signal: AbortSignal.timeout(5000) }).catch((error: unknown) => error as Error);
    check("PW-ADMIN-060", !(healthz instanceof Error) && healthz.status === 200, `GET ${base}/healthz (from Welcome.admin_url ${advertised}): ${healthz instanceof Error ? healthz.message : `HTTP ${healthz.status}`}`);
    const described = await fetch(`${base}/polywire.v1.ClusterService/DescribeCluster`, {
      method: "POST",
      headers: { ...headers(ctx), "content-type": "application/json", "connect-protocol-version": "1" },
      body: "{}",
      signal: AbortSignal.timeout(5000),
    });
    checkEqual("PW-ADMIN-060", described.status, 200, `DescribeCluster at the advertised admin URL ${base}`);
    const cluster = (await described.json()) as { clusterId?: string; brokers?: Array<{ brokerId?: string; adminUrl?: string }> };
    const mine = cluster.brokers?.find((b) => (b.brokerId ?? "") === welcome.brokerId);
    check("PW-ADMIN-061", mine !== undefined, `DescribeCluster at ${base} does not list the broker ${welcome.brokerId} that sent the Welcome`);
    checkEqual("PW-ADMIN-061", mine?.adminUrl ?? "", advertised, `BrokerDescription.admin_url of broker ${welcome.brokerId}`);
    if (welcome.features.includes(Feature.LOG)) {
      const { message } = await session.call(FrameKind.METADATA_REQUEST, { topics: [] });
      checkEqual("PW-ADMIN-061", message.clusterId, cluster.clusterId ?? "", "cluster id of Metadata against DescribeCluster at the advertised admin URL");
      const info = message.brokers.find((b) => b.brokerId === welcome.brokerId);
      checkEqual("PW-ADMIN-061", info?.adminUrl, advertised, `BrokerInfo.admin_url of broker ${welcome.brokerId} in Metadata`);
      for (const b of message.brokers) check("PW-ADMIN-061", b.adminUrl === "" || /^https?:\/\//.test(b.adminUrl), `BrokerInfo.admin_url ${JSON.stringify(b.adminUrl)} of broker ${b.brokerId} is not an http(s) URL`);
    }
  },
};

/** How a data-plane client finds the admin plane (§11.7). */
export const discoveryCases: readonly ConformanceCase[] = [advertisedUrl];
