// Runs test/loader-suite.js in every runtime against the built package:
//   node test/runtimes/run.mjs [node|deno|bun|chromium|workerd|bundlers]...
// (no argument: all of them). Prints a line per case and a closing
// "N passed, N failed" line; exits non-zero on any failure.
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pkg = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const require = createRequire(import.meta.url);
const bin = (name) => join(pkg, "..", "..", "node_modules", ".bin", name);

function run(cmd, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: pkg, stdio: ["ignore", "pipe", "pipe"], ...options });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, out, err });
    });
  });
}

function parseResults(label, { code, out, err }) {
  const line = out.split("\n").find((l) => l.startsWith("RESULTS "));
  if (line === undefined) return [{ name: "suite ran", ok: false, error: `exit ${code}\n${out}\n${err}`.trim() }];
  return JSON.parse(line.slice("RESULTS ".length));
}

const runtimes = {
  async node() {
    return parseResults("node", await run(process.execPath, ["test/runtimes/entry.mjs", "sync"]));
  },
  async deno() {
    return parseResults("deno", await run(bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-read", "test/runtimes/entry.mjs", "sync"], { env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } }));
  },
  async bun() {
    return parseResults("bun", await run(bin("bun"), ["test/runtimes/entry.mjs", "async"]));
  },
  async chromium() {
    const { chromium } = require("playwright-core");
    const types = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
    const page = `<!doctype html><script type="module">
      import * as codec from "/dist/index.js";
      import { runLoaderSuite } from "/test/loader-suite.js";
      window.results = await runLoaderSuite(codec, { init: () => codec.init() });
    </script>`;
    const server = createServer((req, res) => {
      const path = new URL(req.url, "http://127.0.0.1").pathname;
      if (path === "/") {
        res.writeHead(200, { "content-type": "text/html" }).end(page);
        return;
      }
      const file = resolve(pkg, `.${path}`);
      if (!file.startsWith(pkg) || !(path.startsWith("/dist/") || path.startsWith("/test/"))) {
        res.writeHead(404).end();
        return;
      }
      const stream = createReadStream(file);
      stream.on("error", () => res.writeHead(404).end());
      stream.on("open", () => {
        res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
        stream.pipe(res);
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const tab = await browser.newPage();
      const errors = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(`http://127.0.0.1:${server.address().port}/`);
      await tab.waitForFunction(() => window.results !== undefined || false, null, { timeout: 60_000 }).catch(() => undefined);
      const results = await tab.evaluate(() => window.results);
      return results ?? [{ name: "suite ran", ok: false, error: errors.join("\n") || "no results" }];
    } finally {
      await browser.close();
      server.close();
    }
  },
  async workerd() {
    const dir = await mkdtemp(join(tmpdir(), "polywire-workerd-"));
    try {
      await mkdir(join(dir, "dist"));
      const modules = [
        `(name = "entry.js", esModule = embed "entry.js")`,
        `(name = "loader-suite.js", esModule = embed "loader-suite.js")`,
        `(name = "polywire_codec.wasm", wasm = embed "dist/polywire_codec.wasm")`,
      ];
      for (const f of await readdir(join(pkg, "dist"))) {
        if (f.endsWith(".js")) modules.push(`(name = "dist/${f}", esModule = embed "dist/${f}")`);
        if (f.endsWith(".js") || f.endsWith(".wasm")) await copyFile(join(pkg, "dist", f), join(dir, "dist", f));
      }
      await copyFile(join(pkg, "test/runtimes/workerd-entry.js"), join(dir, "entry.js"));
      await copyFile(join(pkg, "test/loader-suite.js"), join(dir, "loader-suite.js"));
      await writeFile(
        join(dir, "config.capnp"),
        `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .worker)]);
const worker :Workerd.Worker = (modules = [${modules.join(", ")}], compatibilityDate = "2024-09-23");
`,
      );
      return parseResults("workerd", await run(bin("workerd"), ["test", join(dir, "config.capnp")]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  async bundlers() {
    const dir = await mkdtemp(join(pkg, ".bundle-check-"));
    const results = [];
    try {
      const entry = join(dir, "entry.mjs");
      await writeFile(
        entry,
        `import * as codec from "@polywire/wasm-codec";
import { runLoaderSuite } from ${JSON.stringify(join(pkg, "test/loader-suite.js"))};
export async function main(source) { return runLoaderSuite(codec, { init: () => codec.init(source) }); }
`,
      );
      // esbuild: bundles with no configuration beyond the entry. It does not
      // copy assets referenced by new URL(), so its users pass the .wasm.
      const esbuild = await import("esbuild");
      const built = await esbuild.build({ entryPoints: [entry], bundle: true, format: "esm", platform: "browser", outfile: join(dir, "esbuild/out.js"), logLevel: "silent" });
      results.push({ name: "esbuild: bundles without configuration", ok: built.errors.length === 0 && built.warnings.length === 0, error: JSON.stringify(built.warnings) });
      const esbuildOut = await import(pathToFileURL(join(dir, "esbuild/out.js")).href);
      for (const r of await esbuildOut.main(await readFile(join(pkg, "dist/polywire_codec.wasm")))) results.push({ ...r, name: `esbuild bundle: ${r.name}` });
      // vite: a default build rewrites the new URL() to the .wasm, emitted as
      // an asset file or (library mode) inlined as a data: URL, so init()
      // with no source finds it.
      const vite = await import("vite");
      await vite.build({ root: dir, logLevel: "silent", configFile: false, build: { outDir: join(dir, "vite"), lib: { entry, formats: ["es"], fileName: "out" } } });
      const assets = await readdir(join(dir, "vite"), { recursive: true });
      const viteCode = await readFile(join(dir, "vite/out.js"), "utf8");
      const carried = assets.some((f) => f.endsWith(".wasm")) || viteCode.includes("data:application/wasm;base64,");
      results.push({ name: "vite: the bundle carries the .wasm", ok: carried, error: assets.join(", ") });
      const viteOut = await import(pathToFileURL(join(dir, "vite/out.js")).href);
      for (const r of await viteOut.main()) results.push({ ...r, name: `vite bundle: ${r.name}` });
    } catch (e) {
      results.push({ name: "bundlers ran", ok: false, error: String(e?.stack ?? e) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return results;
  },
};

const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(runtimes);
let passed = 0;
let failed = 0;
for (const name of chosen) {
  const runner = runtimes[name];
  if (runner === undefined) throw new Error(`unknown runtime ${name}; one of ${Object.keys(runtimes).join(", ")}`);
  let results;
  try {
    results = await runner();
  } catch (e) {
    results = [{ name: "runtime started", ok: false, error: String(e?.stack ?? e) }];
  }
  for (const r of results) {
    if (r.ok) passed++;
    else failed++;
    console.log(`${r.ok ? "ok  " : "FAIL"} [${name}] ${r.name}${r.ok ? "" : `\n${r.error}`}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
