// What the producer tests share: a broker with a connected client, the same
// behind a fault-injecting proxy, and reading a topic back. Every broker and
// client a test starts is closed after it.
import type { Broker } from "@polywire/broker";
import { afterEach } from "vitest";
import { connect, type Client } from "../src/index.js";
import { FaultProxy } from "./fault-proxy.js";
import { startBroker, take } from "./harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

export async function setup(options: Parameters<typeof startBroker>[0] = {}): Promise<{ broker: Broker; client: Client }> {
  const broker = await startBroker(options);
  cleanups.push(() => broker.close());
  const client = await connect(broker.urls[0] as string, { retry: { initialDelayMs: 5, maxDelayMs: 50 } });
  cleanups.push(() => client.close());
  return { broker, client };
}

/** A broker with a TCP listener behind a fault-injecting proxy, and a client connected through the proxy. */
export async function proxied(options: Parameters<typeof startBroker>[0] = {}): Promise<{ broker: Broker; proxy: FaultProxy; client: Client; direct: Client }> {
  const broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"], ...options });
  cleanups.push(() => broker.close());
  const proxy = await FaultProxy.start(broker.urls[0] as string);
  cleanups.push(() => proxy.close());
  const client = await connect(proxy.url, { retry: { initialDelayMs: 5, maxDelayMs: 50, maxAttempts: 20 } });
  cleanups.push(() => client.close());
  const direct = await connect(broker.urls[0] as string);
  cleanups.push(() => direct.close());
  return { broker, proxy, client, direct };
}

export async function readAll(client: Client, topic: string, partitions: number, count: number) {
  const consumer = client.consumer({ autoOffsetReset: "earliest", maxWaitMs: 50 });
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
  try {
    return await take(consumer, count);
  } finally {
    await consumer.close();
  }
}

export function values(records: ReadonlyArray<{ text(): string }>): string[] {
  return records.map((r) => r.text());
}
