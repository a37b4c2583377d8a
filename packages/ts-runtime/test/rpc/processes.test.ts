// Request/reply across processes over real TCP: responders in separate
// processes share a service's calls; a responder killed mid-body is
// RESPONDER_GONE for its caller, a caller killed mid-call aborts the
// handler (PW-RPC-002, PW-RPC-034, PW-RPC-043).
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { connect, PolywireError } from "../../src/index.js";
import { startBroker, until } from "../harness.js";

const SCRIPT = fileURLToPath(new URL("../fixtures/rpc-peer.mts", import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

function peer(args: readonly string[]): { child: ChildProcess; out: () => string; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ["--no-warnings", "--conditions=@polywire/source", "--import", "tsx", SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exited: new Promise((resolve) => child.on("exit", resolve)) };
}

describe("request/reply across processes", () => {
  it("PW-RPC-002: three responder processes share 300 calls, each within 20% of a third", { timeout: 90_000 }, async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    const url = broker.urls[0] as string;
    const peers = ["a", "b", "c"].map((name) => peer(["serve", url, "lb.work", name]));
    for (const p of peers) await until(() => p.out().includes("ready"), 30_000, "a responder process");
    await using client = await connect(url);
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => client.request("lb.work", String(i), { timeout: 30_000 })));
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(a.text(), (counts.get(a.text()) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(["a", "b", "c"]);
    for (const n of counts.values()) {
      expect(n).toBeGreaterThanOrEqual(80);
      expect(n).toBeLessThanOrEqual(120);
    }
  });

  it("PW-RPC-043: a responder process killed mid-body fails its caller with RESPONDER_GONE, after the body it sent", { timeout: 60_000 }, async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    const url = broker.urls[0] as string;
    const p = peer(["serve", url, "dying.stream", "z"]);
    await until(() => p.out().includes("ready"), 30_000, "the responder process");
    await using client = await connect(url);
    const call = await client.call("dying.stream", { method: "stream", timeout: 30_000 });
    call.end();
    const reply = await call.reply;
    const got: string[] = [];
    let failure: unknown;
    const reading = (async () => {
      try {
        for await (const chunk of reply.body) got.push(new TextDecoder().decode(chunk));
      } catch (error) {
        failure = error;
      }
    })();
    await until(() => got.length >= 3, 10_000, "some of the body");
    p.child.kill("SIGKILL");
    await reading;
    expect(failure).toBeInstanceOf(PolywireError);
    expect((failure as PolywireError).code).toBe("RESPONDER_GONE");
  });

  it("PW-RPC-034: a caller process killed mid-call aborts the handler's signal", { timeout: 60_000 }, async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
    const url = broker.urls[0] as string;
    await using server = await connect(url);
    let aborted: unknown;
    let started = false;
    const service = server.serve("waits.forever", async (req) => {
      started = true;
      try {
        for await (const _chunk of req.body) {
          // Reads until the call ends.
        }
      } catch (error) {
        aborted = error;
      }
      return "";
    });
    await service.ready;
    const caller = peer(["call", url, "waits.forever"]);
    await until(() => started && caller.out().includes("calling"), 30_000, "the call from the caller process");
    caller.child.kill("SIGKILL");
    await caller.exited;
    await until(() => aborted !== undefined, 10_000, "the handler's body to fail");
    expect((aborted as PolywireError).code).toBe("CANCELLED");
  });
});
