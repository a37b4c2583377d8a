import type { Broker } from "@polywire/broker";
import { afterEach, describe, expect, it } from "vitest";
import { connect, PolywireError, Record, type Client, type ClientState } from "../src/index.js";
import { FaultProxy } from "./fault-proxy.js";
import { memoryUrl, startBroker, take, until } from "./harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function broker(options: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  const b = await startBroker(options);
  cleanups.push(() => b.close());
  return b;
}

function track(client: Client): ClientState[] {
  const states: ClientState[] = [];
  client.on("state", (s) => states.push(s));
  cleanups.push(() => client.close());
  return states;
}

const fast = { initialDelayMs: 5, maxDelayMs: 50 };

describe("connect (PW-TRANS-005)", () => {
  it("PW-TRANS-005: bootstrap URLs are tried in random order and the first that completes the handshake is used", async () => {
    const a = await broker({ brokerId: "a" });
    const b = await broker({ brokerId: "b" });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const client = await connect([a.urls[0] as string, b.urls[0] as string]);
      seen.add(client.brokerId as string);
      await client.close();
    }
    expect([...seen].sort()).toEqual(["a", "b"]);
    // A URL nobody listens on is skipped.
    for (let i = 0; i < 10; i++) {
      const client = await connect([memoryUrl("nobody"), a.urls[0] as string], { reconnect: fast });
      expect(client.brokerId).toBe("a");
      expect(client.state).toBe("ready");
      await client.close();
    }
  });

  it("bad arguments fail with INVALID_ARGUMENT before any dial", async () => {
    await expect(connect("http://127.0.0.1:1")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(connect([])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(connect(memoryUrl("x"), { retry: { multiplier: 0.5 } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(connect(memoryUrl("x"), { retry: { maxAttempts: 1.5 } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(connect(memoryUrl("x"), { reconnect: { maxAttempts: 0 } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(connect(memoryUrl("x"), { connectTimeoutMs: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("reconnect: shouldRetry is asked with the error and the attempt count; maxAttempts bounds the passes", async () => {
    const calls: Array<[string, number]> = [];
    const error = await connect(memoryUrl("nobody"), {
      reconnect: { ...fast, maxAttempts: 3, shouldRetry: (e, attempt) => {
        calls.push([e.code, attempt]);
        return true;
      } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolywireError);
    expect(error).toMatchObject({ code: "CONNECTION_LOST" });
    expect(calls).toEqual([["CONNECTION_LOST", 1], ["CONNECTION_LOST", 2]]);
    const refused: number[] = [];
    await expect(connect(memoryUrl("nobody"), { reconnect: { ...fast, shouldRetry: (_, n) => (refused.push(n), false) } })).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    expect(refused).toEqual([1]);
  });

  it("PW-AUTH-003: a rejected password is not retried, even with another URL down", async () => {
    const secured = await broker({ auth: { plain: { alice: "right" } } });
    const calls: string[] = [];
    const error = await connect([memoryUrl("down"), secured.urls[0] as string], {
      auth: { mechanism: "PLAIN", username: "alice", password: "wrong" },
      reconnect: { ...fast, shouldRetry: (e) => (calls.push(e.code), e.retriable) },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
    expect(calls).toEqual(["AUTHENTICATION_FAILED"]);
    const ok = await connect(secured.urls[0] as string, { auth: { mechanism: "PLAIN", username: "alice", password: "right" } });
    await ok.close();
  });

  it("AbortSignal and connectTimeoutMs bound connect", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(connect(memoryUrl("nobody"), { signal: controller.signal })).rejects.toMatchObject({ code: "CANCELLED" });
    const started = Date.now();
    const url = memoryUrl("nobody");
    const error = await connect(url, { connectTimeoutMs: 200, reconnect: { initialDelayMs: 50, maxDelayMs: 50 } }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    // The last failure, naming the address, its cause and the bound.
    expect(error).toMatchObject({ code: "CONNECTION_LOST" });
    expect((error as Error).message).toContain(`nothing listens on ${url}`);
    expect((error as Error).message).toMatch(/attempts in 200 ms, the connectTimeoutMs bound/);
  });
});

describe("connection state, reconnect and drain", () => {
  it("reconnects with backoff after the connection is lost; state goes reconnecting → ready and an error event reports the loss", async () => {
    const b = await broker({ listeners: ["tcp://127.0.0.1:0"], topics: [{ name: "rc", partitions: 1 }] });
    const proxy = await FaultProxy.start(b.urls[0] as string);
    cleanups.push(() => proxy.close());
    const client = await connect(proxy.url, { reconnect: fast });
    const states = track(client);
    const errors: PolywireError[] = [];
    client.on("error", (e) => errors.push(e));
    proxy.killAll();
    await until(() => states.includes("ready"), 5_000, "reconnected");
    expect(states).toEqual(["reconnecting", "ready"]);
    expect(errors[0]).toMatchObject({ code: "CONNECTION_LOST" });
    expect(client.stats().reconnects).toBe(1);
    expect(proxy.connections).toBe(2);
    const producer = client.producer();
    expect((await producer.send(Record.text("rc", "after"))).offset).toBe(0n);
  });

  it("PW-SESS-010/PW-SESS-011: a connection that stops answering Pings is dropped and replaced (health check)", async () => {
    const b = await broker({ listeners: ["tcp://127.0.0.1:0"] });
    const proxy = await FaultProxy.start(b.urls[0] as string);
    cleanups.push(() => proxy.close());
    const client = await connect(proxy.url, { keepaliveIntervalMs: 100, pongTimeoutMs: 150, connectTimeoutMs: 300, reconnect: fast });
    const states = track(client);
    expect((await client.health()).state).toBe("ready");
    proxy.stall();
    await until(() => states.includes("reconnecting"), 5_000, "the dead connection to be noticed");
    await new Promise((r) => setTimeout(r, 400));
    expect(client.state).toBe("reconnecting");
    proxy.unstall();
    await until(() => client.state === "ready", 5_000, "ready again");
    const health = await client.health();
    expect(health).toMatchObject({ state: "ready", brokerId: b.id });
    expect(health.rttMs).toBeGreaterThanOrEqual(0);
    expect(health.reconnects).toBeGreaterThanOrEqual(1);
  });

  it("PW-SESS-015: on Drain the client moves to another bootstrap URL before the deadline; work goes on there", async () => {
    const a = await broker({ brokerId: "a", drainDeadlineMs: 5_000, topics: [{ name: "d", partitions: 1 }] });
    const b = await broker({ brokerId: "b", drainDeadlineMs: 5_000, topics: [{ name: "d", partitions: 1 }] });
    const client = await connect([a.urls[0] as string, b.urls[0] as string], { reconnect: fast });
    const states = track(client);
    const [from, to] = client.brokerId === "a" ? [a, b] : [b, a];
    const producer = client.producer({ lingerMs: 0 });
    await producer.send(Record.text("d", "before"));
    const started = Date.now();
    await from.close();
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(states).toEqual(["draining", "ready"]);
    expect(client.brokerId).toBe(to.id);
    const after = await producer.send(Record.text("d", "after"));
    expect(after.offset).toBe(0n);
    await using consumer = client.consumer();
    consumer.assign([{ topic: "d", partition: 0, from: "earliest" }]);
    expect((await take(consumer, 1))[0]?.text()).toBe("after");
  });

  it("PW-SESS-015: with nowhere else to go, the client reconnects once the broker is back", async () => {
    const url = memoryUrl("comeback");
    const first = await startBroker({ listeners: [url], drainDeadlineMs: 200, topics: [{ name: "cb", partitions: 1 }] });
    const client = await connect(url, { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const states = track(client);
    await first.close();
    await until(() => states.includes("reconnecting"), 5_000, "reconnecting");
    expect(states.slice(0, 2)).toEqual(["draining", "reconnecting"]);
    const second = await broker({ listeners: [url], topics: [{ name: "cb", partitions: 1 }] });
    await until(() => client.state === "ready", 5_000, "ready");
    expect(client.brokerId).toBe(second.id);
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
    // Leave before the broker closes, so it need not wait out its drain deadline.
    await client.close();
  });

  it("gives up after maxAttempts: the client closes, reports why, and fails later calls", async () => {
    const url = memoryUrl("gone");
    const b = await startBroker({ listeners: [url], drainDeadlineMs: 50, topics: [{ name: "g", partitions: 1 }] });
    const client = await connect(url, { reconnect: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } });
    const states = track(client);
    const errors: PolywireError[] = [];
    client.on("error", (e) => errors.push(e));
    const producer = client.producer();
    await b.close();
    await client.closed;
    expect(states.at(-1)).toBe("closed");
    expect(errors.at(-1)).toMatchObject({ code: "CONNECTION_LOST", retriable: false });
    expect(errors.at(-1)?.message).toMatch(/gave up/);
    await expect(producer.send(Record.text("g", "x"))).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    await expect(client.ping()).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    expect(() => client.producer()).toThrow(expect.objectContaining({ code: "CONNECTION_LOST" }));
  });
});

describe("calls", () => {
  it("ping, health, metadata and listOffsets", async () => {
    const b = await broker({ topics: [{ name: "m1", partitions: 2 }, { name: "m2", partitions: 1 }], clusterId: "test-cluster" });
    await using client = await connect(b.urls[0] as string);
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
    expect(await client.health()).toMatchObject({ state: "ready", url: b.urls[0], brokerId: b.id, inFlight: 0, reconnects: 0 });
    const all = await client.metadata();
    expect(all.map((t) => [t.name, t.partitioner, t.partitions.length]).sort()).toEqual([["m1", "murmur2", 2], ["m2", "murmur2", 1]]);
    expect(client.clusterId).toBe("test-cluster");
    await expect(client.metadata(["m1", "absent"])).rejects.toMatchObject({ code: "UNKNOWN_TOPIC" });
    const producer = client.producer({ lingerMs: 0 });
    await producer.sendBatch([Record.text("m1", "a", { partition: 1, timestamp: 1000 }), Record.text("m1", "b", { partition: 1, timestamp: 2000 })]);
    const offsets = await client.listOffsets([
      { topic: "m1", partition: 1, query: "earliest" },
      { topic: "m1", partition: 1, query: "latest" },
      { topic: "m1", partition: 1, query: { timestamp: 1500 } },
      { topic: "m1", partition: 1, query: { timestamp: 9999 } },
    ]);
    expect(offsets.map((o) => [o.offset, o.timestamp])).toEqual([[0n, -1], [2n, -1], [1n, 2000], [-1n, -1]]);
    await expect(client.listOffsets([{ topic: "m1", partition: 7, query: "latest" }])).rejects.toMatchObject({ code: "UNKNOWN_PARTITION" });
    const stats = client.stats();
    expect(stats.errors.UNKNOWN_TOPIC).toBe(1);
    expect(stats.errors.UNKNOWN_PARTITION).toBe(1);
    expect(stats.requests.count).toBeGreaterThanOrEqual(6);
    expect(stats.requests.p50).toBeLessThanOrEqual(stats.requests.p90);
    expect(stats.requests.p90).toBeLessThanOrEqual(stats.requests.p99);
    expect(stats.requests.p99).toBeLessThanOrEqual(stats.requests.max);
    expect(stats.recordsSent).toBe(2);
    expect(Object.isFrozen(stats)).toBe(true);
  });

  it("AbortSignal and timeoutMs: CANCELLED and TIMEOUT on every call", async () => {
    const b = await broker({ listeners: ["tcp://127.0.0.1:0"], topics: [{ name: "slow", partitions: 1 }] });
    const proxy = await FaultProxy.start(b.urls[0] as string);
    cleanups.push(() => proxy.close());
    const client = await connect(proxy.url, { retry: fast });
    track(client);
    const aborted = AbortSignal.abort();
    await expect(client.ping({ signal: aborted })).rejects.toMatchObject({ code: "CANCELLED" });
    await expect(client.metadata(["slow"], { signal: aborted })).rejects.toMatchObject({ code: "CANCELLED" });
    proxy.stall();
    await expect(client.ping({ timeoutMs: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
    await expect(client.metadata(["slow"], { timeoutMs: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
    await expect(client.listOffsets([{ topic: "slow", partition: 0, query: "latest" }], { timeoutMs: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
    const controller = new AbortController();
    const pending = client.health({ signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "CANCELLED" });
    proxy.unstall();
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
  });

  it("close({ timeoutMs }) bounds closing: records that cannot be delivered in time fail", async () => {
    const b = await broker({ listeners: ["tcp://127.0.0.1:0"], topics: [{ name: "stuck", partitions: 1 }] });
    const proxy = await FaultProxy.start(b.urls[0] as string);
    cleanups.push(() => proxy.close());
    const client = await connect(proxy.url);
    const producer = client.producer({ lingerMs: 0 });
    await producer.send(Record.text("stuck", "warm"));
    proxy.stall();
    const stuck = producer.send(Record.text("stuck", "never acknowledged")).catch((e: unknown) => e);
    const started = Date.now();
    await client.close({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await stuck).toBeInstanceOf(PolywireError);
    expect(client.state).toBe("closed");
  });

  it("records({ timeoutMs }) ends an idle iteration with TIMEOUT", async () => {
    const b = await broker({ topics: [{ name: "quiet", partitions: 1 }] });
    await using client = await connect(b.urls[0] as string);
    await using consumer = client.consumer({ maxWaitMs: 20 });
    consumer.assign([{ topic: "quiet", partition: 0 }]);
    expect(await consumer.position({ topic: "quiet", partition: 0 }, { timeoutMs: 5_000 })).toBe(0n);
    const started = Date.now();
    await expect((async () => {
      for await (const _ of consumer.records({ timeoutMs: 100 })) return;
    })()).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("close() and await using: producers flush first, later calls fail with CONNECTION_LOST", async () => {
    const b = await broker({ topics: [{ name: "c", partitions: 1 }] });
    let producerRef: ReturnType<Client["producer"]> | undefined;
    let sent: Promise<unknown> | undefined;
    {
      await using client = await connect(b.urls[0] as string);
      producerRef = client.producer({ lingerMs: 60_000 });
      sent = producerRef.send(Record.text("c", "flushed on close"));
    }
    // The record was flushed by the client's close, not lost.
    expect(await sent).toMatchObject({ offset: 0n });
    await expect(producerRef.send(Record.text("c", "late"))).rejects.toMatchObject({ code: "CONNECTION_LOST" });
  });
});
