// The servers of the log-plane benchmark, each a child process on 127.0.0.1
// started here and stopped at the end: the Polywire broker through the real
// CLI, nats-server -js, redis-server, and a raw Node TCP echo/sink.
import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
// The CLI's entry point in TypeScript, run the way packages/cli/bin/polywire.js
// runs a checkout: that launcher prefers a built dist/, which may be stale
// against the sources this benchmark measures.
const cliSource = ["--conditions=@polywire/source", "--import", "tsx", join(root, "packages/cli/src/bin.ts")];

/** A directory under the system temp dir, removed by `cleanup()`. */
export async function scratch(prefix) {
  return mkdtemp(join(tmpdir(), `polywire-bench-${prefix}-`));
}

/** A port free right now on 127.0.0.1, for servers that cannot pick their own (nats-server, redis-server). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The first of `candidates` that exists, else the bare name (found on PATH). */
export function binary(name, candidates) {
  return candidates.find((path) => existsSync(path)) ?? name;
}

/** `binary --version` output, first line. */
export function versionOf(command, args = ["--version"]) {
  return execFileSync(command, args, { encoding: "utf8" }).split("\n")[0].trim();
}

/**
 * Spawns a server and resolves once its output (stdout and stderr) matches
 * `ready`, with the process and everything it printed. Rejects if it exits
 * or stays silent for `timeoutMs`. (Also used by bench/peers/.)
 */
export function start(name, command, args, { ready, timeoutMs = 30_000, cwd = root }) {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} was not ready after ${timeoutMs} ms; it printed:\n${output}`));
    }, timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      if (ready.test(output)) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        child.stderr.off("data", onData);
        // Keep draining its pipes so a chatty server never blocks on a full pipe.
        child.stdout.resume();
        child.stderr.resume();
        resolve({ child, output, exited, stop: () => stop(child, exited) });
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready; it printed:\n${output}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** SIGTERM, then SIGKILL if the process is still there after 10 s. */
async function stop(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const result = await exited;
  clearTimeout(timer);
  return result;
}

/**
 * A Polywire broker through the CLI (`polywire broker`, from source) with a TCP and a
 * Unix listener and the admin HTTP port. `storage` is "memory" or
 * { dir, fsync }. `nodeArgs` go to the broker's node (e.g. --cpu-prof).
 */
export async function startPolywire({ storage, socketDir, nodeArgs = [] }) {
  const storageArgs = storage === "memory" ? ["--memory"] : ["--data-dir", storage.dir, "--fsync", storage.fsync];
  const server = await start("polywire broker", process.execPath, [
    ...nodeArgs,
    ...cliSource,
    "broker",
    ...storageArgs,
    "--listen", "tcp://127.0.0.1:0",
    "--listen", `unix://${join(socketDir, "broker.sock")}`,
    "--http-port", "0",
    "--drain-ms", "1000",
  ], { ready: /^ready$/m, timeoutMs: 60_000 });
  const tcp = /listen (tcp:\/\/\S+)/.exec(server.output)?.[1];
  const unix = /listen (unix:\/\/\S+)/.exec(server.output)?.[1];
  const http = /http +(http:\/\/\S+)/.exec(server.output)?.[1];
  if (tcp === undefined || unix === undefined || http === undefined) throw new Error(`cannot read the broker's URLs from:\n${server.output}`);
  return { ...server, tcp, unix, http };
}

/**
 * A Polywire broker run from the sources at `entry` (a
 * packages/broker/src/index.ts, possibly a copy of another revision's) in
 * its own process: memory storage, TCP and admin HTTP. `nodeArgs` go to its node.
 */
export async function startBrokerAt({ entry, nodeArgs = [] }) {
  const server = await start(`polywire broker at ${entry}`, process.execPath, [
    ...nodeArgs,
    "--conditions=@polywire/source", "--import", "tsx", join(root, "bench/log/broker-at.mjs"), entry,
  ], { ready: /^ready$/m, timeoutMs: 60_000 });
  const tcp = /^listen (\S+)/m.exec(server.output)?.[1];
  const http = /^http (\S+)/m.exec(server.output)?.[1];
  if (tcp === undefined || http === undefined) throw new Error(`cannot read the broker's URLs from:\n${server.output}`);
  return { ...server, tcp, http };
}

/** nats-server with JetStream, its store in `storeDir`. */
export async function startNats({ storeDir }) {
  const command = binary("nats-server", ["/usr/sbin/nats-server", "/usr/bin/nats-server"]);
  const port = await freePort();
  const server = await start("nats-server", command, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], { ready: /Server is ready/ });
  return { ...server, url: `nats://127.0.0.1:${port}`, version: versionOf(command).replace(/^nats-server: */, "") };
}

/** redis-server without persistence (no RDB snapshots, no AOF), working dir `dir`. */
export async function startRedis({ dir }) {
  const command = binary("redis-server", ["/usr/bin/redis-server", "/usr/sbin/redis-server"]);
  const port = await freePort();
  const server = await start("redis-server", command, [
    "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir,
  ], { ready: /Ready to accept connections/ });
  const version = versionOf(command);
  return { ...server, port, version: /v=(\S+)/.exec(version)?.[1] ?? version };
}

/** The raw TCP echo and sink servers (tcp-peer.mjs) in their own Node process. */
export async function startTcpPeer() {
  const server = await start("tcp peer", process.execPath, [fileURLToPath(new URL("./tcp-peer.mjs", import.meta.url))], { ready: /^echo \d+ sink \d+$/m });
  const [, echo, sink] = /^echo (\d+) sink (\d+)$/m.exec(server.output);
  return { ...server, echoPort: Number(echo), sinkPort: Number(sink) };
}

/** Removes a scratch directory. */
export async function cleanup(dir) {
  await rm(dir, { recursive: true, force: true });
}
