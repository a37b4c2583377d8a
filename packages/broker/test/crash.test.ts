import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { decodeBatch, encodeBatch, init, splitBatches } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { spawnBroker, tempDir, type BrokerProcess } from "./helpers.js";

const text = new TextEncoder();

describe("crash safety (PW-LOG-006, PW-IDEM-006)", () => {
  it("PW-LOG-006/PW-LOG-032/PW-IDEM-006: ACKS_ALL records survive SIGKILL of the broker process, once each and in order", { timeout: 90_000 }, async () => {
    await init();
    const dir = tempDir("crash");
    const children: BrokerProcess[] = [];
    try {
      const args = ["--listen", "tcp://127.0.0.1:0", "--data-dir", dir.path, "--topic", "durable:1", "--fsync", "never", "--http-port", "off"];
      const first = await spawnBroker(args);
      children.push(first);
      const acked: string[] = [];
      let lastIdempotent: Uint8Array | undefined;
      let lastOffset = -1n;
      const conn = await Connection.connect(first.urls[0] as string);
      const { producerId, producerEpoch } = (await conn.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n })).message;
      // Keep producing with ACKS_ALL while the process is killed; only acknowledged records count.
      const killAt = 60;
      let sequence = 0;
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        const value = `record-${i}`;
        const batch = encodeBatch([{ value: text.encode(value) }], { producerId, producerEpoch, baseSequence: sequence++ });
        const bytes = batch.slice();
        writes.push(conn.call(FrameKind.PRODUCE_REQUEST, { topic: "durable", partition: 0, acks: Acks.ALL }, batch).then(
          (r) => {
            acked.push(value);
            lastIdempotent = bytes;
            lastOffset = r.message.baseOffset;
          },
          () => undefined,
        ));
        if (i === killAt) {
          await writes[writes.length - 1];
          first.child.kill("SIGKILL");
        }
      }
      await Promise.all(writes);
      expect(await first.exited).toBe("SIGKILL");
      expect(acked.length).toBeGreaterThanOrEqual(killAt + 1);

      const second = await spawnBroker(args);
      children.push(second);
      await using reader = await Connection.connect(second.urls[0] as string);
      const fetched = await reader.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "durable", partition: 0, offset: 0n }], maxBytes: 1 << 20 });
      const decoder = new TextDecoder();
      const stored = splitBatches(fetched.payload).flatMap((b) => decodeBatch(b).records.map((r) => [r.offset, decoder.decode(r.value ?? undefined)] as const));
      // Every acknowledged record is there, exactly once, in order, at dense offsets from 0.
      expect(stored.map(([offset]) => offset)).toEqual(stored.map((_, i) => BigInt(i)));
      const values = stored.map(([, v]) => v);
      expect(values.slice(0, acked.length)).toEqual(acked);
      expect(new Set(values).size).toBe(values.length);
      // A retry of the last acknowledged batch after the restart is recognised as a duplicate.
      const retry = await reader.call(FrameKind.PRODUCE_REQUEST, { topic: "durable", partition: 0, acks: Acks.ALL }, lastIdempotent as Uint8Array);
      expect(retry.message).toMatchObject({ duplicate: true, baseOffset: lastOffset });
    } finally {
      for (const child of children) {
        child.child.kill("SIGKILL");
        await child.exited;
      }
      dir.remove();
    }
  });
});
