// Subscription.drain() against the reference broker over TCP.
import { describe, expect, it } from "vitest";
import { connect } from "../src/index.js";
import { startBroker, until } from "./harness.js";

describe("subscription drain", () => {
  it("PW-PUBSUB-013: drain() ends the subscription at the broker and resolves once the loop took every message that had arrived", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    const url = broker.urls[0] as string;
    await using publisher = await connect(url);
    await using reader = await connect(url);
    const subscription = reader.subscribe("drain.>");
    await subscription.ready;
    for (let i = 0; i < 5; i++) expect(await publisher.publish("drain.x", `m${i}`)).toBe(1);
    await until(() => subscription.pending === 5, 5_000, "five messages buffered");
    const processed: string[] = [];
    const loop = (async () => {
      for await (const m of subscription) {
        await new Promise((r) => setTimeout(r, 20));
        processed.push(m.text());
      }
    })();
    await subscription.drain({ timeoutMs: 5_000 });
    expect(processed).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(subscription.active).toBe(false);
    // Ended at the broker: nothing is routed to it any more.
    expect(await publisher.publish("drain.x", "late")).toBe(0);
    await loop;
  });
});
