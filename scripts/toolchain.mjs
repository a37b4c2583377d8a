#!/usr/bin/env node
// Installs the pinned tools that generation and the tests need, into
// git-ignored folders: the Go protoc plugins and Go test tools into .cache/bin
// and the Python packages of scripts/requirements.txt into .venv. Idempotent:
// a tool already at its pinned version is left alone. Run directly to install
// all of them.
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

/** The project's Python interpreter, inside .venv. */
export const python = join(root, ".venv/bin/python");

export function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
}

function output(cmd, args) {
  return execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function goInstall(programs) {
  const bin = join(root, ".cache/bin");
  for (const [name, pkg] of Object.entries(programs)) {
    const path = join(bin, name);
    const want = pkg.split("@")[1];
    if (existsSync(path) && output("go", ["version", "-m", path]).includes(want)) continue;
    run("go", ["install", pkg], { env: { ...process.env, GOBIN: bin } });
  }
}

export function ensureGoPlugins() {
  goInstall(GO_PLUGINS);
}

export function ensureGoTools() {
  goInstall(GO_TOOLS);
}

export function ensurePython() {
  if (!existsSync(python)) run("python3", ["-m", "venv", ".venv"]);
  const frozen = output(python, ["-m", "pip", "freeze"]);
  const wanted = readFileSync(join(root, "scripts/requirements.txt"), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#"));
  if (wanted.every((req) => frozen.toLowerCase().includes(req.toLowerCase()))) return;
  run(python, ["-m", "pip", "install", "--quiet", "-r", "scripts/requirements.txt"]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  ensureGoPlugins();
  ensureGoTools();
  ensurePython();
}
