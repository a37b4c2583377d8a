import { Broker } from "@polywire/broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { polywire } from "./run-cli.js";

let broker: Broker;
let env: Record<string, string>;

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
  env = { POLYWIRE_ADMIN_URL: broker.httpUrl as string, POLYWIRE_BROKER: broker.urls[0] as string };
});

afterAll(async () => {
  await broker?.close();
});

describe("polywire group", () => {
  it("PW-ADMIN-029: against a broker without the groups plane, group commands say plainly that groups are not available (exit 6); so does consume --group", async () => {
    await using plain = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, groups: false });
    const plainEnv = { POLYWIRE_ADMIN_URL: plain.httpUrl as string, POLYWIRE_BROKER: plain.urls[0] as string };
    for (const args of [["group", "list"], ["group", "describe", "g"], ["group", "reset", "g", "--to", "earliest"], ["group", "reset", "g", "--to", "@2026-01-01T00:00:00Z", "--topic", "t:0,1", "--dry-run"], ["group", "delete", "g"]]) {
      const result = await polywire(args, { env: plainEnv });
      expect(result.code, args.join(" ")).toBe(6);
      expect(result.stderr).toMatch(/^polywire group: consumer groups are not available on this broker\n {2}next: /);
    }
    const consume = await polywire(["consume", "t", "--group", "g"], { env: plainEnv });
    expect([consume.code, consume.stderr]).toEqual([6, expect.stringContaining("not available")]);
  });

  it("PW-GROUP-006/PW-GROUP-040: consume --group: two processes share a topic, each record printed once, commits carry over to the next run", { timeout: 60_000 }, async () => {
    await broker.createTopic("cli-share", { partitions: 4 });
    const lines = Array.from({ length: 40 }, (_, i) => `r${i}`).join("\n");
    for (let p = 0; p < 4; p++) {
      const produced = await polywire(["produce", "cli-share", "--partition", String(p)], { env, input: lines.split("\n").slice(p * 10, p * 10 + 10).join("\n") + "\n" });
      expect(produced.code, produced.stderr).toBe(0);
    }
    const [a, b] = await Promise.all([
      polywire(["consume", "cli-share", "--group", "cli-share-g", "--count", "15"], { env }),
      polywire(["consume", "cli-share", "--group", "cli-share-g", "--count", "15"], { env }),
    ]);
    expect([a.code, a.stderr]).toEqual([0, ""]);
    expect([b.code, b.stderr]).toEqual([0, ""]);
    const first = [...a.stdout.trim().split("\n"), ...b.stdout.trim().split("\n")];
    expect(first).toHaveLength(30);
    expect(new Set(first).size).toBe(30);
    // The next run starts where the commits of both left off.
    const rest = await polywire(["consume", "cli-share", "--group", "cli-share-g", "--count", "10", "--json"], { env });
    expect([rest.code, rest.stderr]).toEqual([0, ""]);
    const restValues = rest.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { value: string }).value);
    expect([...first, ...restValues].sort()).toEqual(lines.split("\n").sort());
    expect((await polywire(["consume", "cli-share", "--group", "g", "--partition", "0"], { env })).code).toBe(2);
  });

  it("PW-ADMIN-030/PW-ADMIN-034/PW-ADMIN-035: against the reference broker, group reset, list, describe and delete answer (exit 0)", async () => {
    await broker.createTopic("cli-groups", { partitions: 2 });
    const reset = await polywire(["group", "reset", "cli-g", "--to", "latest", "--topic", "cli-groups:0,1", "--json"], { env });
    expect([reset.code, reset.stderr]).toEqual([0, ""]);
    const list = await polywire(["group", "list", "--json"], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("cli-g");
    expect((await polywire(["group", "describe", "cli-g"], { env })).code).toBe(0);
    expect((await polywire(["group", "delete", "cli-g"], { env })).code).toBe(0);
    expect((await polywire(["group", "describe", "cli-g"], { env })).code).not.toBe(0);
  });

});
