import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { connect, Record as Records, type ClientOptions } from "@polywire/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helloFrame, makeCerts, spawnBroker, tempDir, type BrokerProcess, type TestCerts } from "./helpers.js";

// Issue 12: cheap attacks that took the broker down. Everything here runs
// against a broker PROCESS started through the real CLI, attacked by
// another process (hostile-attacker.mjs) over real sockets.
//
// The stated bound: while 2,000 hostile connections are held, the broker's
// RSS stays below 300 MB (an idle broker with memory storage uses about
// 80 MB; each held connection costs it some kilobytes of session, socket
// and TLS state, and at most 64 KiB of partial frame before Welcome,
// PW-FRAME-017). After the attack it must come back within 2x its idle RSS
// within a minute.
const RSS_BOUND = 300 * 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 4_000;
const HOLD_MS = HANDSHAKE_TIMEOUT_MS * 2;
const ATTACKER = fileURLToPath(new URL("./hostile-attacker.mjs", import.meta.url));
const HONEST_RECORDS = 2_000;
// The largest phase holds 2,000 sockets at once in the broker and as many in
// an attacker process; the honest clients and the broker's own files need
// about 400 more. Where the hard limit on open files is lower, every phase
// shrinks by the same factor (never below 500 sockets, which still holds
// 500 x 16 MiB announced, four times what the codec's memory once allowed),
// so the test runs wherever the suite does.
const HARD_FDS = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim());
const SOCKETS = Number.isFinite(HARD_FDS) ? Math.min(2_000, HARD_FDS - 400) : 2_000;
const scaled = (n: number): number => Math.round((n * SOCKETS) / 2_000);

interface AttackReport {
  mode: string;
  open: number;
  connected: number;
  closedByBroker: number;
  errors: Record<string, number>;
  bytesReceived: number;
  lifetimeMs: { min: number | null; median: number | null; max: number | null };
}

/** One hostile-attacker.mjs process. */
class Attacker {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  #waiters: Array<() => void> = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      this.#lines.push(line);
      for (const w of this.#waiters.splice(0)) w();
    });
    child.stderr!.resume();
  }

  static start(mode: string, url: string, count: number, hello?: Uint8Array): Attacker {
    const { hostname, port } = new URL(url);
    const args = [ATTACKER, mode, hostname, port, String(count), ...(hello === undefined ? [] : [Buffer.from(hello).toString("hex")])];
    // Node raises its soft descriptor limit to the hard one; the shell makes sure of it.
    const child = spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', process.execPath, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    return new Attacker(child);
  }

  async #ask(command: string): Promise<AttackReport> {
    const before = this.#lines.length;
    this.#child.stdin!.write(`${command}\n`);
    while (this.#lines.length === before) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return JSON.parse(this.#lines[before] as string) as AttackReport;
  }

  report(): Promise<AttackReport> {
    return this.#ask("report");
  }

  async stop(): Promise<AttackReport> {
    const report = await this.#ask("stop");
    await new Promise((resolve) => (this.#child.exitCode === null ? this.#child.once("exit", resolve) : resolve(undefined)));
    return report;
  }

  /** Waits until it has opened `count` connections at least once. */
  async opened(count: number, timeoutMs = 30_000): Promise<AttackReport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = await this.report();
      if (report.connected >= count || Date.now() > deadline) return report;
      await sleep(200);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// 0 once the process is gone (a failed test's broker is killed while a sampler may still run).
function rssOf(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function fdsOf(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** Samples the broker's RSS and open files every 200 ms until stopped; returns the largest of each. */
function sample(pid: number): () => { rss: number; fds: number } {
  const max = { rss: 0, fds: 0 };
  const take = (): void => {
    max.rss = Math.max(max.rss, rssOf(pid));
    max.fds = Math.max(max.fds, fdsOf(pid));
  };
  take();
  const timer = setInterval(take, 200);
  return () => {
    clearInterval(timer);
    take();
    return max;
  };
}

async function readyz(http: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${http}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

/** An honest client's round: produce records, then consume exactly those, in order. */
async function honestRound(url: string, topic: string, options: ClientOptions = {}): Promise<void> {
  await using client = await connect(url, { ...options, requestTimeoutMs: 20_000 });
  const producer = client.producer({ acks: "leader" });
  const tag = Math.random().toString(36).slice(2);
  const sent = await Promise.all(Array.from({ length: HONEST_RECORDS }, (_, i) => producer.send(Records.text(topic, `${tag}-${i}`, { partition: 0 }))));
  await producer.close();
  await using consumer = client.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic, partition: 0, from: { offset: sent[0]!.offset } }]);
  const got: string[] = [];
  for await (const record of consumer) {
    got.push(record.text());
    if (got.length === HONEST_RECORDS) break;
  }
  expect(got).toEqual(Array.from({ length: HONEST_RECORDS }, (_, i) => `${tag}-${i}`));
}

describe.sequential("hostile clients against a broker process (issue 12)", () => {
  let broker: BrokerProcess;
  let pid: number;
  let tcp: string;
  let tls: string;
  let http: string;
  let certs: TestCerts;
  let dir: { path: string; remove(): void };
  let idleRss = 0;
  const attackers: Attacker[] = [];

  beforeAll(async () => {
    if (SOCKETS < 500) {
      throw new Error(`these tests hold at least 900 descriptors per process; the hard limit on open files here is ${HARD_FDS} (raise it: ulimit -Hn)`);
    }
    dir = tempDir("hostile");
    certs = await makeCerts();
    writeFileSync(join(dir.path, "cert.pem"), certs.serverCert);
    writeFileSync(join(dir.path, "key.pem"), certs.serverKey);
    const config = join(dir.path, "broker.json");
    writeFileSync(config, JSON.stringify({
      memory: true,
      listen: ["tcp://127.0.0.1:0", "tls://127.0.0.1:0"],
      http: { port: 0 },
      tls: { cert: "cert.pem", key: "key.pem" },
      topics: ["honest:1"],
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    }));
    broker = await spawnBroker(["--config", config]);
    pid = broker.child.pid as number;
    [tcp, tls] = broker.urls as [string, string];
    http = /^ {2}http +(\S+)$/m.exec(broker.output())?.[1] as string;
    // Warm up (JIT, codec, first topic access), then measure the idle broker.
    await honestRound(tcp, "honest");
    await honestRound(tls, "honest", { tls: { ca: certs.ca } });
    await sleep(2_000);
    idleRss = rssOf(pid);
  }, 120_000);

  afterAll(async () => {
    for (const a of attackers) await a.stop().catch(() => undefined);
    broker?.child.kill("SIGKILL");
    await broker?.exited;
    dir?.remove();
  });

  it("PW-FRAME-017/PW-FRAME-018/PW-SESS-008: 2,000 TCP connections (fewer under a lower descriptor limit) holding partial headers, announcing 16 MiB frames (before and after Hello) or trickling a Hello: an honest client produces and consumes, RSS stays under 300 MB, /readyz is truthful", { timeout: 180_000 }, async () => {
    const hello = helloFrame({ clientId: "slowloris" });
    const wave = [
      Attacker.start("partial", tcp, scaled(1_200)),
      Attacker.start("hello-then-huge", tcp, scaled(600), helloFrame({ clientId: "announcer" })),
      Attacker.start("huge", tcp, scaled(100)),
      Attacker.start("slowloris", tcp, scaled(100), hello),
    ];
    attackers.push(...wave);
    const counts = [1_200, 600, 100, 100].map(scaled);
    const peak = sample(pid);
    await Promise.all(wave.map((a, i) => a.opened(counts[i] as number)));
    const started = Date.now();
    // While they are held: honest rounds over TCP and TLS, and /readyz.
    while (Date.now() - started < HOLD_MS) {
      await honestRound(tcp, "honest");
      await honestRound(tls, "honest", { tls: { ca: certs.ca } });
      const ready = await readyz(http);
      expect(ready, "/readyz while the honest client is served").toMatchObject({ status: 200, body: "ready\n" });
    }
    const reports = await Promise.all(wave.map((a) => a.report()));
    const { rss: maxRss, fds: heldFds } = peak();
    for (const a of wave) await a.stop();
    attackers.length = 0;
    const [partial, announcers, huge, slowloris] = reports as [AttackReport, AttackReport, AttackReport, AttackReport];
    console.log(`TCP attack: broker RSS idle ${mb(idleRss)}, peak ${mb(maxRss)}; ${heldFds} fds held; ${JSON.stringify(reports)}`);
    expect(maxRss, `RSS peak ${mb(maxRss)} (idle ${mb(idleRss)})`).toBeLessThan(RSS_BOUND);
    expect(heldFds, "the broker held the attack's sockets at once").toBeGreaterThan(scaled(1_500));
    // Partial headers and trickled Hellos are cut at the handshake deadline (PW-SESS-008), never before.
    for (const r of [partial, slowloris]) {
      expect(r.closedByBroker, `${r.mode}: closed by the broker`).toBeGreaterThan(0);
      expect(r.lifetimeMs.min as number, `${r.mode}: shortest life`).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS * 0.75);
      expect(r.lifetimeMs.median as number, `${r.mode}: median life`).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 5_000);
    }
    // A 16 MiB frame before Welcome is refused at once (PW-FRAME-017); after Welcome, within max_frame_size, it is only waited for (PW-FRAME-018).
    expect(huge.closedByBroker).toBeGreaterThan(huge.connected / 2);
    expect(huge.lifetimeMs.median as number).toBeLessThan(HANDSHAKE_TIMEOUT_MS / 2);
    expect(announcers.closedByBroker, `connections announcing a frame of exactly max_frame_size after Welcome were closed: ${JSON.stringify(announcers)}`).toBe(0);
  });

  it("PW-TRANS-007/PW-TRANS-008: 2,000 tls:// connections (fewer under a lower descriptor limit) that never finish their TLS handshake are closed at the handshake deadline; an honest TLS client is served meanwhile, RSS stays under 300 MB", { timeout: 180_000 }, async () => {
    const stalled = Attacker.start("silent", tls, SOCKETS);
    attackers.push(stalled);
    const peak = sample(pid);
    await stalled.opened(SOCKETS);
    const started = Date.now();
    while (Date.now() - started < HOLD_MS) {
      await honestRound(tls, "honest", { tls: { ca: certs.ca } });
      expect(await readyz(http)).toMatchObject({ status: 200, body: "ready\n" });
    }
    const report = await stalled.report();
    const { rss: maxRss, fds: heldFds } = peak();
    await stalled.stop();
    attackers.length = 0;
    console.log(`TLS attack: broker RSS idle ${mb(idleRss)}, peak ${mb(maxRss)}; ${heldFds} fds held; ${JSON.stringify(report)}`);
    expect(maxRss, `RSS peak ${mb(maxRss)} (idle ${mb(idleRss)})`).toBeLessThan(RSS_BOUND);
    expect(heldFds).toBeGreaterThan(scaled(1_500));
    expect(report.closedByBroker, "stalled TLS handshakes closed by the broker").toBeGreaterThan(scaled(1_000));
    expect(report.lifetimeMs.min as number).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS * 0.75);
    expect(report.lifetimeMs.median as number).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 5_000);
  });

  it("after the attacks, RSS comes back within 2x the idle RSS within a minute, and every attack socket is gone", { timeout: 120_000 }, async () => {
    const ended = Date.now();
    const deadline = ended + 60_000;
    let rss = rssOf(pid);
    let fds = fdsOf(pid);
    while ((rss > 2 * idleRss || fds >= 100) && Date.now() < deadline) {
      await sleep(1_000);
      rss = rssOf(pid);
      fds = fdsOf(pid);
    }
    console.log(`after the attacks: broker RSS ${mb(rss)} (idle ${mb(idleRss)}), ${fds} fds, ${((Date.now() - ended) / 1000).toFixed(0)} s after the last attack ended`);
    expect(fds).toBeLessThan(100);
    expect(rss, `RSS ${mb(rss)} a minute after the attacks, idle ${mb(idleRss)}`).toBeLessThanOrEqual(2 * idleRss);
    await honestRound(tcp, "honest");
    expect(await readyz(http)).toMatchObject({ status: 200, body: "ready\n" });
  });
});
