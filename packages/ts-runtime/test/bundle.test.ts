import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

describe("browser bundle", () => {
  it("bundles for browsers: Node built-ins are never imported statically, only by the lazily loaded socket dialer", async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
      bundle: true,
      platform: "browser",
      format: "esm",
      splitting: true,
      write: false,
      outdir: "/bundle",
      conditions: ["@polywire/source"],
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const entry = result.outputFiles.find((f) => f.path.endsWith("/bundle/index.js"));
    expect(entry).toBeDefined();
    for (const file of result.outputFiles) {
      expect(file.text, file.path).not.toMatch(/from\s*["']node:|require\(["'](node:)?(net|tls)["']\)/);
    }
    // The socket dialer is a separate chunk, reached only through a dynamic import.
    expect(result.outputFiles.some((f) => f.text.includes("this runtime has no node:"))).toBe(true);
    expect(entry?.text).not.toContain("this runtime has no node:");
  });
});
