import { createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { spawnBroker, tempDir, type BrokerProcess } from "../../broker/test/helpers.js";
import { connect, PolywireError, Record, type ClientState, type ConsumedRecord } from "../src/index.js";
import { freePort, startBroker, until } from "./harness.js";

async function failure(promise: Promise<unknown>): Promise<{ error: PolywireError; ms: number }> {
  const started = Date.now();
  const error = await promise.then(() => {
    throw new Error("connect() resolved");
  }, (e: unknown) => e);
  expect(error).toBeInstanceOf(PolywireError);
  return { error: error as PolywireError, ms: Date.now() - started };
}

describe("the first connection fails fast, naming the address and the cause", () => {
  it("with no broker listening, connect() fails within the default connectTimeoutMs (5 s) with ECONNREFUSED and the address", async () => {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    const { error, ms } = await failure(connect(url));
    expect(error.code).toBe("CONNECTION_LOST");
    expect(error.message).toContain(`cannot connect to ${url}: connect ECONNREFUSED`);
    expect(error.message).toMatch(/\d+ attempts in 5000 ms, the connectTimeoutMs bound/);
    // Retried within the bound (a broker may be starting), then given up: not 17-27 s.
    expect(ms).toBeGreaterThanOrEqual(4_500);
    expect(ms).toBeLessThan(8_000);
  });

  it("connectTimeoutMs sets the bound; a host name that does not resolve is named with the resolver's error", async () => {
    const url = "tcp://polywire-test-host.invalid:7420";
    const { error, ms } = await failure(connect(url, { connectTimeoutMs: 1_000 }));
    expect(error.code).toBe("CONNECTION_LOST");
    expect(error.message).toMatch(/^cannot connect to tcp:\/\/polywire-test-host\.invalid:7420: getaddrinfo (ENOTFOUND|EAI_AGAIN) polywire-test-host\.invalid/);
    expect(ms).toBeLessThan(4_000);
  });

  it("a listener that accepts but never answers the Hello fails with TIMEOUT at connectTimeoutMs", async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `tcp://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const { error, ms } = await failure(connect(url, { connectTimeoutMs: 800 }));
      expect(error.code).toBe("TIMEOUT");
      expect(error.message).toContain(`cannot connect to ${url}: no handshake completed within 800 ms (connectTimeoutMs)`);
      expect(ms).toBeGreaterThanOrEqual(700);
      expect(ms).toBeLessThan(4_000);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it("PW-TRANS-005: a bootstrap URL that never answers takes only its share of connectTimeoutMs; the next URL is still tried", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    try {
      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        const client = await connect([`tcp://127.0.0.1:${(silent.address() as { port: number }).port}`, broker.urls[0] as string], { connectTimeoutMs: 3_000 });
        expect(client.brokerId).toBe(broker.id);
        expect(Date.now() - started).toBeLessThan(3_000);
        await client.close();
      }
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      await broker.close();
    }
  });

  it("several URLs: the failure names each address with its own cause", async () => {
    const a = `tcp://127.0.0.1:${await freePort()}`;
    const b = "tcp://polywire-test-host.invalid:7420";
    const { error } = await failure(connect([a, b], { connectTimeoutMs: 500 }));
    expect(error.message).toContain(`cannot connect to ${a}: connect ECONNREFUSED`);
    expect(error.message).toContain(`cannot connect to ${b}: getaddrinfo`);
  });
});

describe("once connected, the client reconnects for as long as it is open", () => {
  it("a consumer outlives a broker outage far longer than its request retry budget: states and redials are observable, the backoff is the reconnect policy's", { timeout: 120_000 }, async () => {
    const dir = tempDir("client-outage");
    const port = await freePort();
    const args = ["--listen", `tcp://127.0.0.1:${port}`, "--data-dir", dir.path, "--topic", "outage:1"];
    let child: BrokerProcess | undefined = await spawnBroker(args);
    try {
      // Request retries give up within ~0.5 s; reconnecting must not.
      const client = await connect(`tcp://127.0.0.1:${port}`, { retry: { initialDelayMs: 10, maxDelayMs: 50 }, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } });
      const states: ClientState[] = [];
      const redials: Array<{ attempt: number; delayMs: number; error: PolywireError }> = [];
      client.on("state", (s) => states.push(s));
      client.on("reconnecting", (attempt, delayMs, error) => redials.push({ attempt, delayMs, error }));
      const producer = client.producer({ lingerMs: 0 });
      const consumer = client.consumer({ autoOffsetReset: "earliest", maxWaitMs: 100 });
      consumer.assign([{ topic: "outage", partition: 0 }]);
      const received: ConsumedRecord[] = [];
      const reading = (async () => {
        for await (const record of consumer) received.push(record);
      })();
      await producer.send(Record.text("outage", "before"));
      await until(() => received.length === 1, 10_000, "the first record");

      child.child.kill("SIGKILL");
      await child.exited;
      child = undefined;
      // Down for 4 s: with the request retry budget alone the client would have closed long before.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(client.state).toBe("reconnecting");
      expect(redials.length).toBeGreaterThan(5);
      expect(redials.map((r) => r.attempt)).toEqual(redials.map((_, i) => i + 1));
      expect(Math.max(...redials.map((r) => r.delayMs))).toBeLessThanOrEqual(300);
      expect(redials.at(-1)?.error.message).toContain("ECONNREFUSED");

      child = await spawnBroker(args);
      await until(() => client.state === "ready", 10_000, "reconnected");
      await producer.send(Record.text("outage", "after"));
      await until(() => received.length === 2, 10_000, "the record sent after the outage");
      expect(received.map((r) => r.text())).toEqual(["before", "after"]);
      expect(states).toEqual(["reconnecting", "ready"]);
      expect(client.stats().reconnects).toBe(1);
      await client.close();
      await reading;
    } finally {
      if (child !== undefined) {
        child.child.kill("SIGKILL");
        await child.exited;
      }
      dir.remove();
    }
  });
});
