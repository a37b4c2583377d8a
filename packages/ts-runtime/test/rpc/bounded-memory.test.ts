// The CI variant of bench/rpc/memory.mjs: a 256 MiB body streamed caller →
// broker → responder and another back, each process its own Node; none may
// grow its resident set by 96 MiB, which holding a good part of either body
// would (the benchmark runs 1 GiB against 64 MiB, bench/RESULTS.md).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SCRIPT = fileURLToPath(new URL("../../../../bench/rpc/memory.mjs", import.meta.url));

describe("request/reply in bounded memory", () => {
  it("PW-RPC-041, PW-RPC-042: 256 MiB each way through the broker, every process growing less than 96 MiB", { timeout: 300_000 }, async () => {
    const child = spawn(process.execPath, [SCRIPT, "--bytes", String(256 * 1024 * 1024), "--limit-mib", "96", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.on("close", resolve));
    const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { growth?: Record<string, number>; ok?: boolean };
    expect(result.growth, err).toBeDefined();
    for (const [name, growth] of Object.entries(result.growth ?? {})) expect(growth, `${name} grew ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(96 * 1024 * 1024);
    expect(code).toBe(0);
  });
});
