// The client's request/reply API against the reference broker over real
// TCP sockets: request, streaming calls, serve, outcomes (§10).
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ApplicationError, connect, PolywireError } from "../../src/index.js";
import { startBroker, until } from "../harness.js";

async function failure(p: Promise<unknown>): Promise<PolywireError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(PolywireError);
    return error as PolywireError;
  }
  throw new Error("expected a failure");
}

describe("client request/reply", () => {
  it("PW-RPC-011, PW-RPC-014, PW-RPC-022, PW-RPC-046: request and serve, method and headers both ways, application errors with code, message and details", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    await using server = await connect(broker.urls[0] as string);
    await using client = await connect(broker.urls[0] as string);
    const service = server.serve("math.square", async (req) => {
      const text = await req.body.text();
      const n = Number(text);
      if (Number.isNaN(n)) throw new ApplicationError("NOT_A_NUMBER", `cannot square ${JSON.stringify(text)}`, { details: "{\"field\":\"body\"}" });
      return { headers: [["method", req.method], ["trace", new TextDecoder().decode(req.headers.find(([k]) => k === "trace")?.[1])]], body: String(n * n) };
    });
    await service.ready;
    const reply = await client.request("math.square", "12", { method: "Square", headers: [["trace", "t-1"]] });
    expect(reply.text()).toBe("144");
    expect(reply.headers.map(([k, v]) => [k, new TextDecoder().decode(v)])).toEqual([["method", "Square"], ["trace", "t-1"]]);
    const error = await failure(client.request("math.square", "twelve"));
    expect(error).toBeInstanceOf(ApplicationError);
    expect(error.code).toBe("APPLICATION_ERROR");
    expect((error as ApplicationError).applicationCode).toBe("NOT_A_NUMBER");
    expect(new TextDecoder().decode((error as ApplicationError).details)).toBe("{\"field\":\"body\"}");
    // A handler's plain exception is an application error INTERNAL, not a protocol failure.
    const crashing = server.serve("math.crash", () => {
      throw new Error("boom");
    });
    await crashing.ready;
    const crash = await failure(client.request("math.crash", ""));
    expect([crash.code, (crash as ApplicationError).applicationCode, (crash as ApplicationError).applicationMessage]).toEqual(["APPLICATION_ERROR", "INTERNAL", "boom"]);
  });

  it("PW-RPC-020, PW-RPC-031, PW-RPC-046: no responders fails at once with NO_RESPONDERS, a deadline with TIMEOUT, never confused", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    await using server = await connect(broker.urls[0] as string);
    await using client = await connect(broker.urls[0] as string);
    const started = performance.now();
    const none = await failure(client.request("nobody.home", "x", { timeout: 20_000 }));
    expect(none.code).toBe("NO_RESPONDERS");
    expect(performance.now() - started).toBeLessThan(5_000);
    let sawAbort: unknown;
    const slow = server.serve("slow.thing", async (req) => {
      await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve(), { once: true }));
      sawAbort = req.signal.reason;
      return "too late";
    }, { concurrency: 1 });
    await slow.ready;
    const deadline = await failure(client.request("slow.thing", "x", { timeout: 300 }));
    expect(deadline.code).toBe("TIMEOUT");
    await until(() => sawAbort !== undefined, 5_000, "the handler's signal fires at the deadline");
    // Busy responder: the call waits and times out, still TIMEOUT and not NO_RESPONDERS.
    const holding = client.request("slow.thing", "hold", { timeout: 5_000 });
    const waiting = await failure(client.request("slow.thing", "wait", { timeout: 300 }));
    expect(waiting.code).toBe("TIMEOUT");
    expect((await failure(holding)).code).toBe("TIMEOUT");
  });

  it("PW-RPC-032, PW-RPC-034: cancelling with a signal reaches the handler's signal and fails the caller with CANCELLED", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    await using server = await connect(broker.urls[0] as string);
    await using client = await connect(broker.urls[0] as string);
    let started = false;
    let reason: unknown;
    const service = server.serve("cancel.me", async (req) => {
      started = true;
      await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve(), { once: true }));
      reason = req.signal.reason;
    });
    await service.ready;
    const controller = new AbortController();
    const pending = client.request("cancel.me", "x", { signal: controller.signal, timeout: 20_000 });
    await until(() => started, 5_000, "the handler started");
    controller.abort();
    expect((await failure(pending)).code).toBe("CANCELLED");
    await until(() => reason !== undefined, 5_000, "the handler's signal fired");
    expect((reason as PolywireError).code).toBe("CANCELLED");
    // The caller's connection going also cancels the handler (PW-RPC-034).
    reason = undefined;
    started = false;
    const doomed = await connect(broker.urls[0] as string);
    void doomed.request("cancel.me", "x", { timeout: 20_000 }).catch(() => {});
    await until(() => started, 5_000, "the second handler started");
    await doomed.close({ timeoutMs: 100 });
    await until(() => reason !== undefined, 5_000, "the handler's signal fired when the caller left");
  });

  it("PW-RPC-040, PW-RPC-041: streamed bodies both ways from a Blob, a Node stream and an async generator, byte-exact, echoed by a streaming handler", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    await using server = await connect(broker.urls[0] as string);
    await using client = await connect(broker.urls[0] as string);
    const echo = server.serve("echo", (req) => ({ headers: [["echo", "1"]], body: req.body }), { window: 64 * 1024 });
    await echo.ready;
    const size = 3 * 1024 * 1024 + 17;
    const source = new Uint8Array(size);
    for (let i = 0; i < size; i++) source[i] = (i * 31 + (i >> 8)) & 0xff;
    const bodies = [new Blob([source]), Readable.from([source.subarray(0, 1000), source.subarray(1000)]), (async function* () {
      for (let at = 0; at < size; at += 100_000) yield source.subarray(at, at + 100_000);
    })()];
    for (const body of bodies) {
      const call = await client.call("echo", { window: 128 * 1024 });
      const sending = call.send(body);
      const reply = await call.reply;
      expect(new TextDecoder().decode(reply.headers[0]?.[1])).toBe("1");
      const got = await reply.body.bytes();
      await sending;
      expect(got.byteLength).toBe(size);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(source))).toBe(0);
    }
    // request() with a body larger than a frame streams it too.
    const big = await client.request("echo", new Blob([source]));
    expect(big.body.byteLength).toBe(size);
    const text = await broker.metrics.registry.metrics();
    expect(text).toMatch(/polywire_rpc_calls_total\{outcome="flow_control_violation"\} 0/);
  });

  it("PW-RPC-003: serve's concurrency bounds the calls a handler runs at once; close() drains: running calls finish, then no responder is left", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    await using server = await connect(broker.urls[0] as string);
    await using client = await connect(broker.urls[0] as string);
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const service = server.serve("work.queue", async (req) => {
      running++;
      most = Math.max(most, running);
      await gate;
      running--;
      return `done ${await req.body.text()}`;
    }, { concurrency: 2 });
    await service.ready;
    const calls = Array.from({ length: 6 }, (_, i) => client.request("work.queue", String(i), { timeout: 20_000 }));
    await until(() => running === 2, 5_000, "two calls running");
    await new Promise((r) => setTimeout(r, 200));
    expect(running).toBe(2);
    const draining = service.close();
    release();
    const answers = await Promise.allSettled(calls);
    await draining;
    expect(most).toBe(2);
    // The two running ones finish; the waiting ones either ran before the drain took effect or find no responder.
    const done = answers.filter((a) => a.status === "fulfilled").map((a) => (a as PromiseFulfilledResult<{ text(): string }>).value.text());
    expect(done.length).toBeGreaterThanOrEqual(2);
    for (const a of answers) if (a.status === "rejected") expect((a.reason as PolywireError).code).toBe("NO_RESPONDERS");
    expect((await failure(client.request("work.queue", "after"))).code).toBe("NO_RESPONDERS");
  });
});
