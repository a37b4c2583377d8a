import { Acks, FetchRequestSchema } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { frameOf, RawClient } from "./helpers.js";

describe("outbound backpressure", () => {
  it("PW-FRAME-012: a client that does not read stops being served until it reads; then every answer arrives in order", { timeout: 60_000 }, async () => {
    await init();
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "big", partitions: 1 }] });
    const url = broker.urls[0] as string;
    {
      await using producer = await Connection.connect(url);
      await producer.call(FrameKind.PRODUCE_REQUEST, { topic: "big", partition: 0, acks: Acks.LEADER }, encodeBatch([{ value: new Uint8Array(4 * 1024 * 1024 - 100) }]));
    }
    const { client } = await RawClient.ready(url);
    client.socket.pause();
    const requests = 30;
    const bytes = [];
    for (let i = 0; i < requests; i++) {
      bytes.push(...frameOf(FrameKind.FETCH_REQUEST, 3 + 2 * i, FetchRequestSchema, { partitions: [{ topic: "big", partition: 0, offset: 0n }] }));
    }
    client.send(new Uint8Array(bytes));
    await new Promise((r) => setTimeout(r, 1_000));
    const served = async (): Promise<number> => {
      const text = await broker.metrics.registry.getSingleMetricAsString("polywire_request_duration_seconds");
      return Number(/polywire_request_duration_seconds_count\{kind="FRAME_KIND_FETCH_REQUEST"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    // About what the kernel's socket buffers hold (4 MiB each), far from all 120 MiB.
    expect(await served()).toBeLessThan(requests / 2);
    client.socket.resume();
    const ids: number[] = [];
    for (let i = 0; i < requests; i++) ids.push((await client.next(30_000)).correlationId);
    expect(ids).toEqual(Array.from({ length: requests }, (_, i) => 3 + 2 * i));
    expect(await served()).toBe(requests);
    client.close();
  });
});
