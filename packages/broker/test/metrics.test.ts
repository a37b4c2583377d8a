import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { RawClient, rawFrame } from "./helpers.js";

describe("HTTP listener (PW-ADMIN-042, PW-ADMIN-045)", () => {
  it("PW-ADMIN-042/PW-ADMIN-045: /metrics exposes connections, frames, request latency, records and errors; /healthz and /readyz answer", async () => {
    await init();
    await using broker = await Broker.start({
      listeners: ["memory://metrics-test"],
      storage: { engine: "memory" },
      topics: [{ name: "metered", partitions: 1 }],
      http: { port: 0 },
    });
    await using conn = await Connection.connect("memory://metrics-test");
    await conn.call(FrameKind.PRODUCE_REQUEST, { topic: "metered", partition: 0, acks: Acks.LEADER }, encodeBatch([{ value: new Uint8Array(10) }, { value: null }, { value: null }]));
    await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "metered", partition: 0, offset: 0n }] });
    await conn.call(FrameKind.PRODUCE_REQUEST, { topic: "missing", partition: 0 }, encodeBatch([{ value: null }])).catch(() => undefined);

    const response = await fetch(`${broker.httpUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const body = await response.text();
    expect(body).toMatch(/^polywire_connections\{transport="memory"\} 1$/m);
    expect(body).toMatch(/^polywire_frames_received_total\{kind="FRAME_KIND_PRODUCE_REQUEST"\} 2$/m);
    expect(body).toMatch(/^polywire_frames_sent_total\{kind="FRAME_KIND_PRODUCE_RESPONSE"\} 1$/m);
    expect(body).toMatch(/^polywire_request_duration_seconds_count\{kind="FRAME_KIND_FETCH_REQUEST"\} 1$/m);
    expect(body).toMatch(/^polywire_request_duration_seconds_bucket\{le="\+Inf",kind="FRAME_KIND_PRODUCE_REQUEST"\} 2$/m);
    expect(body).toMatch(/^polywire_records_appended_total\{topic="metered"\} 3$/m);
    expect(body).toMatch(/^polywire_records_fetched_total\{topic="metered"\} 3$/m);
    expect(body).toMatch(/^polywire_bytes_fetched_total\{topic="metered"\} \d+$/m);
    expect(body).toMatch(/^polywire_errors_total\{code="UNKNOWN_TOPIC"\} 1$/m);
    expect((await fetch(`${broker.httpUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${broker.httpUrl}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, "ready\n"]);
    expect((await fetch(`${broker.httpUrl}/nothing`)).status).toBe(404);
  });

  it("PW-ADMIN-045: the kind label is the FrameKind value name as session.proto spells it, and every kind the broker does not know counts under `unknown`", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    const { client } = await RawClient.ready(broker.urls[0] as string);
    try {
      for (const [kind, id] of [[4242, 3], [0, 5], [31, 7], [FrameKind.PING, 9]] as const) {
        client.send(rawFrame({ kind, correlationId: id, message: new Uint8Array(0) }));
        await client.next();
      }
    } finally {
      client.close();
    }
    const body = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    const kinds = [...body.matchAll(/^polywire_frames_received_total\{kind="([^"]*)"\}/gm)].map((m) => m[1]).sort();
    expect(kinds).toEqual(["FRAME_KIND_HELLO", "FRAME_KIND_PING", "unknown"]);
    expect(body).toMatch(/^polywire_frames_received_total\{kind="unknown"\} 3$/m);
    expect(body).toMatch(/^polywire_frames_sent_total\{kind="FRAME_KIND_WELCOME"\} 1$/m);
    expect(body).toMatch(/^polywire_frames_sent_total\{kind="FRAME_KIND_ERROR"\} 3$/m);
  });
});
