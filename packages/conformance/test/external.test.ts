import { Broker } from "@polywire/broker";
import { describe, expect, it } from "vitest";
import { runSuite } from "../src/suite.js";

describe("the suite against an external broker whose admin listener requires credentials", () => {
  it("PW-ADMIN-003/PW-ADMIN-046: with the declared tokens every admin case passes; without them admin/authentication is skipped with the reason", { timeout: 120_000 }, async () => {
    await using broker = await Broker.start({
      listeners: ["tcp://127.0.0.1:0"],
      storage: { engine: "memory" },
      http: { port: 0 },
      adminAuth: { tokens: [{ token: "ext-admin-1f2e", principal: "ops", role: "admin" }, { token: "ext-viewer-3d4c", principal: "dash", role: "viewer" }] },
    });
    const external = { broker: broker.urls[0] as string, admin: broker.httpUrl as string, client: "none", out: null } as const;

    const { report } = await runSuite({ ...external, adminToken: "ext-admin-1f2e", adminViewerToken: "ext-viewer-3d4c", only: ["admin/protocol", "admin/topic-lifecycle", "admin/cluster-health", "admin/metrics", "admin/authentication"] });
    expect(report.cases.map((c) => [c.id, c.status, c.failure?.message ?? c.reason])).toEqual([
      ["admin/protocol", "passed", undefined],
      ["admin/topic-lifecycle", "passed", undefined],
      ["admin/cluster-health", "passed", undefined],
      ["admin/metrics", "passed", undefined],
      ["admin/authentication", "passed", undefined],
    ]);

    const anonymous = (await runSuite({ ...external, only: ["admin/authentication"] })).report.cases[0];
    expect(anonymous?.status).toBe("skipped");
    expect(anonymous?.reason).toContain("--admin-token");

    // A wrong admin token: the suite's own admin calls are refused, and the case says so on PW-ADMIN-046.
    const wrong = (await runSuite({ ...external, adminToken: "not-the-token", only: ["admin/authentication"] })).report.cases[0];
    expect([wrong?.status, wrong?.failure?.clause]).toEqual(["failed", "PW-ADMIN-046"]);
  });
});
