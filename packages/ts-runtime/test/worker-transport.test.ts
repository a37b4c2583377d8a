// worker:// (PW-TRANS-013): a broker in this thread serves clients in real
// worker_threads, through the port each thread was given. The threads run
// fixtures/worker-client.mjs on the built packages (dist), as an
// application's threads would.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { Broker, workerPort } from "@polywire/broker";
import { dial } from "@polywire/core";
import { connect, registerWorkerPort } from "../src/index.js";
import { until } from "./harness.js";

const script = new URL("./fixtures/worker-client.mjs", import.meta.url);
let names = 0;

function startThread(name: string, data: Record<string, unknown>): { worker: Worker; messages: Array<Record<string, unknown>>; next(): Promise<Record<string, unknown>> } {
  const port = workerPort(name);
  // No inherited flags: the thread loads the built packages, not the sources the test runner resolves to.
  const worker = new Worker(script, { workerData: { name, port, ...data }, transferList: [port as never], execArgv: [] });
  const messages: Array<Record<string, unknown>> = [];
  const waiting: Array<(m: Record<string, unknown>) => void> = [];
  let failure: Error | undefined;
  worker.on("message", (m: Record<string, unknown>) => {
    const w = waiting.shift();
    if (w !== undefined) w(m);
    else messages.push(m);
  });
  worker.on("error", (error) => {
    failure = error;
  });
  return {
    worker,
    messages,
    next: async () => {
      const queued = messages.shift();
      if (queued !== undefined) return queued;
      return await new Promise((resolve, reject) => {
        waiting.push(resolve);
        const timer = setInterval(() => {
          if (failure !== undefined) reject(failure);
        }, 50);
        void timer.unref();
      });
    },
  };
}

async function brokerOn(options: Partial<Parameters<typeof Broker.start>[0]> = {}): Promise<{ broker: Broker; name: string }> {
  const name = `bus-${process.pid}-${++names}`;
  const broker = await Broker.start({ storage: { engine: "memory" }, listeners: [`worker://${name}`], keepaliveIntervalMs: 0, ...options });
  return { broker, name };
}

describe("worker:// transport (PW-TRANS-013)", () => {
  it("PW-TRANS-013, PW-TRANS-012, PW-PUBSUB-013, PW-PUBSUB-025: a broker in this thread serves clients in two worker threads; a message goes from one thread to the other, in order", { timeout: 60_000 }, async () => {
    const { broker, name } = await brokerOn();
    const subscriber = startThread(name, { role: "subscriber", subject: "t.>", count: 200 });
    const publisher = startThread(name, { role: "publisher", subject: "t.x", count: 200 });
    try {
      expect(await subscriber.next()).toEqual({ ready: true });
      expect(await publisher.next()).toEqual({ ready: true });
      publisher.worker.postMessage("go");
      expect((await publisher.next()).routed).toEqual(Array.from({ length: 200 }, () => 1));
      const got = (await subscriber.next()).got as Array<[string, string, number]>;
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => ["t.x", `m${i}`, i + 1]));
      // Pub/sub went as records (PW-TRANS-012), not as frames through the session.
      const frames = await broker.metrics.registry.getSingleMetricAsString("polywire_frames_received_total") + await broker.metrics.registry.getSingleMetricAsString("polywire_frames_sent_total");
      expect(frames).toMatch(/HELLO/);
      expect(frames).not.toMatch(/PUBLISH|SUBSCRIBE|DELIVERY/);
      // A client in the broker's own thread dials the listener directly.
      await using local = await connect(`worker://${name}`);
      expect(await local.publish("t.x", "local")).toBe(0);
    } finally {
      await Promise.all([subscriber.worker.terminate(), publisher.worker.terminate()]);
      await broker.close();
    }
  });

  it("PW-TRANS-012, PW-PUBSUB-016, PW-PUBSUB-022, PW-PUBSUB-024, PW-PUBSUB-030, PW-PUBSUB-031: across threads the broker's typed errors, answers, headers and drops are as over frames", { timeout: 60_000 }, async () => {
    const { broker, name } = await brokerOn({ pubsub: { maxSubscriptions: 3 } });
    const thread = startThread(name, { role: "checks" });
    try {
      expect(await thread.next()).toEqual({
        badSubject: "INVALID_SUBJECT",
        reserved: "RESERVED_SUBJECT",
        emptyHeaderKey: "INVALID_ARGUMENT",
        overLimit: "TOO_MANY_SUBSCRIPTIONS",
        routed: 1,
        received: ["a", "x", 1],
        headers: [["k", "v"], ["ü", "w"]],
        text: ["é", "back.here"],
        // One batch of 200 reached the broker's thread in one tick: max_pending 5 kept the first five.
        burst: { pending: 5, dropped: 195 },
        sequences: [1, 2, 3, 4, 5, 201],
        missed: 195,
      });
    } finally {
      await thread.worker.terminate();
      await broker.close();
    }
  });

  it("PW-TRANS-013, PW-PUBSUB-015: a terminated thread is a closed connection: its subscriptions end", { timeout: 60_000 }, async () => {
    const { broker, name } = await brokerOn();
    const subscriber = startThread(name, { role: "subscriber", subject: "gone", count: 1_000_000 });
    try {
      expect(await subscriber.next()).toEqual({ ready: true });
      await using local = await connect(`worker://${name}`);
      expect(await local.publish("gone", "x")).toBe(1);
      await subscriber.worker.terminate();
      let routed = 1;
      await until(() => {
        void local.publish("gone", "x").then((r) => (routed = r));
        return routed === 0;
      }, 20_000, "the thread's subscription ended with its connection");
    } finally {
      await subscriber.worker.terminate();
      await broker.close();
    }
  });

  it("PW-TRANS-013: dialing with no listener and no registered port is CONNECTION_LOST; a port nobody answers is TIMEOUT; a closed listener refuses", async () => {
    await expect(dial(`worker://nobody-${process.pid}`)).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    const silent = new MessageChannel();
    registerWorkerPort(`silent-${process.pid}`, silent.port1);
    const started = performance.now();
    await expect(dial(`worker://silent-${process.pid}`, { timeoutMs: 100 })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    silent.port2.close();
    const { broker, name } = await brokerOn();
    const port = workerPort(name);
    registerWorkerPort(`via-${name}`, port);
    const viaPort = await connect(`worker://via-${name}`);
    expect(await viaPort.publish("x", "y")).toBe(0);
    await viaPort.close();
    await broker.close();
    // The listener closed its rendezvous ports with it.
    await expect(dial(`worker://via-${name}`, { timeoutMs: 2_000 })).rejects.toMatchObject({ code: expect.stringMatching(/^(CONNECTION_LOST|TIMEOUT)$/) as string });
  });
});
