import { Code } from "@connectrpc/connect";
import { Connection } from "@polywire/runtime/connection";
import { createAdminClient } from "@polywire/runtime/admin";
import { describe, expect, it } from "vitest";
import { Broker, type AdminAuthOptions } from "../src/index.js";
import { ADMIN_VARIANTS, adminClients, connectFailure } from "./admin-clients.js";

const ADMIN_TOKEN = "adm-3f9c1e7d5b";
const VIEWER_TOKEN = "view-8a2d4c6e0f";

const AUTH: AdminAuthOptions = {
  tokens: [
    { token: ADMIN_TOKEN, principal: "ops", role: "admin" },
    { token: VIEWER_TOKEN, principal: "dashboard", role: "viewer" },
  ],
};

function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${token}` } };
}

function start(auth: AdminAuthOptions = AUTH): Promise<Broker> {
  return Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, adminAuth: auth });
}

describe("admin authentication (PW-ADMIN-003, PW-ADMIN-046)", () => {
  for (const variant of ADMIN_VARIANTS) {
    it(`${variant.name}: no, malformed or unknown credentials are unauthenticated; a viewer may only read; an admin may do everything`, async () => {
      await using broker = await start();
      const clients = adminClients(broker.httpUrl as string, variant);
      try {
        const none = await connectFailure(clients.topics.listTopics({}), Code.Unauthenticated);
        expect(none.rawMessage).toContain("ERROR_CODE_AUTHENTICATION_FAILED");
        expect(none.rawMessage).toContain("Authorization: Bearer");

        const wrong = await connectFailure(clients.cluster.getHealth({}, bearer("not-a-token-4711")), Code.Unauthenticated);
        expect(wrong.rawMessage).not.toContain("not-a-token-4711");
        await connectFailure(clients.topics.listTopics({}, { headers: { authorization: `Basic ${btoa(`ops:${ADMIN_TOKEN}`)}` } }), Code.Unauthenticated);
        // A token is never accepted outside the header the spec names.
        await connectFailure(clients.topics.listTopics({}, { headers: { "x-polywire-token": ADMIN_TOKEN } }), Code.Unauthenticated);

        const viewer = bearer(VIEWER_TOKEN);
        expect((await clients.topics.listTopics({}, viewer)).topics).toEqual([]);
        expect((await clients.cluster.getHealth({}, viewer)).version).not.toBe("");
        const denied = await connectFailure(clients.topics.createTopic({ name: "viewer-made", partitions: 1 }, viewer), Code.PermissionDenied);
        expect(denied.rawMessage).toContain("ERROR_CODE_NOT_AUTHORIZED");
        expect(denied.rawMessage).toContain("dashboard");
        expect(denied.rawMessage).not.toContain(VIEWER_TOKEN);

        const admin = bearer(ADMIN_TOKEN);
        await clients.topics.createTopic({ name: "ops-made", partitions: 2 }, admin);
        expect((await clients.topics.listTopics({}, viewer)).topics.map((t) => t.name)).toEqual(["ops-made"]);
        await clients.topics.deleteTopic({ name: "ops-made" }, { headers: { authorization: `bearer   ${ADMIN_TOKEN} ` } });
        expect((await clients.topics.listTopics({}, admin)).topics).toEqual([]);
      } finally {
        clients.close();
      }
    });
  }

  it("checks credentials before the broker's state: a draining broker answers unauthenticated, not unavailable", async () => {
    const broker = await Broker.start({
      listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, adminAuth: AUTH, drainDeadlineMs: 1_000,
    });
    const url = broker.httpUrl as string;
    const clients = adminClients(url, ADMIN_VARIANTS[0]!);
    try {
      // A connected client keeps the drain going long enough to call the admin services during it.
      const conn = await Connection.connect(broker.urls[0] as string, { keepaliveIntervalMs: 0 });
      const closing = broker.close();
      await connectFailure(clients.topics.createTopic({ name: "t", partitions: 1 }), Code.Unauthenticated);
      await connectFailure(clients.topics.createTopic({ name: "t", partitions: 1 }, bearer(ADMIN_TOKEN)), Code.Unavailable);
      await conn.close();
      await closing;
    } finally {
      clients.close();
      await broker.close();
    }
  });

  it("/metrics, /healthz and /readyz need no credentials; refusals are counted by code", async () => {
    await using broker = await start();
    const url = broker.httpUrl as string;
    const clients = adminClients(url, ADMIN_VARIANTS[0]!);
    try {
      await connectFailure(clients.topics.listTopics({}), Code.Unauthenticated);
      await connectFailure(clients.topics.createTopic({ name: "x", partitions: 1 }, bearer(VIEWER_TOKEN)), Code.PermissionDenied);
    } finally {
      clients.close();
    }
    for (const path of ["/healthz", "/readyz"]) expect((await fetch(`${url}${path}`)).status).toBe(200);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/polywire_admin_requests_total\{[^}]*code="unauthenticated"[^}]*\} 1/);
    expect(text).toMatch(/polywire_admin_requests_total\{[^}]*code="permission_denied"[^}]*\} 1/);
  });

  it("a verify function admits tokens the list does not hold", async () => {
    await using broker = await start({ verify: (token) => (token === "from-vault-1" ? { principal: "vault", role: "admin" } : null) });
    const clients = adminClients(broker.httpUrl as string, ADMIN_VARIANTS[0]!);
    try {
      await clients.topics.createTopic({ name: "vaulted", partitions: 1 }, bearer("from-vault-1"));
      await connectFailure(clients.topics.listTopics({}, bearer("from-vault-2")), Code.Unauthenticated);
    } finally {
      clients.close();
    }
  });

  it("refuses to start with an empty token or an unknown role", async () => {
    await expect(start({ tokens: [{ token: "", principal: "p", role: "admin" }] })).rejects.toThrow(/admin token of "p" is empty/);
    await expect(start({ tokens: [{ token: "t", principal: "p", role: "root" as "admin" }] })).rejects.toThrow(/role must be "viewer" or "admin"/);
  });

  it("the runtime admin client sends its token on every call, through its generated clients too", async () => {
    await using broker = await start();
    await using admin = createAdminClient(broker.httpUrl as string, { token: ADMIN_TOKEN, protocol: "grpc" });
    await admin.createTopic("from-runtime", { partitions: 1 });
    expect((await admin.topics.listTopics({})).topics.map((t) => t.name)).toEqual(["from-runtime"]);
    await using anonymous = createAdminClient(broker.httpUrl as string);
    await connectFailure(anonymous.listTopics(), Code.Unauthenticated);
    await using viewer = createAdminClient(broker.httpUrl as string, { token: VIEWER_TOKEN, protocol: "grpc-web" });
    await connectFailure(viewer.deleteTopic("from-runtime"), Code.PermissionDenied);
  });
});
