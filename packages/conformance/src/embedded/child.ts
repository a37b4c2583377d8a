import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { CrashableBroker } from "../runner/target.js";
import { createAdminClient, type AdminClient } from "../wire/admin-client.js";
import type { BrokerImplementation } from "./implementation.js";

const HOST = new URL(`./child-host.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url);
// From sources (tests, the CLI without a build) the child runs TypeScript through tsx, resolving workspace packages to their sources.
const NODE_ARGS = HOST.pathname.endsWith(".ts") ? ["--import", "tsx", "--conditions=@polywire/source"] : [];
const PACKAGE_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * A broker of `implementation` in a child process on its own data
 * directory and a fixed port, which the runner can SIGKILL and start again.
 */
export class ChildBroker implements CrashableBroker {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #url = "tcp://127.0.0.1:0";
  #admin: AdminClient | undefined;
  readonly #dir: string;

  private constructor(readonly implementation: BrokerImplementation) {
    this.#dir = mkdtempSync(join(tmpdir(), "polywire-conformance-child-"));
  }

  static async start(implementation: BrokerImplementation): Promise<ChildBroker> {
    const broker = new ChildBroker(implementation);
    try {
      await broker.start();
    } catch (error) {
      await broker.close();
      throw error;
    }
    return broker;
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error("the child broker is already running");
    const child = spawn(process.execPath, [...NODE_ARGS, fileURLToPath(HOST), this.implementation.module, this.implementation.exportName, this.#dir, this.#url], {
      cwd: PACKAGE_DIR,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const ready = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child broker did not start within 30 s: ${stderr}`)), 30_000);
      lines.on("line", (line) => {
        if (line.startsWith("ready ")) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the child broker exited (${signal ?? code}) before it was ready: ${stderr}`));
      });
    });
    const [, url, adminUrl] = ready.split(" ");
    this.#url = url as string;
    await this.#admin?.close();
    this.#admin = createAdminClient(adminUrl as string);
  }

  async createTopic(name: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
    if (this.#admin === undefined) throw new Error("the child broker is not running");
    await this.#admin.createTopic(name, { partitions, config });
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill("SIGKILL");
    await this.#exited;
    this.#child = undefined;
  }

  async close(): Promise<void> {
    const child = this.#child;
    if (child !== undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await this.#exited;
      clearTimeout(timer);
      this.#child = undefined;
    }
    await this.#admin?.close();
    this.#admin = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
