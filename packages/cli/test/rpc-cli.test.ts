// `polywire request` and `polywire serve` as users run them: the real binary
// in child processes against a broker over TCP.
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

function polywire(args: readonly string[], stdin?: string): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"], env });
  const run: Run = { child, stdout: "", stderr: "", exit: new Promise((resolve) => child.on("close", (code) => resolve(code))) };
  child.stdout?.on("data", (c: Buffer) => (run.stdout += c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => (run.stderr += c.toString("utf8")));
  if (stdin !== undefined) child.stdin?.end(stdin);
  return run;
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("polywire request and serve", () => {
  it("PW-RPC-002, PW-RPC-020, PW-RPC-022: serve --exec answers request with the command's output; no responder and a failing command have their own exits", { timeout: 90_000 }, async () => {
    const none = polywire(["request", "text.upper", "hello"]);
    expect(await none.exit, none.stderr).toBe(4);
    expect(none.stderr).toContain("NO_RESPONDERS");
    const serve = polywire(["serve", "text.upper", "--exec", "tr a-z A-Z"]);
    try {
      await until(() => serve.stderr.includes("serving text.upper"), "serve to be ready");
      const arg = polywire(["request", "text.upper", "hello there"]);
      expect(await arg.exit).toBe(0);
      expect(arg.stdout).toBe("HELLO THERE");
      const piped = polywire(["request", "text.upper", "-"], "from standard input\n");
      expect(await piped.exit).toBe(0);
      expect(piped.stdout).toBe("FROM STANDARD INPUT\n");
    } finally {
      serve.child.kill("SIGINT");
      expect(await serve.exit).toBe(130);
    }
    const failing = polywire(["serve", "fails", "--exec", "echo 'no such order' >&2; exit 3"]);
    try {
      await until(() => failing.stderr.includes("serving fails"), "the failing service to be ready");
      const call = polywire(["request", "fails", "x", "--method", "get"]);
      expect(await call.exit).toBe(1);
      expect(call.stderr).toContain("EXIT_3: no such order");
    } finally {
      failing.child.kill("SIGINT");
      await failing.exit;
    }
  });
});
