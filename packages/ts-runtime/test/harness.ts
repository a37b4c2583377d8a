import { createServer, type AddressInfo } from "node:net";
import { Broker, type BrokerOptions } from "@polywire/broker";
import type { ConsumedRecord, Consumer } from "../src/index.js";

let memoryNames = 0;

/** A unique `memory://` name for one test. */
export function memoryUrl(prefix: string): string {
  return `memory://${prefix}-${process.pid}-${++memoryNames}`;
}

/** Starts an in-process broker with memory storage on `memory://` plus any other listeners. */
export function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  return Broker.start({
    storage: { engine: "memory" },
    listeners: [memoryUrl("broker")],
    keepaliveIntervalMs: 0,
    ...options,
  });
}

/** Reads `count` records from `consumer`, failing after `timeoutMs`. */
export async function take(consumer: Consumer, count: number, timeoutMs = 10_000): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  if (count === 0) return records;
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const record of consumer.records({ signal })) {
    records.push(record);
    if (records.length >= count) break;
  }
  return records;
}

/** A TCP port that was free a moment ago (for a broker child process that must come back on the same port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const text = new TextEncoder();
