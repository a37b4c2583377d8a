// Confirmed publish (spec §9.5) between real clients through the reference
// broker over TCP: handlers in other connections answer each publish.
import { describe, expect, it } from "vitest";
import { connect, PolywireError } from "../src/index.js";
import { startBroker } from "./harness.js";

describe("confirmed publish (§9.5)", () => {
  it("PW-PUBSUB-040/PW-PUBSUB-041/PW-PUBSUB-042: every handler's success or failure (code and message) comes back to the publisher; queue groups answer once", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    const url = broker.urls[0] as string;
    await using publisher = await connect(url);
    await using billing = await connect(url);
    await using inventory = await connect(url);
    await using workers = await connect(url);
    const seen: string[] = [];
    const handlers = [
      billing.handle("orders.*", (m) => {
        seen.push(`billing ${m.text()}`);
      }),
      inventory.handle("orders.created", (m) => {
        if (m.text() === "order 2") throw new PolywireError("INVALID_ARGUMENT", "no stock for order 2");
      }),
      // Two members of one queue group: one of them answers each message.
      workers.handle("orders.created", () => undefined, { queue: "w" }),
      workers.handle("orders.created", async () => {
        await new Promise((r) => setTimeout(r, 5));
      }, { queue: "w" }),
    ];
    await Promise.all(handlers.map((h) => h.ready));
    const failures: string[] = [];
    handlers[1]?.on("handlerError", (error) => failures.push(String((error as Error).message)));

    const ok = await publisher.publish("orders.created", "order 1", { confirm: { timeoutMs: 5_000 } });
    expect(ok).toEqual({ routed: 3, confirmations: [{ ok: true }, { ok: true }, { ok: true }], missing: 0, ok: true });

    const failed = await publisher.publish("orders.created", "order 2", { confirm: true, headers: { trace: "t" } });
    expect(failed.routed).toBe(3);
    expect(failed.missing).toBe(0);
    expect(failed.ok).toBe(false);
    expect(failed.confirmations.filter((c) => !c.ok)).toEqual([{ ok: false, code: "INVALID_ARGUMENT", message: "no stock for order 2" }]);
    expect(failures).toEqual(["no stock for order 2"]);
    expect(seen).toEqual(["billing order 1", "billing order 2"]);
  });

  it("PW-PUBSUB-042: with nobody listening the publish reports at once; a plain subscription that never answers is missing after the timeout", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    const url = broker.urls[0] as string;
    await using publisher = await connect(url);
    await using reader = await connect(url);
    const started = performance.now();
    expect(await publisher.publish("nobody.here", "x", { confirm: { timeoutMs: 10_000 } })).toEqual({ routed: 0, confirmations: [], missing: 0, ok: true });
    expect(performance.now() - started).toBeLessThan(2_000);

    // An iterator is not a handler: it never confirms (PW-PUBSUB-041 binds handlers).
    const plain = reader.subscribe("events.>");
    await plain.ready;
    const waited = performance.now();
    const result = await publisher.publish("events.a", "x", { confirm: { timeoutMs: 300 } });
    expect(result).toEqual({ routed: 1, confirmations: [], missing: 1, ok: false });
    expect(performance.now() - waited).toBeGreaterThanOrEqual(290);
    // The message carries the request: `pw-confirm: 1` and a reply subject only the publisher listens on.
    const [m] = await (async () => {
      for await (const message of plain) return [message];
      return [];
    })();
    expect(m?.header("pw-confirm")).toBe("1");
    expect(m?.replyTo).toMatch(/^_confirm\.[0-9a-f]{32}\.\d+$/);
  });

  it("PW-PUBSUB-041: a failure's message is cut to 1,024 bytes on a character boundary, a thrown non-Polywire error is HANDLER_FAILED, and confirmations carry no pw-confirm", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    const url = broker.urls[0] as string;
    await using publisher = await connect(url);
    await using handlerSide = await connect(url);
    await using spy = await connect(url);
    const long = "é".repeat(1_000); // 2,000 bytes of UTF-8
    const h = handlerSide.handle("jobs.run", () => {
      throw new Error(long);
    });
    // Whatever is published on the confirmation subjects: the confirmations themselves.
    const confirmations = spy.subscribe("_confirm.>");
    await Promise.all([h.ready, confirmations.ready]);
    const result = await publisher.publish("jobs.run", "x", { confirm: { timeoutMs: 5_000 } });
    expect(result.confirmations).toHaveLength(1);
    const [c] = result.confirmations;
    expect(c?.ok).toBe(false);
    if (c?.ok === false) {
      expect(c.code).toBe("HANDLER_FAILED");
      expect(new TextEncoder().encode(c.message).byteLength).toBe(1_024);
      expect(c.message).toBe("é".repeat(512));
    }
    for await (const m of confirmations) {
      expect(m.header("pw-confirm")).toBeUndefined();
      expect(m.header("pw-confirm-status")).toBe("error");
      break;
    }
  });
});
