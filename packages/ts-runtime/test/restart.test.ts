import { describe, expect, it } from "vitest";
import { spawnBroker, tempDir, type BrokerProcess } from "../../broker/test/helpers.js";
import { connect, Record, type ClientState, type RecordMetadata } from "../src/index.js";
import { freePort, take, until } from "./harness.js";

describe("broker restarts (child process on a fixed port)", () => {
  it("PW-IDEM-006/PW-LOG-006: the client reconnects with backoff after SIGKILL and a restart; acks=all records are stored exactly once, in order", { timeout: 120_000 }, async () => {
    const dir = tempDir("client-restart");
    const port = await freePort();
    const args = ["--listen", `tcp://127.0.0.1:${port}`, "--data-dir", dir.path, "--topic", "restart:1", "--http-port", "off"];
    let child: BrokerProcess | undefined = await spawnBroker(args);
    try {
      const client = await connect(`tcp://127.0.0.1:${port}`, { retry: { initialDelayMs: 50, maxDelayMs: 400, maxAttempts: Infinity } });
      const states: ClientState[] = [];
      client.on("state", (s) => states.push(s));
      const producer = client.producer({ acks: "all", lingerMs: 2, batchBytes: 2048 });
      const total = 600;
      const acked: RecordMetadata[] = [];
      const sends: Array<Promise<RecordMetadata>> = [];
      let killedAt = -1;
      for (let i = 0; i < total; i++) {
        sends.push(producer.send(Record.text("restart", `r${i}`)).then((m) => {
          acked.push(m);
          return m;
        }));
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
        if (i === 200) {
          await until(() => acked.length > 50, 30_000, "some acknowledgements");
          killedAt = acked.length;
          child.child.kill("SIGKILL");
          expect(await child.exited).toBe("SIGKILL");
          child = undefined;
          await until(() => states.includes("reconnecting"), 10_000, "the client to notice");
          // Down for a while: the client keeps redialing with backoff.
          await new Promise((r) => setTimeout(r, 1_000));
          expect(client.state).toBe("reconnecting");
          child = await spawnBroker(args);
        }
      }
      const metas = await Promise.all(sends);
      expect(killedAt).toBeGreaterThan(0);
      expect(states).toContain("reconnecting");
      expect(states.at(-1)).toBe("ready");
      expect(client.stats().reconnects).toBeGreaterThanOrEqual(1);
      // Offsets follow send order: nothing lost, nothing twice (PW-IDEM-003, PW-IDEM-006).
      expect(metas.map((m) => m.offset)).toEqual(metas.map((_, i) => BigInt(i)));
      await using consumer = client.consumer({ maxWaitMs: 100 });
      consumer.assign([{ topic: "restart", partition: 0, from: "earliest" }]);
      const stored = await take(consumer, total, 30_000);
      expect(stored.map((r) => r.text())).toEqual(Array.from({ length: total }, (_, i) => `r${i}`));
      expect(await consumer.position({ topic: "restart", partition: 0 })).toBe(BigInt(total));
      await producer.close();
      await client.close();
    } finally {
      if (child !== undefined) {
        child.child.kill("SIGKILL");
        await child.exited;
      }
      dir.remove();
    }
  });
});
