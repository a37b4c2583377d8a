// PW-RPC-047: a responder that registers and then never reads its socket
// cannot make the broker hold what callers send it outside credit (first
// payloads of calls, chunks under unlimited credit): the broker stops
// reading the senders instead. The broker runs in its own process, so that
// its resident set is its own.
import { readFileSync } from "node:fs";
import { CallChunkSchema, CallRequestSchema, CallResponseSchema, CallStatus } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frameOf, spawnBroker, type BrokerProcess, type RawClient } from "../helpers.js";
import { nextCall, register, rpcClient } from "./wire.js";

let broker: BrokerProcess;
const open: RawClient[] = [];

beforeAll(async () => {
  broker = await spawnBroker(["--memory", "--listen", "tcp://127.0.0.1:0", "--http-port", "0"]);
});
afterAll(async () => {
  for (const c of open) c.close();
  broker.child.kill("SIGTERM");
  await broker.exited;
});

function rss(): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${broker.child.pid}/status`, "utf8"))?.[1] ?? "0") * 1024;
}

/** Writes `frames` with the socket's back-pressure, for up to `ms`; returns the bytes the broker took. */
async function pushFor(c: RawClient, frames: () => Uint8Array, ms: number): Promise<number> {
  let written = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const frame = frames();
    written += frame.byteLength;
    if (!c.socket.write(frame)) {
      const drained = await Promise.race([new Promise((r) => c.socket.once("drain", () => r(true))), new Promise((r) => setTimeout(() => r(false), until - Date.now()))]);
      if (drained === false) break;
    }
  }
  return written - c.socket.writableLength;
}

describe("a receiver that does not read (PW-RPC-047)", () => {
  it("PW-RPC-047: 1 MiB first payloads and unlimited chunks to a responder that never reads leave the broker's memory bounded", { timeout: 60_000 }, async () => {
    const url = broker.urls[0] as string;
    const responder = await rpcClient(url);
    const caller = await rpcClient(url);
    open.push(responder, caller);
    await register(responder, 1, 1, "sleepy.sink", 0);
    const before = rss();
    // Unlimited chunks: one call the responder answers granting unlimited request credit, then stops reading.
    caller.send(frameOf(FrameKind.CALL_REQUEST, 1, CallRequestSchema, { service: "sleepy.sink", timeoutMs: 60_000 }));
    const routed = await nextCall(responder);
    responder.send(frameOf(FrameKind.CALL_RESPONSE, routed.id, CallResponseSchema, { status: CallStatus.OK, initialCredit: 0 }));
    await new Promise((r) => setTimeout(r, 200));
    responder.socket.pause();
    const mib = new Uint8Array(1024 * 1024);
    const chunk = frameOf(FrameKind.CALL_CHUNK, 1, CallChunkSchema, { endOfStream: false }, mib);
    const chunksTaken = await pushFor(caller, () => chunk, 4_000);
    // First payloads of new calls (odd ids 3, 5, ...), each 1 MiB.
    const caller2 = await rpcClient(url);
    open.push(caller2);
    let id = 1;
    const callsTaken = await pushFor(caller2, () => frameOf(FrameKind.CALL_REQUEST, (id += 2), CallRequestSchema, { service: "sleepy.sink", timeoutMs: 60_000, endOfStream: true }, mib), 4_000);
    const growth = rss() - before;
    // Without the pause the broker would take everything the callers could write in 8 s (hundreds of MiB).
    expect(chunksTaken + callsTaken, `the broker took ${chunksTaken + callsTaken} bytes`).toBeLessThan(64 * 1024 * 1024);
    expect(growth, `broker RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(96 * 1024 * 1024);
  });
});
