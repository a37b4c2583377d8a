// A property over random chunk sizes, windows and reading paces: bodies
// streamed both ways through the reference broker arrive byte-exact, and
// no side ever sends beyond its credit (the broker, which enforces credit
// on both legs, counts no flow-control violation, PW-RPC-042).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Broker } from "@polywire/broker";
import { connect, type Client } from "../../src/index.js";
import { startBroker } from "../harness.js";

let broker: Broker;
let server: Client;
let client: Client;

beforeAll(async () => {
  broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"] });
  server = await connect(broker.urls[0] as string);
  client = await connect(broker.urls[0] as string);
});
afterAll(async () => {
  await client.close();
  await server.close();
  await broker.close();
});

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + seed * 13 + (i >> 9)) & 0xff;
  return out;
}

async function* inPieces(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.byteLength) {
    const n = Math.max(1, sizes[i++ % sizes.length] as number);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function violations(): Promise<number> {
  const text = await broker.metrics.registry.metrics();
  return Number(/polywire_rpc_calls_total\{outcome="flow_control_violation"\} (\d+)/.exec(text)?.[1] ?? "0");
}

describe("request/reply credit property", () => {
  it("PW-RPC-040, PW-RPC-041, PW-RPC-042: random chunk sizes, windows and paces: bodies byte-exact both ways, no credit exceeded", { timeout: 240_000 }, async () => {
    let serial = 0;
    await fc.assert(fc.asyncProperty(
      fc.record({
        size: fc.integer({ min: 0, max: 200_000 }),
        sendSizes: fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 5 }),
        replySizes: fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 5 }),
        callerWindow: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100_000 })),
        serverWindow: fc.integer({ min: 1, max: 100_000 }),
        slowReader: fc.boolean(),
      }),
      async ({ size: asked, sendSizes, replySizes, callerWindow, serverWindow, slowReader }) => {
        // At most 64 windows of the smaller side per body, so that a window of a few bytes keeps a body of a few hundred.
        const size = Math.min(asked, 64 * Math.min(callerWindow === 0 ? serverWindow : callerWindow, serverWindow));
        const name = `prop.s${++serial}`;
        const service = server.serve(name, async (req) => {
          // Reads the whole request, then answers it reversed in its own piece sizes.
          const got = await req.body.bytes();
          const reversed = Uint8Array.from(got).reverse();
          return inPieces(reversed, replySizes);
        }, { window: serverWindow });
        await service.ready;
        const body = pattern(size, serial);
        const call = await client.call(name, { window: callerWindow, timeout: 60_000 });
        const sending = call.send(inPieces(body, sendSizes));
        const reply = await call.reply;
        const parts: Uint8Array[] = [];
        for await (const chunk of reply.body) {
          parts.push(chunk);
          if (slowReader) await new Promise((r) => setImmediate(r));
        }
        await sending;
        const got = Buffer.concat(parts);
        expect(got.byteLength).toBe(size);
        expect(Buffer.compare(got, Buffer.from(Uint8Array.from(body).reverse()))).toBe(0);
        await service.close();
      },
    ), { numRuns: 100 });
    expect(await violations()).toBe(0);
  });
});
