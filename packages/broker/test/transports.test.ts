import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { Connection, type ConnectionOptions } from "@polywire/runtime/connection";
import { decodeBatch, encodeBatch, init, splitBatches } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { makeCerts, tempDir, type TestCerts } from "./helpers.js";

const text = new TextEncoder();
const decode = new TextDecoder();

/**
 * The one round-trip body every transport runs (PW-TRANS-002): produce a
 * batch with keys, null values and headers, fetch it back, compare.
 */
async function produceFetchRoundTrip(url: string, topic: string, options: ConnectionOptions = {}): Promise<void> {
  await using conn = await Connection.connect(url, options);
  expect(conn.state).toBe("ready");
  const records = [
    { key: text.encode("k1"), value: text.encode(`hello over ${url}`), headers: [{ key: "h", value: text.encode("v") }, { key: "h", value: null }], timestamp: 1_700_000_000_000 },
    { key: null, value: null, timestamp: 1_700_000_000_001 },
    { key: new Uint8Array(0), value: new Uint8Array(50_000).fill(7), typeId: 12, timestamp: 1_700_000_000_002 },
  ];
  const first = await conn.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, encodeBatch(records));
  const second = await conn.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.ALL }, encodeBatch(records.slice(0, 1)));
  expect(second.message.baseOffset).toBe(first.message.baseOffset + 3n);
  const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic, partition: 0, offset: first.message.baseOffset }], maxWaitMs: 1_000 });
  const [result] = fetched.message.partitions;
  expect(result?.errorCode).toBe(0);
  expect(result?.highWatermark).toBe(first.message.baseOffset + 4n);
  expect(result?.recordsSize).toBe(fetched.payload.byteLength);
  const decoded = splitBatches(fetched.payload).flatMap((b) => decodeBatch(b).records);
  expect(decoded.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n].map((o) => o + first.message.baseOffset));
  expect(decode.decode(decoded[0]?.key ?? undefined)).toBe("k1");
  expect(decode.decode(decoded[0]?.value ?? undefined)).toBe(`hello over ${url}`);
  expect(decoded[0]?.headers.map((h) => [h.key, h.value === null ? null : decode.decode(h.value)])).toEqual([["h", "v"], ["h", null]]);
  expect(decoded[1]?.key).toBeNull();
  expect(decoded[1]?.value).toBeNull();
  expect(decoded[2]?.key?.byteLength).toBe(0);
  expect(decoded[2]?.value).toEqual(new Uint8Array(50_000).fill(7));
  expect(decoded[2]?.typeId).toBe(12);
  expect(decoded.map((r) => r.timestamp)).toEqual([1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002, 1_700_000_000_000]);
}

describe("every transport (§1)", () => {
  let broker: Broker;
  let certs: TestCerts;
  let dir: { path: string; remove(): void };
  const schemes = ["tcp", "tls", "unix", "ws", "wss", "memory"] as const;
  const urls = new Map<string, string>();

  beforeAll(async () => {
    await init();
    certs = await makeCerts();
    dir = tempDir("transports");
    broker = await Broker.start({
      listeners: ["tcp://127.0.0.1:0", "tls://127.0.0.1:0", `unix://${dir.path}/pw.sock`, "ws://127.0.0.1:0/polywire", "wss://localhost:0/polywire", "memory://transports-test"],
      storage: { engine: "disk", dir: `${dir.path}/data` },
      tls: { cert: certs.serverCert, key: certs.serverKey },
      topics: schemes.map((s) => ({ name: `rt-${s}`, partitions: 1 })),
    });
    for (const url of broker.urls) urls.set(new URL(url).protocol.slice(0, -1), url);
  });

  afterAll(async () => {
    await broker?.close();
    dir?.remove();
  });

  for (const scheme of schemes) {
    it(`PW-TRANS-001/PW-TRANS-002: produce/fetch round trip over ${scheme}://`, async () => {
      const url = urls.get(scheme) as string;
      expect(url).toMatch(new RegExp(`^${scheme}://`));
      await produceFetchRoundTrip(url, `rt-${scheme}`, scheme === "tls" || scheme === "wss" ? { tls: { ca: certs.ca } } : {});
    });
  }

  it("PW-TRANS-001: a TLS client that does not trust the server's CA fails to connect, with a non-retriable AUTHENTICATION_FAILED", async () => {
    await expect(Connection.connect(urls.get("tls") as string, { tls: { ca: certs.rogueCa } })).rejects.toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
    await expect(Connection.connect(urls.get("wss") as string, { tls: { ca: certs.rogueCa } })).rejects.toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
  });
});

describe("mutual TLS (PW-TRANS-004)", () => {
  let broker: Broker;
  let certs: TestCerts;
  let tlsUrl: string;
  let tcpUrl: string;

  beforeAll(async () => {
    certs = await makeCerts();
    broker = await Broker.start({
      listeners: ["tls://127.0.0.1:0", "tcp://127.0.0.1:0"],
      storage: { engine: "memory" },
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
      topics: [{ name: "mtls", partitions: 1 }],
    });
    [tlsUrl, tcpUrl] = broker.urls as [string, string];
  });

  afterAll(async () => {
    await broker?.close();
  });

  it("PW-TRANS-004: a client certificate signed by the configured CA is accepted", async () => {
    await produceFetchRoundTrip(tlsUrl, "mtls", { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
  });

  it("PW-TRANS-004/PW-TRANS-009: a client without a certificate is refused before any frame is read, told why by an AUTHENTICATION_FAILED Error; others are still served", async () => {
    const error = await Connection.connect(tlsUrl, { tls: { ca: certs.ca }, connectTimeoutMs: 3_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
    expect((error as Error).message).toMatch(/^client certificate refused: the client presented none/);
    expect(broker.connections).toBe(0);
    await produceFetchRoundTrip(tcpUrl, "mtls");
  });

  it("PW-TRANS-004/PW-TRANS-009: a client certificate from another CA is refused before any frame is read, told why by an AUTHENTICATION_FAILED Error", async () => {
    const error = await Connection.connect(tlsUrl, { tls: { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey }, connectTimeoutMs: 3_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
    expect((error as Error).message).toMatch(/^client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE: /);
    expect(broker.connections).toBe(0);
    await produceFetchRoundTrip(tlsUrl, "mtls", { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
  });
});
