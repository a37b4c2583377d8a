import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Broker } from "@polywire/broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCerts, tempDir, type TestCerts } from "../../broker/test/helpers.js";
import { connect, PolywireError, type ClientOptions, type ClientState } from "../src/index.js";
import { freePort, startBroker, until } from "./harness.js";

/**
 * Connects with `options` and returns the failure, with every failure the
 * reconnect policy was asked about: one entry means no second dial.
 */
async function refusal(url: string, options: ClientOptions): Promise<{ error: PolywireError; asked: string[]; ms: number }> {
  const asked: string[] = [];
  const started = Date.now();
  const error = await connect(url, {
    ...options,
    connectTimeoutMs: 20_000,
    reconnect: { initialDelayMs: 10, maxDelayMs: 10, shouldRetry: (e) => (asked.push(e.code), e.retriable) },
  }).then(async (client) => {
    await client.close();
    throw new Error(`${url} accepted the connection`);
  }, (e: unknown) => e);
  expect(error).toBeInstanceOf(PolywireError);
  return { error: error as PolywireError, asked, ms: Date.now() - started };
}

/**
 * `openssl s_server` requiring a client certificate its CA verifies and
 * failing the handshake with a TLS alert otherwise (`-verify_return_error`),
 * as brokers on OpenSSL, Go or Java do; Node's TLS server cannot.
 */
async function opensslServer(certs: TestCerts, dir: string): Promise<{ url: string; child: ChildProcess }> {
  for (const [name, pem] of [["server.crt", certs.serverCert], ["server.key", certs.serverKey], ["ca.crt", certs.ca]] as const) writeFileSync(join(dir, name), pem);
  const port = await freePort();
  const child = spawn("openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", "server.crt", "-key", "server.key", "-CAfile", "ca.crt", "-Verify", "1", "-verify_return_error"], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  await until(() => out.includes("ACCEPT"), 15_000, "openssl s_server to listen");
  return { url: `tls://127.0.0.1:${port}`, child };
}

describe("certificates refused during the handshake (PW-TRANS-004, PW-TRANS-009, PW-TRANS-010)", () => {
  let certs: TestCerts;
  let broker: Broker;
  let dir: { path: string; remove(): void };
  const urls = new Map<string, string>();

  beforeAll(async () => {
    certs = await makeCerts();
    dir = tempDir("tls-refusal");
    broker = await startBroker({
      listeners: ["tls://127.0.0.1:0", "wss://localhost:0/polywire"],
      tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
      topics: [{ name: "mtls", partitions: 1 }],
    });
    for (const url of broker.urls) urls.set(new URL(url).protocol.slice(0, -1), url);
  });

  afterAll(async () => {
    await broker?.close();
    dir?.remove();
  });

  for (const scheme of ["tls", "wss"] as const) {
    it(`PW-TRANS-009/PW-TRANS-010: over ${scheme}://, a client without a certificate fails at once with AUTHENTICATION_FAILED saying why, and never redials`, async () => {
      const { error, asked, ms } = await refusal(urls.get(scheme) as string, { tls: { ca: certs.ca } });
      expect(error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
      expect(error.message).toContain(urls.get(scheme));
      expect(error.message).toMatch(/client certificate refused: the client presented none/);
      expect(asked).toEqual(["AUTHENTICATION_FAILED"]);
      expect(ms).toBeLessThan(5_000);
    });

    it(`PW-TRANS-009/PW-TRANS-010: over ${scheme}://, a certificate another CA signed fails at once with AUTHENTICATION_FAILED naming the verification failure`, async () => {
      const { error, asked, ms } = await refusal(urls.get(scheme) as string, { tls: { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey } });
      expect(error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
      expect(error.message).toMatch(/client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
      expect(asked).toEqual(["AUTHENTICATION_FAILED"]);
      expect(ms).toBeLessThan(5_000);
    });

    it(`PW-TRANS-010: over ${scheme}://, a client that does not trust the broker's certificate fails at once, with tls.refusedBy "client" and the reason`, async () => {
      const { error, asked } = await refusal(urls.get(scheme) as string, { tls: { ca: certs.rogueCa, cert: certs.clientCert, key: certs.clientKey } });
      expect(error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false, tls: { refusedBy: "client", code: "SELF_SIGNED_CERT_IN_CHAIN", reason: "self-signed certificate in certificate chain" } });
      expect(error.message).toContain(`cannot connect to ${urls.get(scheme)}: this client refused the broker's certificate`);
      expect(asked).toEqual(["AUTHENTICATION_FAILED"]);
      // JSON.stringify works on the error (its bigint limit would make it throw) and keeps the TLS details.
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: "AUTHENTICATION_FAILED", tls: { refusedBy: "client" } });
    });

    it(`PW-TRANS-004: over ${scheme}://, a certificate the client CA signed is served`, async () => {
      await using client = await connect(urls.get(scheme) as string, { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
      expect((await client.producer().send({ topic: "mtls", value: scheme })).topic).toBe("mtls");
    });
  }

  it("PW-TRANS-010: a TLS alert from the broker (unknown ca, certificate required) is AUTHENTICATION_FAILED carrying the alert, not a lost connection", async () => {
    const server = await opensslServer(certs, dir.path);
    try {
      // TLS 1.3: the client's handshake is done before the server judges its
      // certificate, so the alert ends the connection during Hello.
      const rogue = await refusal(server.url, { tls: { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey } });
      expect(rogue.error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false, tls: { refusedBy: "broker", reason: "unknown ca", alert: 48 } });
      expect(rogue.error.message).toBe(`cannot connect to ${server.url}: the broker refused this client's certificate (TLS alert "unknown ca", 48)`);
      expect(rogue.asked).toEqual(["AUTHENTICATION_FAILED"]);
      const none = await refusal(server.url, { tls: { ca: certs.ca } });
      expect(none.error).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false, tls: { refusedBy: "broker", reason: "certificate required", alert: 116 } });
      expect(none.asked).toEqual(["AUTHENTICATION_FAILED"]);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("PW-TRANS-010: a broker that starts refusing the client's certificate stops the reconnecting: the client closes with AUTHENTICATION_FAILED", async () => {
    const port = await freePort();
    const listen = { listeners: [`tls://127.0.0.1:${port}`], drainDeadlineMs: 100 };
    let first: Broker | undefined = await startBroker({ ...listen, tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca } });
    let second: Broker | undefined;
    try {
      const client = await connect(`tls://127.0.0.1:${port}`, { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
      const states: ClientState[] = [];
      const errors: PolywireError[] = [];
      const redials: string[] = [];
      client.on("state", (s) => states.push(s));
      client.on("error", (e) => errors.push(e));
      client.on("reconnecting", (_attempt, _delay, e) => redials.push(e.code));
      await first.close();
      first = undefined;
      // The broker comes back trusting only another CA.
      second = await startBroker({ ...listen, tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.rogueCa } });
      await client.closed;
      expect(states.at(-1)).toBe("closed");
      const last = errors.at(-1);
      expect(last).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
      expect(last?.message).toMatch(/client certificate refused: [A-Z_]+: it does not verify against this listener.s client CA/);
      // It stopped at the first refusal: no redial after it.
      expect(redials.filter((c) => c === "AUTHENTICATION_FAILED")).toEqual([]);
      await expect(client.ping()).rejects.toMatchObject({ code: "CONNECTION_LOST", retriable: false });
    } finally {
      await first?.close();
      await second?.close();
    }
  });
});
