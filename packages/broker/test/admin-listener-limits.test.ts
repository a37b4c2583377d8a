// The admin listener's resource limits (§11.9), against a real broker:
// slow and silent clients, too many connections, too many HTTP/2 streams.
import { request as http1Request } from "node:http";
import { connect as connectHttp2 } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { H2, RawH2Connection } from "../../conformance/src/planes/admin/raw-h2.js";
import { Broker, type HttpListenerOptions } from "../src/index.js";

const LIST = "/polywire.v1.TopicService/ListTopics";
const GRPC = { "content-type": "application/grpc", te: "trailers" };
const TOKEN = "limits-admin-token";

/** A raw TCP client of the admin listener: what it received, and when it was closed. */
interface RawClient {
  readonly socket: Socket;
  readonly openedAt: number;
  received(): string;
  /** `performance.now()` when the broker closed it. */
  readonly closedAt: Promise<number>;
}

async function rawClient(baseUrl: string): Promise<RawClient> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connectTcp({ host: hostname, port: Number(port) });
  socket.on("error", () => undefined);
  let data = "";
  socket.on("data", (chunk: Buffer) => {
    data += chunk.toString("latin1");
  });
  const closedAt = new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now())));
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return { socket, openedAt: performance.now(), received: () => data, closedAt };
}

/** Settles with the value, or with "still open" after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "still open"> {
  return Promise.race([promise, sleep(ms).then(() => "still open" as const)]);
}

/** An honest admin call on a fresh connection that it closes after the answer: its HTTP status, or the error. */
function honestGet(baseUrl: string, path = "/readyz"): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http1Request(`${baseUrl}${path}`, { agent: false, timeout: 10_000 }, (response) => {
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
    });
    req.once("error", (error) => resolve(error.message));
    req.once("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.end();
  });
}

async function startBroker(http: Omit<HttpListenerOptions, "port">, auth = false): Promise<Broker> {
  return Broker.start({
    listeners: ["tcp://127.0.0.1:0"],
    storage: { engine: "memory" },
    http: { port: 0, ...http },
    ...(auth ? { adminAuth: { tokens: [{ token: TOKEN, principal: "ops", role: "admin" as const }] } } : {}),
  });
}

describe("the admin listener's deadlines (PW-ADMIN-071, PW-ADMIN-072)", () => {
  it("PW-ADMIN-071/PW-ADMIN-074: slowloris clients sending request heads a line at a time, on any path and before credentials, are cut at the headers timeout with 408, while honest calls are served", async () => {
    const timeoutMs = 1_000;
    await using broker = await startBroker({ headersTimeoutMs: timeoutMs }, true);
    const url = broker.httpUrl as string;
    const heads = ["GET /healthz HTTP/1.1", "GET /metrics HTTP/1.1", `POST ${LIST} HTTP/1.1`];
    const clients = await Promise.all(heads.map(() => rawClient(url)));
    let stop = false;
    const trickle = clients.map(async (client, i) => {
      client.socket.write(`${heads[i]}\r\nHost: x\r\n`);
      for (let n = 0; !stop && !client.socket.destroyed; n++) {
        await sleep(150);
        client.socket.write(`X-Slow-${n}: ${"a".repeat(10)}\r\n`);
      }
    });
    for (let i = 0; i < 3; i++) expect(await honestGet(url)).toBe(200);
    const closed = await Promise.all(clients.map((c) => within(c.closedAt, timeoutMs + 5_000)));
    stop = true;
    await Promise.all(trickle);
    clients.forEach((client, i) => {
      const at = closed[i];
      expect(at, heads[i]).not.toBe("still open");
      expect((at as number) - client.openedAt, heads[i]).toBeGreaterThanOrEqual(timeoutMs * 0.9);
      expect(client.received(), heads[i]).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    });
    expect(await honestGet(url)).toBe(200);
  });

  it("PW-ADMIN-071: a silent connection, an idle kept-alive one and an HTTP/2 session without streams are closed at the headers timeout; one with a stream open is not", async () => {
    const timeoutMs = 1_000;
    await using broker = await startBroker({ headersTimeoutMs: timeoutMs });
    const url = broker.httpUrl as string;
    const silent = await rawClient(url);
    const kept = await rawClient(url);
    kept.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const idleSession = await RawH2Connection.connect(url);
    const busySession = await RawH2Connection.connect(url);
    busySession.post(1, LIST, GRPC);
    const answeredAt = performance.now();
    expect(await within(silent.closedAt, timeoutMs + 5_000)).not.toBe("still open");
    expect(await within(kept.closedAt, timeoutMs + 5_000)).not.toBe("still open");
    expect(kept.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*ok\n$/);
    expect(silent.received()).toBe("");
    expect(await idleSession.until(() => idleSession.goaway() !== undefined, timeoutMs + 5_000)).toBe(true);
    expect(idleSession.goaway()?.code).toBe(0);
    await within(idleSession.closed, 5_000);
    expect(idleSession.socket.destroyed || idleSession.socket.readableEnded).toBe(true);
    // Twice the timeout later, the session with a request in progress is still served.
    await sleep(Math.max(0, answeredAt + 2 * timeoutMs - performance.now()));
    expect(busySession.goaway()).toBeUndefined();
    busySession.data(1, Buffer.alloc(5), true);
    expect(await busySession.until(() => busySession.frames.some((f) => f.type === H2.HEADERS && f.stream === 1), 5_000)).toBe(true);
    busySession.close();
  });

  it("PW-ADMIN-072: a request body trickled past the request timeout gets 408 and its connection closed (HTTP/1.1) or its stream reset (HTTP/2)", async () => {
    const timeoutMs = 1_000;
    await using broker = await startBroker({ requestTimeoutMs: timeoutMs });
    const url = broker.httpUrl as string;
    const slow = await rawClient(url);
    slow.socket.write(`POST ${LIST} HTTP/1.1\r\nHost: x\r\ncontent-type: application/proto\r\nconnect-protocol-version: 1\r\ncontent-length: 100\r\n\r\n`);
    const started = performance.now();
    const body = (async () => {
      for (let i = 0; i < 100 && !slow.socket.destroyed; i++) {
        slow.socket.write("\u0000");
        await sleep(150);
      }
    })();
    const closedAt = await within(slow.closedAt, timeoutMs + 5_000);
    await body;
    expect(closedAt).not.toBe("still open");
    expect((closedAt as number) - started).toBeGreaterThanOrEqual(timeoutMs * 0.9);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*connection: close\r\n[^]*PW-ADMIN-072/i);

    const session = connectHttp2(url);
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": LIST, "content-type": "application/proto", "connect-protocol-version": "1" }, { endStream: false });
    stream.on("error", () => undefined);
    const status = new Promise<number>((resolve) => stream.once("response", (h) => resolve(Number(h[":status"]))));
    const streamClosed = new Promise<number>((resolve) => stream.once("close", () => resolve(performance.now())));
    const h2Started = performance.now();
    const h2Body = (async () => {
      for (let i = 0; i < 100 && !stream.closed; i++) {
        stream.write(Buffer.of(0));
        await sleep(150);
      }
    })();
    expect(await within(status, timeoutMs + 5_000)).toBe(408);
    const h2ClosedAt = await within(streamClosed, 5_000);
    await h2Body;
    expect(h2ClosedAt).not.toBe("still open");
    expect((h2ClosedAt as number) - h2Started).toBeGreaterThanOrEqual(timeoutMs * 0.9);
    // The session itself is still usable.
    const next = session.request({ ":method": "GET", ":path": "/healthz" });
    expect(await new Promise((resolve) => next.once("response", (h) => resolve(h[":status"])))).toBe(200);
    next.resume();
    session.close();
    expect(await honestGet(url)).toBe(200);
  });
});

describe("the admin listener's connection limit (PW-ADMIN-070)", () => {
  it("PW-ADMIN-070/PW-ADMIN-074: while idle sockets hold every slot, each new connection takes the place of the one waiting longest: honest calls are served, and no more than the limit are ever open", async () => {
    const limit = 4;
    await using broker = await startBroker({ maxConnections: limit, headersTimeoutMs: 60_000 }, true);
    const url = broker.httpUrl as string;
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(most, broker.http?.connections ?? 0);
    }, 2);
    try {
      const idle: RawClient[] = [];
      for (let i = 0; i < limit; i++) {
        idle.push(await rawClient(url));
        await sleep(20);
      }
      await sleep(100);
      expect(broker.http?.connections).toBe(limit);
      expect(await honestGet(url)).toBe(200);
      // The oldest idle socket made room; the others are still open.
      expect(await within(idle[0]!.closedAt, 2_000)).not.toBe("still open");
      for (const client of idle.slice(1)) expect(client.socket.destroyed, "a younger idle socket").toBe(false);
      // A flood of idle sockets cannot keep an honest client out, and never takes the listener over its limit.
      const flood = await Promise.all(Array.from({ length: 40 }, () => rawClient(url)));
      expect(await honestGet(url)).toBe(200);
      expect(await honestGet(url, "/metrics")).toBe(200);
      for (const client of [...idle, ...flood]) client.socket.destroy();
    } finally {
      clearInterval(watch);
    }
    expect(most).toBeLessThanOrEqual(limit);
  });

  it("PW-ADMIN-070: when every connection has a request in progress, a new connection is closed at once; once one finishes, a client is served again", async () => {
    const limit = 3;
    await using broker = await startBroker({ maxConnections: limit, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    const url = broker.httpUrl as string;
    const busy: RawClient[] = [];
    for (let i = 0; i < limit; i++) {
      const client = await rawClient(url);
      client.socket.write(`POST ${LIST} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nconnect-protocol-version: 1\r\ncontent-length: 2\r\n\r\n{`);
      busy.push(client);
    }
    await sleep(300);
    const refused = await rawClient(url);
    refused.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(await within(refused.closedAt, 3_000)).not.toBe("still open");
    expect(refused.received()).toBe("");
    for (const client of busy) expect(client.socket.destroyed).toBe(false);
    // One request completes: its connection is waiting again, and makes room.
    busy[0]!.socket.write("}");
    const deadline = performance.now() + 5_000;
    while (!busy[0]!.received().includes("\r\n\r\n{") && performance.now() < deadline) await sleep(10);
    expect(busy[0]!.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(await honestGet(url)).toBe(200);
    for (const client of busy) client.socket.destroy();
  });
});

describe("HTTP/2 streams (PW-ADMIN-073)", () => {
  it("PW-ADMIN-073: streams beyond SETTINGS_MAX_CONCURRENT_STREAMS are refused with REFUSED_STREAM before the setting is acknowledged, and close the connection after; the streams within it are served", async () => {
    const limit = 3;
    await using broker = await startBroker({ maxConcurrentStreams: limit });
    const url = broker.httpUrl as string;
    const client = await RawH2Connection.connect(url);
    expect(await client.until(() => client.serverSettings() !== undefined, 5_000)).toBe(true);
    expect(client.serverSettings()?.get(H2.MAX_CONCURRENT_STREAMS)).toBe(limit);
    const ids = [1, 3, 5, 7, 9, 11];
    for (const id of ids) client.post(id, LIST, GRPC);
    expect(await client.until(() => ids.slice(limit).every((id) => client.resetOf(id) !== undefined), 5_000)).toBe(true);
    expect(ids.map((id) => client.resetOf(id))).toEqual([undefined, undefined, undefined, H2.REFUSED_STREAM, H2.REFUSED_STREAM, H2.REFUSED_STREAM]);
    // The streams within the limit are served: an empty ListTopicsRequest each.
    for (const id of ids.slice(0, limit)) client.data(id, Buffer.alloc(5), true);
    expect(await client.until(() => ids.slice(0, limit).every((id) => client.frames.some((f) => f.type === H2.HEADERS && f.stream === id)), 5_000)).toBe(true);

    // Once the client has acknowledged the limit, going over it is a connection error.
    const bound = await RawH2Connection.connect(url);
    expect(await bound.until(() => bound.serverSettings() !== undefined, 5_000)).toBe(true);
    bound.ackSettings();
    await sleep(100);
    for (const id of [1, 3, 5, 7]) bound.post(id, LIST, GRPC);
    expect(await bound.until(() => bound.goaway() !== undefined || bound.resetOf(7) !== undefined, 5_000)).toBe(true);
    expect(await within(bound.closed, 5_000)).not.toBe("still open");
    // Other clients are served meanwhile.
    expect(await honestGet(url)).toBe(200);
    client.close();
  });
});
