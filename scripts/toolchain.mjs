#!/usr/bin/env node
// Installs the pinned tools that generation and the tests need, into
// git-ignored folders: the Go protoc plugins and Go test tools (grpcurl) into
// .cache/bin, the Python packages of scripts/requirements.txt into .venv, and
// the modules of the Go code the tests build into Go's module cache.
// Idempotent: a tool already at its pinned version is left alone, and each
// step prints one `toolchain:` line saying whether it installed or reused.
// `npm run generate` and `npm test` call what they need; run directly to
// install everything.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
const GO_PLUGINS = {
  "protoc-gen-go": "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12",
  "protoc-gen-connect-go": "connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1",
};

// Go programs the tests run: grpcurl calls the admin services through gRPC
// server reflection, as a third-party client that has no protos would.
const GO_TOOLS = {
  grpcurl: "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4",
};

/** The pinned grpcurl, once {@link ensureGoTools} has run. */
export const grpcurl = join(root, ".cache/bin/grpcurl");

// The Go modules that tests build (`go test`, and `go run` of the examples
// that admin-polyglot.test.ts and the README snippets run). Their
// dependencies are downloaded before the tests, so that a test sees only what
// the program prints, never Go's "go: downloading ..." lines.
const GO_MODULES = ["gen/go", "gen/test/go", "examples/go-admin"];

/** The project's Python interpreter, inside .venv. */
export const python = join(root, ".venv/bin/python");

function say(message) {
  console.log(`toolchain: ${message}`);
}

// A missing command (ENOENT) becomes an error naming the prerequisite.
function missing(cmd, error) {
  if (error?.code !== "ENOENT") return error;
  return new Error(`\`${cmd}\` is not on the PATH: install the README's prerequisites (Go, Python 3 with venv, the Debian packages of scripts/debian-packages.txt)`);
}

export function run(cmd, args, opts = {}) {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  } catch (error) {
    throw missing(cmd, error);
  }
}

function output(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });
  } catch (error) {
    throw missing(cmd, error);
  }
}

function goInstall(what, programs) {
  const bin = join(root, ".cache/bin");
  const installed = [];
  for (const [name, pkg] of Object.entries(programs)) {
    const path = join(bin, name);
    const want = pkg.split("@")[1];
    if (existsSync(path) && output("go", ["version", "-m", path]).includes(want)) continue;
    say(`installing ${pkg} into .cache/bin`);
    run("go", ["install", pkg], { env: { ...process.env, GOBIN: bin } });
    installed.push(name);
  }
  say(`${what} in .cache/bin: ${installed.length === 0 ? "already at their pinned versions" : `installed ${installed.join(", ")}`}`);
}

export function ensureGoPlugins() {
  goInstall("Go protoc plugins", GO_PLUGINS);
}

export function ensureGoTools() {
  goInstall("Go test tools", GO_TOOLS);
}

// pip prints project names as their metadata spells them; compare them the
// way PEP 503 normalises names.
const normalise = (req) => req.trim().toLowerCase().replace(/[-_.]+/g, "-");

export function ensurePython() {
  if (!existsSync(python)) {
    say("creating .venv (python3 -m venv)");
    run("python3", ["-m", "venv", ".venv"]);
  }
  const frozen = new Set(output(python, ["-m", "pip", "freeze", "--disable-pip-version-check"]).split("\n").map(normalise));
  const wanted = readFileSync(join(root, "scripts/requirements.txt"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"));
  const absent = wanted.filter((req) => !frozen.has(normalise(req)));
  if (absent.length === 0) {
    say(`.venv: already has ${wanted.join(", ")}`);
    return;
  }
  say(`.venv: installing ${absent.join(", ")} (scripts/requirements.txt)`);
  run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "scripts/requirements.txt"]);
}

export function ensureGoModules() {
  for (const dir of GO_MODULES) run("go", ["mod", "download"], { cwd: join(root, dir) });
  say(`Go modules of ${GO_MODULES.join(", ")}: in the module cache (${output("go", ["env", "GOMODCACHE"]).trim()})`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  ensureGoPlugins();
  ensureGoTools();
  ensurePython();
  ensureGoModules();
}
