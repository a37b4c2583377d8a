import { connect as connectHttp2 } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Code } from "@connectrpc/connect";
import { HealthStatus, MetricType, type GetMetricsSnapshotResponse } from "@polywire/proto/admin";
import { Feature } from "@polywire/proto/session";
import { PolywireError } from "@polywire/runtime";
import { Connection } from "@polywire/runtime/connection";
import { init } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { AdminHttpServer, Broker } from "../src/index.js";
import { ADMIN_VARIANTS, adminClients, connectFailure } from "./admin-clients.js";
import { tempDir } from "./helpers.js";

const connectH1 = ADMIN_VARIANTS[0]!;
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Opens a TCP connection to an `http://host:port` URL. */
async function rawSocket(baseUrl: string): Promise<{ socket: Socket; received: () => Buffer; ended: Promise<void> }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connectTcp({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let data = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
  });
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, received: () => data, ended };
}

async function writeSlowly(socket: Socket, bytes: Buffer): Promise<void> {
  for (const byte of bytes) {
    socket.write(Buffer.of(byte));
    await sleep(1);
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** GET over HTTP/2 (h2c, prior knowledge): status, content type and body. */
async function getHttp2(baseUrl: string, path: string): Promise<{ status: number; type: string; body: string }> {
  const session = connectHttp2(baseUrl);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ":path": path });
      let status = 0;
      let type = "";
      let body = "";
      stream.on("response", (headers) => {
        status = Number(headers[":status"]);
        type = String(headers["content-type"]);
      });
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        body += chunk;
      });
      stream.on("end", () => resolve({ status, type, body }));
      stream.on("error", reject);
    });
  } finally {
    session.close();
  }
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_, c: string) => (c === "n" ? "\n" : "\\"));
}

function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",");
}

/** Parses Prometheus text exposition 0.0.4 into families of help, type and samples keyed by series. */
function parseExposition(text: string): Map<string, { help: string; type: string; samples: Map<string, number> }> {
  const families = new Map<string, { help: string; type: string; samples: Map<string, number> }>();
  let current: { help: string; type: string; samples: Map<string, number> } | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help !== null) {
      current = { help: unescapeHelp(help[2] as string), type: "", samples: new Map() };
      families.set(help[1] as string, current);
      continue;
    }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      (current as { type: string }).type = type[2] as string;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1] as string] = m[1] === "le" ? String(Number(m[2] === "+Inf" ? "Infinity" : m[2])) : (m[2] as string);
    }
    current?.samples.set(`${sample[1]}{${labelKey(labels)}}`, Number(sample[3] === "+Inf" ? "Infinity" : sample[3]));
  }
  return families;
}

/** The same shape built from a snapshot, for comparison with {@link parseExposition}. */
function fromSnapshot(snapshot: GetMetricsSnapshotResponse): Map<string, { help: string; type: string; samples: Map<string, number> }> {
  const names: Record<number, string> = { [MetricType.COUNTER]: "counter", [MetricType.GAUGE]: "gauge", [MetricType.HISTOGRAM]: "histogram" };
  const families = new Map<string, { help: string; type: string; samples: Map<string, number> }>();
  for (const family of snapshot.families) {
    const samples = new Map<string, number>();
    for (const sample of family.samples) {
      const labels = Object.fromEntries(sample.labels.map((l) => [l.name, l.value]));
      if (family.type === MetricType.HISTOGRAM) {
        for (const bucket of sample.buckets) samples.set(`${family.name}_bucket{${labelKey({ ...labels, le: String(bucket.upperBound) })}}`, Number(bucket.count));
        samples.set(`${family.name}_sum{${labelKey(labels)}}`, sample.sum);
        samples.set(`${family.name}_count{${labelKey(labels)}}`, Number(sample.count));
      } else {
        samples.set(`${family.name}{${labelKey(labels)}}`, sample.value);
      }
    }
    families.set(family.name, { help: family.help, type: names[family.type] ?? "untyped", samples });
  }
  return families;
}

describe("admin HTTP listener: HTTP/1.1 and h2c on one port", () => {
  it("PW-ADMIN-042: /metrics, /healthz and /readyz answer over HTTP/2 (h2c) as over HTTP/1.1", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    const base = broker.httpUrl as string;
    const metrics = await getHttp2(base, "/metrics");
    expect([metrics.status, metrics.type]).toEqual([200, "text/plain; version=0.0.4; charset=utf-8"]);
    expect(metrics.body).toMatch(/^# TYPE polywire_connections gauge$/m);
    expect(await getHttp2(base, "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
    expect(await getHttp2(base, "/readyz")).toMatchObject({ status: 200, body: "ready\n" });
    expect((await getHttp2(base, "/nowhere")).status).toBe(404);
    const h1 = await fetch(`${base}/metrics`);
    expect([h1.status, h1.headers.get("content-type")]).toEqual([200, "text/plain; version=0.0.4; charset=utf-8"]);
    expect((await fetch(`${base}/polywire.v1.TopicService/NoSuchMethod`, { method: "POST" })).status).toBe(404);
  });

  it("PW-ADMIN-001: an HTTP/1.1 request sent a byte at a time (POST shares its first byte with the HTTP/2 preface) is served as HTTP/1.1", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "slow", partitions: 2 }], http: { port: 0 } });
    const { socket, received, ended } = await rawSocket(broker.httpUrl as string);
    const body = "{}";
    await writeSlowly(socket, Buffer.from(`POST /polywire.v1.TopicService/ListTopics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
    await ended;
    const text = received().toString("utf8");
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('{"topics":[{"name":"slow","partitions":2}]}');
  });

  it("PW-ADMIN-001: an HTTP/2 connection preface split across writes is recognised and answered with SETTINGS", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    const { socket, received } = await rawSocket(broker.httpUrl as string);
    socket.write(PREFACE.subarray(0, 3));
    await sleep(20);
    socket.write(PREFACE.subarray(3, 17));
    await sleep(20);
    // The rest of the preface, then an empty SETTINGS frame (RFC 9113 §3.4).
    socket.write(Buffer.concat([PREFACE.subarray(17), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    await until(() => received().length >= 9, "the broker's first HTTP/2 frame");
    expect(received()[3]).toBe(4);
    socket.destroy();
  });

  it("PW-ADMIN-071: a connection that sends nothing is closed after the headers timeout; one that keeps sending requests is not", async () => {
    const server = new AdminHttpServer({ headersTimeoutMs: 1_000 });
    server.use((_request, response) => {
      response.end("served");
      return true;
    });
    const url = await server.listen("127.0.0.1", 0);
    try {
      const silent = await rawSocket(url);
      const started = performance.now();
      await silent.ended;
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
      // The deadline runs again from the end of each answer: requests 100 ms apart keep the connection for 2.5 s.
      const talking = await rawSocket(url);
      for (let i = 1; i <= 25; i++) {
        talking.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await until(() => talking.received().toString().split("served").length - 1 === i, `answer ${i}`);
        await sleep(100);
      }
      expect(talking.socket.destroyed).toBe(false);
      talking.socket.destroy();
    } finally {
      await server.close();
    }
  });

  it("PW-ADMIN-001: a client that connects and sends nothing does not hold up close()", async () => {
    const broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    const { ended } = await rawSocket(broker.httpUrl as string);
    const session = connectHttp2(broker.httpUrl as string);
    const goaway = new Promise<void>((resolve) => session.once("close", () => resolve()));
    expect((await fetch(`${broker.httpUrl}/healthz`)).status).toBe(200);
    const started = performance.now();
    await broker.close();
    expect(performance.now() - started).toBeLessThan(3_000);
    await ended;
    await goaway;
  });
});

describe("admin metrics and health", () => {
  it("PW-ADMIN-043: /metrics and GetMetricsSnapshot expose the same families, help, types, labels and values", async () => {
    await init();
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "m", partitions: 1 }], http: { port: 0 }, keepaliveIntervalMs: 0 });
    const admin = adminClients(broker.httpUrl as string, connectH1);
    try {
      await using conn = await Connection.connect(broker.urls[0] as string, { keepaliveIntervalMs: 0 });
      await admin.topics.describeTopic({ name: "m" });
      await connectFailure(admin.topics.describeTopic({ name: "missing" }), Code.NotFound);
      expect(conn.state).toBe("ready");
      const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
      const snapshot = await admin.metrics.getMetricsSnapshot({});
      const exposed = parseExposition(text);
      const structured = fromSnapshot(snapshot);
      expect([...structured.keys()].sort()).toEqual([...exposed.keys()].sort());
      for (const [name, family] of exposed) expect(structured.get(name), name).toEqual(family);
      expect(exposed.get("polywire_admin_requests_total")?.samples.get('polywire_admin_requests_total{code="not_found",method="DescribeTopic",service="TopicService"}')).toBe(1);
    } finally {
      admin.close();
    }
  });

  it("PW-ADMIN-041/PW-ADMIN-042: a storage check below its free-space threshold makes the broker DEGRADED, still ready", async () => {
    const dir = tempDir("admin-health");
    try {
      await using broker = await Broker.start({
        listeners: ["tcp://127.0.0.1:0"],
        storage: { engine: "disk", dir: dir.path },
        http: { port: 0 },
        health: { minFreeBytes: Number.MAX_SAFE_INTEGER },
      });
      const admin = adminClients(broker.httpUrl as string, connectH1);
      try {
        const health = await admin.cluster.getHealth({});
        expect(health.status).toBe(HealthStatus.DEGRADED);
        const storage = health.checks.find((c) => c.name === "storage");
        expect(storage?.status).toBe(HealthStatus.DEGRADED);
        expect(storage?.detail).toMatch(/below the threshold/);
        const ready = await fetch(`${broker.httpUrl}/readyz`);
        expect(ready.status).toBe(200);
      } finally {
        admin.close();
      }
    } finally {
      dir.remove();
    }
  });

  it("PW-ADMIN-041/PW-LIM-004: at the connection limit the connections check is DEGRADED and rejections are counted", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, limits: { maxConnections: 1 } });
    const admin = adminClients(broker.httpUrl as string, connectH1);
    try {
      await using first = await Connection.connect(broker.urls[0] as string);
      const refused = await Connection.connect(broker.urls[0] as string).then(() => undefined, (error: unknown) => error);
      expect((refused as PolywireError).code).toBe("TOO_MANY_CONNECTIONS");
      expect(first.state).toBe("ready");
      const health = await admin.cluster.getHealth({});
      expect(health.connections).toBe(1);
      expect(health.checks.find((c) => c.name === "connections")).toMatchObject({ status: HealthStatus.DEGRADED, detail: "1 of at most 1" });
      expect(health.status).toBe(HealthStatus.DEGRADED);
      const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
      expect(text).toMatch(/^polywire_connections_rejected_total\{transport="tcp",reason="limit"\} 1$/m);
    } finally {
      admin.close();
    }
  });

  it("PW-ADMIN-041/PW-ADMIN-042/PW-ADMIN-002: while draining the broker is NOT_SERVING, /readyz is 503 and state changes are unavailable", async () => {
    const broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "kept", partitions: 1 }], http: { port: 0 }, drainDeadlineMs: 10_000 });
    const admin = adminClients(broker.httpUrl as string, ADMIN_VARIANTS[2]!);
    const conn = await Connection.connect(broker.urls[0] as string, { features: [Feature.LOG, Feature.DRAIN_NOTICE] });
    const drained = new Promise((resolve) => conn.on("drain", resolve));
    const closing = broker.close();
    try {
      await drained;
      expect(broker.state).toBe("draining");
      const health = await admin.cluster.getHealth({});
      expect(health.status).toBe(HealthStatus.NOT_SERVING);
      expect(health.checks.find((c) => c.name === "lifecycle")?.status).toBe(HealthStatus.NOT_SERVING);
      const ready = await fetch(`${broker.httpUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/^not ready\nlifecycle: draining/);
      const refused = await connectFailure(admin.topics.createTopic({ name: "late", partitions: 1 }), Code.Unavailable);
      expect(refused.rawMessage).toMatch(/ERROR_CODE_SHUTTING_DOWN.*CreateTopic/);
      await connectFailure(admin.topics.deleteTopic({ name: "kept" }), Code.Unavailable);
      await connectFailure(admin.topics.alterTopicConfig({ name: "kept", partitions: 2 }), Code.Unavailable);
      expect((await admin.topics.listTopics({})).topics.map((t) => t.name)).toEqual(["kept"]);
    } finally {
      admin.close();
      await conn.close();
      await closing;
    }
  });
});
