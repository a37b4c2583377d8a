import { Feature } from "@polywire/proto/session";
import type { PolywireError } from "@polywire/runtime";
import { Connection } from "@polywire/runtime/connection";
import { describe, expect, it } from "vitest";
import { spawnBroker, tempDir, type BrokerProcess } from "../../broker/test/helpers.js";
import { run } from "../src/index.js";

function capture(): { io: { out(line: string): void; err(line: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

describe("polywire broker", () => {
  it("PW-SESS-015: SIGTERM drains clients, finishes, prints the shutdown and exits 0", { timeout: 60_000 }, async () => {
    const dir = tempDir("cli");
    let broker: BrokerProcess | undefined;
    try {
      broker = await spawnBroker(["--listen", "tcp://127.0.0.1:0", "--listen", `unix://${dir.path}/pw.sock`, "--data-dir", `${dir.path}/data`, "--topic", "cli:2", "--metrics-port", "0", "--drain-ms", "300"]);
      expect(broker.urls).toHaveLength(2);
      expect(broker.urls[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(broker.urls[1]).toBe(`unix://${dir.path}/pw.sock`);
      const http = /^ {2}http +(\S+)$/m.exec(broker.output())?.[1];
      expect((await fetch(`${http}/readyz`)).status).toBe(200);

      const conn = await Connection.connect(broker.urls[1] as string, { features: [Feature.LOG, Feature.DRAIN_NOTICE] });
      const drained = new Promise((resolve) => conn.on("drain", resolve));
      const closed = new Promise<PolywireError | undefined>((resolve) => conn.on("close", resolve));
      broker.child.kill("SIGTERM");
      expect(await drained).toMatchObject({ deadlineMs: 300 });
      await closed;
      expect(await broker.exited).toBe(0);
      expect(broker.output()).toMatch(/SIGTERM: draining\nstopped\n$/);
    } finally {
      if (broker !== undefined && broker.child.exitCode === null && broker.child.signalCode === null) {
        broker.child.kill("SIGKILL");
        await broker.exited;
      }
      dir.remove();
    }
  });

  it("PW-LIM-003: --max-batch-size and --max-frame-size set the limits the broker announces in Welcome", { timeout: 60_000 }, async () => {
    const broker = await spawnBroker(["--listen", "tcp://127.0.0.1:0", "--memory", "--max-batch-size", String(32 << 20), "--max-frame-size", String(40 << 20)]);
    try {
      await using conn = await Connection.connect(broker.urls[0] as string);
      expect(conn.limits).toMatchObject({ maxBatchSize: 32 << 20, maxFrameSize: 40 << 20 });
    } finally {
      broker.child.kill("SIGKILL");
      await broker.exited;
    }
  });

  it("rejects bad flags with a usage error and exit code 2", async () => {
    const bad = capture();
    expect(await run(["broker", "--topic", "no-partitions"], bad.io)).toBe(2);
    expect(bad.err.join("\n")).toMatch(/--topic must be name:partitions/);
    const both = capture();
    expect(await run(["broker", "--memory", "--data-dir", "x"], both.io)).toBe(2);
    const unknown = capture();
    expect(await run(["broker", "--bogus"], unknown.io)).toBe(2);
    expect(unknown.err.join("\n")).toMatch(/bogus/);
    const notANumber = capture();
    expect(await run(["broker", "--max-batch-size", "8M"], notANumber.io)).toBe(2);
    expect(notANumber.err.join("\n")).toMatch(/--max-batch-size must be a non-negative integer/);
    const nothing = capture();
    expect(await run(["frobnicate"], nothing.io)).toBe(2);
    expect(nothing.err.join("\n")).toMatch(/unknown command "frobnicate"/);
    const help = capture();
    expect(await run(["broker", "--help"], help.io)).toBe(0);
    expect(help.out.join("\n")).toMatch(/--listen <url>/);
  });
});
