// `polywire pub` and `polywire sub` as users run them: the real binary in
// child processes against a broker over TCP.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Broker } from "@polywire/broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/polywire.js", import.meta.url));
let broker: Broker;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" } });
  env = { ...process.env, POLYWIRE_BROKER: broker.urls[0] as string };
});
afterAll(async () => {
  await broker?.close();
});

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

function polywire(args: readonly string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  const run: Run = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((resolve) => child.on("close", (code) => resolve(code))),
  };
  child.stdout?.on("data", (c: Buffer) => (run.stdout += c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => (run.stderr += c.toString("utf8")));
  return run;
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("polywire pub and sub", () => {
  it("PW-PUBSUB-013, PW-PUBSUB-021: sub prints what pub publishes; pub prints the routed count", { timeout: 60_000 }, async () => {
    const sub = polywire(["sub", "orders.*", "--count", "2", "--json"]);
    await until(() => sub.stderr.includes("listening on orders.*"), "sub to listen");
    const first = polywire(["pub", "orders.eu", "hello", "--header", "trace=t1", "--json"]);
    expect(await first.exit, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ subject: "orders.eu", routed: 1 });
    const second = polywire(["pub", "orders.us", "again"]);
    expect(await second.exit, second.stderr).toBe(0);
    expect(second.stdout).toContain("routed to 1 subscription");
    expect(await sub.exit, sub.stderr).toBe(0);
    const lines = sub.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { subject: "orders.eu", replyTo: "", sequence: 1, headers: [{ key: "trace", value: "t1" }], data: "hello" },
      { subject: "orders.us", replyTo: "", sequence: 2, headers: [], data: "again" },
    ]);
    const none = polywire(["pub", "orders.eu", "nobody"]);
    expect(await none.exit).toBe(0);
    expect(none.stdout).toContain("routed to 0 subscriptions");
  });

  it("PW-PUBSUB-001, PW-PUBSUB-002: a bad subject or pattern is refused with its code and a non-zero exit", { timeout: 30_000 }, async () => {
    const pub = polywire(["pub", "orders.*", "x"]);
    expect(await pub.exit).not.toBe(0);
    expect(pub.stderr).toMatch(/INVALID_SUBJECT|wildcard/);
    const sub = polywire(["sub", "a.>.b"]);
    expect(await sub.exit).not.toBe(0);
    expect(sub.stderr).toMatch(/INVALID_SUBJECT|> may only be the last token/);
  });
});
