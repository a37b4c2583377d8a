import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeBatch, splitBatches } from "@polywire/wasm-codec";
import { openDiskStorage } from "../src/storage/disk.js";
import { codecReady, makeBatch, tempDirectory } from "./storage-fixtures.js";

beforeAll(() => codecReady);

/** Cycles of the crash loop; `scripts/crash-loop.mjs <cycles>` runs more. */
const CYCLES = Number(process.env.POLYWIRE_CRASH_CYCLES ?? 20);
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Ack {
  readonly cycle: number;
  readonly n: number;
  readonly records: number;
  readonly baseSequence: number;
  readonly baseOffset: bigint;
}

interface CycleOutcome {
  readonly acks: Ack[];
  readonly producer: { producerId: bigint; producerEpoch: number } | null;
}

/**
 * Starts the appending child, kills it with SIGKILL after `killAfterMs`
 * (counted from "ready", or from spawn when `beforeReady`), and returns what
 * it acknowledged (read from its acks file once it is dead).
 */
function runVictim(directory: string, acksFile: string, cycle: number, killAfterMs: number, beforeReady: boolean): Promise<CycleOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@polywire/source", "--import", "tsx", join(packageRoot, "scripts", "crash-child.ts"), directory, String(cycle), acksFile], {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acks: Ack[] = [];
    let producer: CycleOutcome["producer"] = null;
    let stderr = "";
    let killed = false;
    const kill = (): void => {
      if (!killed) {
        killed = true;
        child.kill("SIGKILL");
      }
    };
    if (beforeReady) setTimeout(kill, killAfterMs);
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const parts = line.split(" ");
      if (parts[0] === "ready") {
        producer = { producerId: BigInt(parts[1]!), producerEpoch: Number(parts[2]) };
        if (!beforeReady) setTimeout(kill, killAfterMs);
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL") {
        reject(new Error(`crash child exited by itself (code ${code}, signal ${signal}): ${stderr}`));
        return;
      }
      const lines = existsSync(acksFile) ? readFileSync(acksFile, "utf8").split("\n") : [];
      for (const line of lines.filter((l) => l.startsWith("ack "))) {
        const parts = line.split(" ");
        acks.push({ cycle: Number(parts[1]), n: Number(parts[2]), records: Number(parts[3]), baseSequence: Number(parts[4]), baseOffset: BigInt(parts[5]!) });
      }
      resolve({ acks, producer });
    });
  });
}

/** Every record in the log, as its value text, with its offset. */
async function readAll(directory: string): Promise<{ offset: bigint; value: string }[]> {
  const storage = await openDiskStorage({ directory, retentionCheckIntervalMs: 0 });
  try {
    if (!storage.listTopics().some((t) => t.name === "crash")) return [];
    const log = storage.partition("crash", 0);
    const out: { offset: bigint; value: string }[] = [];
    let offset = log.logStartOffset();
    while (offset < log.highWatermark()) {
      const read = await log.read(offset, 1 << 20);
      for (const chunk of read.chunks) {
        for (const batch of splitBatches(chunk)) {
          for (const record of decodeBatch(batch).records) {
            if (record.offset >= offset) out.push({ offset: record.offset, value: new TextDecoder().decode(record.value!).replace(/x+$/, "") });
          }
        }
      }
      offset = out.length > 0 ? out[out.length - 1]!.offset + 1n : offset;
    }
    return out;
  } finally {
    await storage.close();
  }
}

describe("disk storage under SIGKILL", () => {
  it(
    `PW-LOG-006 PW-LOG-030 PW-LOG-031 PW-LOG-032 PW-IDEM-006: every ACKS_ALL-acknowledged record survives ${CYCLES} SIGKILLs exactly once, in order`,
    async () => {
      await using dir = await tempDirectory();
      await using acksDir = await tempDirectory();
      const acked: Ack[] = [];
      let totalAcks = 0;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const beforeReady = cycle % 5 === 4;
        const delay = beforeReady ? Math.floor(Math.random() * 600) : 20 + Math.floor(Math.random() * 300);
        const outcome = await runVictim(dir.path, join(acksDir.path, `acks-${cycle}`), cycle, delay, beforeReady);
        acked.push(...outcome.acks);
        totalAcks += outcome.acks.length;

        const records = await readAll(dir.path);
        // Dense offsets from 0 (PW-LOG-030) and each record exactly once.
        records.forEach((r, i) => expect(r.offset).toBe(BigInt(i)));
        const seen = new Map<string, bigint>();
        for (const r of records) {
          expect(seen.has(r.value), `duplicate record ${r.value}`).toBe(false);
          seen.set(r.value, r.offset);
        }
        // Every acknowledged record is there, at the offset its ack reported.
        for (const ack of acked) {
          for (let i = 0; i < ack.records; i++) {
            expect(seen.get(`c${ack.cycle}-${ack.n}-${i}-`), `acknowledged record c${ack.cycle}-${ack.n}-${i}`).toBe(ack.baseOffset + BigInt(i));
          }
        }
        // What a cycle stored is a prefix of what it issued, in issue order.
        const perCycle = new Map<number, number[]>();
        for (const r of records) {
          const [c, n, i] = r.value.slice(1).split("-").map(Number) as [number, number, number];
          if (i === 0) perCycle.set(c, [...(perCycle.get(c) ?? []), n]);
        }
        for (const ns of perCycle.values()) expect(ns).toEqual(ns.map((_, k) => k));

        // PW-IDEM-006: a retry of the cycle's last acknowledged batch is recognised after the crash.
        const last = outcome.acks.reduce<Ack | null>((a, b) => (a === null || b.baseOffset > a.baseOffset ? b : a), null);
        if (last !== null && outcome.producer !== null) {
          const storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
          try {
            const retry = makeBatch({
              values: Array.from({ length: last.records }, () => "retry"),
              producerId: outcome.producer.producerId,
              producerEpoch: outcome.producer.producerEpoch,
              baseSequence: last.baseSequence,
            });
            expect(await storage.partition("crash", 0).append(retry.bytes, retry.header)).toMatchObject({ baseOffset: last.baseOffset, duplicate: true });
          } finally {
            await storage.close();
          }
        }
        // Every other cycle the victim opens after a crash too, not after our clean close.
        if (cycle % 2 === 1) await rm(join(dir.path, "clean-shutdown"), { force: true });
      }
      expect(totalAcks).toBeGreaterThan(CYCLES);
    },
    // Each cycle reads the whole log back, so later cycles of a long crash loop take longer.
    Math.max(60_000, CYCLES * (5_000 + 100 * CYCLES)),
  );
});
