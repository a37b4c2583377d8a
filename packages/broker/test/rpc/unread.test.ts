// PW-RPC-047: a responder that registers and then never reads its socket
// cannot make the broker hold what callers send it outside credit (first
// payloads of calls, chunks under unlimited credit): the broker stops
// reading the senders instead. The broker runs in its own process, so that
// its resident set is its own.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CallChunkSchema, CallRequestSchema, CallResponseSchema, CallStatus } from "@polywire/proto/rpc";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorCode, ErrorSchema, FrameKind } from "@polywire/proto/session";
import type { Frame } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frameOf, spawnBroker, tempDir, type BrokerProcess, type RawClient } from "../helpers.js";
import { nextCall, register, rpcClient } from "./wire.js";

let broker: BrokerProcess;
const open: RawClient[] = [];

const dir = tempDir("rpc-unread");

beforeAll(async () => {
  const config = join(dir.path, "broker.json");
  // Waiting calls may hold 8 MiB of payloads (PW-RPC-006).
  writeFileSync(config, JSON.stringify({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: false, rpc: { maxWaitingBytes: 8 * 1024 * 1024 } }));
  broker = await spawnBroker(["--config", config]);
});
afterAll(async () => {
  for (const c of open) c.close();
  broker.child.kill("SIGTERM");
  await broker.exited;
  dir.remove();
});

function rss(): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${broker.child.pid}/status`, "utf8"))?.[1] ?? "0") * 1024;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
  it("PW-RPC-047: 1 MiB first payloads and unlimited chunks to a responder that never reads leave the broker's memory bounded, and new calls go to responders that read", { timeout: 60_000 }, async () => {
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
    await pushFor(caller2, () => frameOf(FrameKind.CALL_REQUEST, (id += 2), CallRequestSchema, { service: "sleepy.sink", timeoutMs: 60_000, endOfStream: true }, mib), 4_000);
    const growth = rss() - before;
    // Without the pause the broker would take everything the caller could write in 4 s (1.5 GB here).
    expect(chunksTaken, `the broker took ${chunksTaken} bytes of chunks`).toBeLessThan(64 * 1024 * 1024);
    // The calls wait (the responder pushes back: no room) until they hold 8 MiB; later ones are refused (PW-RPC-006).
    await until(() => caller2.frames.some((f) => f.kind === FrameKind.ERROR), "TOO_MANY_CALLS");
    const refused = caller2.frames.find((f) => f.kind === FrameKind.ERROR) as Frame;
    expect(ErrorCode[fromBinary(ErrorSchema, refused.message).code]).toBe("TOO_MANY_CALLS");
    expect(growth, `broker RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(96 * 1024 * 1024);
    // A responder that reads joins the service: new calls go to it, not to the one that pushes back.
    const awake = await rpcClient(url);
    const third = await rpcClient(url);
    open.push(awake, third);
    await register(awake, 1, 1, "sleepy.sink", 0);
    // It answers every call it gets: the ones that waited, then the third client's.
    const answering = setInterval(() => {
      for (const f of awake.frames.splice(0)) {
        if (f.kind === FrameKind.CALL_REQUEST) awake.send(frameOf(FrameKind.CALL_RESPONSE, f.correlationId, CallResponseSchema, { status: CallStatus.OK, endOfStream: true }));
      }
    }, 10);
    try {
      for (let i = 0; i < 4; i++) third.send(frameOf(FrameKind.CALL_REQUEST, 2 * i + 1, CallRequestSchema, { service: "sleepy.sink", timeoutMs: 10_000, endOfStream: true }));
      await until(() => third.frames.length >= 4, "the answers to the calls routed past the responder that pushes back");
      expect(third.frames.map((f) => [FrameKind[f.kind], f.correlationId]).sort()).toEqual([1, 3, 5, 7].map((id) => ["CALL_RESPONSE", id]).sort());
    } finally {
      clearInterval(answering);
    }
  });
});
