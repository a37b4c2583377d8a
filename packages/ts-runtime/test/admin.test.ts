import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { Broker } from "@polywire/broker";
import { ClusterService, HealthStatus } from "@polywire/proto/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminErrorCode, createAdminClient, type AdminClient, type AdminClientOptions } from "../src/entry/admin.js";

const PROTOCOLS: readonly { name: string; options: AdminClientOptions }[] = [
  { name: "Connect (proto) over HTTP/1.1, the default", options: {} },
  { name: "Connect (JSON) over HTTP/2", options: { protocol: "connect", codec: "json", httpVersion: "2" } },
  { name: "gRPC over HTTP/2", options: { protocol: "grpc" } },
  { name: "gRPC-Web over HTTP/1.1", options: { protocol: "grpc-web", httpVersion: "1.1" } },
  { name: "gRPC-Web over HTTP/2", options: { protocol: "grpc-web", httpVersion: "2" } },
];

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe.each(PROTOCOLS)("createAdminClient: $name", ({ options }) => {
  let broker: Broker;
  let admin: AdminClient;

  beforeAll(async () => {
    broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, brokerId: "b1" });
    admin = createAdminClient(broker.httpUrl as string, options);
  });

  afterAll(async () => {
    await admin?.close();
    await broker?.close();
  });

  it("PW-ADMIN-011..016: createTopic, listTopics, describeTopic, alterTopic and deleteTopic resolve with the broker's descriptions", async () => {
    const created = await admin.createTopic("clicks", { partitions: 2, config: { "retention.ms": "60000" } });
    expect([created.name, created.partitions.length, created.config?.entries["retention.ms"]]).toEqual(["clicks", 2, "60000"]);
    expect(await admin.createTopic("single")).toMatchObject({ name: "single", partitions: [{ partition: 0 }] });
    expect((await admin.listTopics()).map((t) => [t.name, t.partitions])).toEqual([["clicks", 2], ["single", 1]]);
    expect((await admin.describeTopic("clicks")).partitions.map((p) => p.leaderId)).toEqual(["b1", "b1"]);
    const altered = await admin.alterTopic("clicks", { set: { "segment.bytes": "1048576" }, reset: ["retention.ms"], partitions: 4 });
    expect([altered.partitions.length, altered.config?.entries["segment.bytes"], altered.config?.entries["retention.ms"]]).toEqual([4, "1048576", "604800000"]);
    await admin.deleteTopic("single");
    await broker.createTopic("__hidden", { partitions: 1 });
    expect((await admin.listTopics()).map((t) => t.name)).toEqual(["clicks"]);
    expect((await admin.listTopics({ includeInternal: true })).map((t) => t.name)).toEqual(["__hidden", "clicks"]);
  });

  it("PW-ERR-005: failures reject with the broker's ConnectError; adminErrorCode reads the ErrorCode it names", async () => {
    const exists = await failure(admin.createTopic("clicks"));
    expect([exists.code, adminErrorCode(exists)]).toEqual([Code.AlreadyExists, "TOPIC_ALREADY_EXISTS"]);
    const invalid = await failure(admin.createTopic("bad/name"));
    expect([invalid.code, adminErrorCode(invalid)]).toEqual([Code.InvalidArgument, "INVALID_TOPIC"]);
    const config = await failure(admin.alterTopic("clicks", { set: { "retention.ms": "soon" } }));
    expect([config.code, adminErrorCode(config)]).toEqual([Code.InvalidArgument, "INVALID_CONFIG"]);
    const missing = await failure(admin.describeTopic("nope"));
    expect([missing.code, adminErrorCode(missing)]).toEqual([Code.NotFound, "UNKNOWN_TOPIC"]);
    // The broker serves consumer groups: an unknown one is not_found, naming UNKNOWN_GROUP (PW-ADMIN-031, PW-ADMIN-035).
    for (const call of [admin.describeGroup("g"), admin.resetGroupOffsets("g", { to: "earliest" }), admin.deleteGroup("g")]) {
      const unknown = await failure(call);
      expect([unknown.code, adminErrorCode(unknown)]).toEqual([Code.NotFound, "UNKNOWN_GROUP"]);
    }
    expect(adminErrorCode(new Error("ERROR_CODE_UNKNOWN_TOPIC"))).toBeUndefined();
  });

  it("PW-ADMIN-040/PW-ADMIN-041/PW-ADMIN-043: describeCluster, health and metrics", async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers[0]).toMatchObject({ brokerId: "b1", adminUrl: broker.httpUrl });
    const health = await admin.health();
    expect(health.status).toBe(HealthStatus.SERVING);
    expect(health.storage?.engine).toBe("memory");
    const metrics = await admin.metrics({ namePrefix: "polywire_admin_" });
    expect(metrics.families.map((f) => f.name)).toEqual(["polywire_admin_request_duration_seconds", "polywire_admin_requests_total"]);
  });
});

describe("createAdminClient options", () => {
  let broker: Broker;

  beforeAll(async () => {
    broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
  });

  afterAll(async () => {
    await broker?.close();
  });

  it("an aborted signal cancels the call; a closed client refuses calls", async () => {
    await using admin = createAdminClient(broker.httpUrl as string);
    const aborted = await failure(admin.listTopics({ signal: AbortSignal.abort() }));
    expect(aborted.code).toBe(Code.Canceled);
    await admin.close();
    const closed = await failure(admin.listTopics());
    expect([closed.code, closed.rawMessage]).toEqual([Code.Canceled, "the admin client is closed"]);
  });

  it("gRPC without HTTP/2 is refused up front", () => {
    expect(() => createAdminClient(broker.httpUrl as string, { protocol: "grpc", httpVersion: "1.1" })).toThrow(/needs httpVersion "2"/);
  });

  it("an unreachable broker is `unavailable`; a deadline is `deadline_exceeded`", async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      await using silent = createAdminClient(`http://127.0.0.1:${port}`, { timeoutMs: 200 });
      const late = await failure(silent.listTopics());
      expect(late.code).toBe(Code.DeadlineExceeded);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await using nowhere = createAdminClient(`http://127.0.0.1:${port}`);
    expect((await failure(nowhere.listTopics())).code).toBe(Code.Unavailable);
  });

  it("headers go with every call, and a given transport replaces the Node one", async () => {
    const server = createServer(connectNodeAdapter({
      routes: (router) => router.service(ClusterService, {
        describeCluster: (_request, context) => ({ clusterId: context.requestHeader.get("authorization") ?? "" }),
      }),
    }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await using withHeaders = createAdminClient(url, { headers: { authorization: "Bearer t0ken" } });
      expect((await withHeaders.describeCluster()).clusterId).toBe("Bearer t0ken");
      await using custom = createAdminClient("http://ignored.invalid", { transport: createConnectTransport({ baseUrl: url, httpVersion: "1.1" }) });
      expect((await custom.describeCluster()).clusterId).toBe("");
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
