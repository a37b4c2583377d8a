import { spawn } from "node:child_process";
import { Unsupported, type AdminCredentials, type CrashableBroker, type Target, type TargetCapabilities, type VariantBroker } from "../runner/target.js";
import { createAdminClient, type AdminClient } from "../wire/admin-client.js";
import type { DialTls } from "../wire/dial.js";
import { Monitor } from "../wire/monitor.js";
import { WireSession } from "../wire/session.js";

/** Options of {@link ExternalTarget}. */
export interface ExternalTargetOptions {
  /** The data-plane URL (`tcp://`, `tls://`, `unix://`, `ws://`, `wss://`). */
  readonly url: string;
  /** The admin listener (§11), for creating topics. Without it, cases that need topics are skipped. */
  readonly adminUrl?: string;
  /** A shell command that restarts the broker on the same data (a SIGKILL in it makes restarts crashes). */
  readonly restartCmd?: string;
  /** The broker runs with no configuration (PW-LIM-005 applies). */
  readonly defaultConfig?: boolean;
  /** A bearer token that may call every admin RPC, when the admin listener requires one (PW-ADMIN-046). */
  readonly adminToken?: string;
  /** A bearer token that may call only read-only admin RPCs, to check `permission_denied` (PW-ADMIN-003). */
  readonly adminViewerToken?: string;
  readonly tls?: DialTls;
}

/** Runs `command` in a shell; rejects with its output when it fails. */
function runShell(command: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`restart command failed (${signal ?? `exit ${code}`}): ${output}`));
    });
  });
}

/** A broker the runner did not start, reached by URL. */
export class ExternalTarget implements Target {
  readonly capabilities: TargetCapabilities;
  readonly admin: AdminClient | undefined;
  readonly adminUrl: string | undefined;
  readonly adminToken: string | undefined;
  readonly url: string;
  readonly tls: DialTls | undefined;
  readonly #options: ExternalTargetOptions;

  constructor(options: ExternalTargetOptions) {
    this.#options = options;
    this.url = options.url;
    this.tls = options.tls;
    this.adminUrl = options.adminUrl?.replace(/\/+$/, "");
    this.adminToken = options.adminToken;
    this.admin = this.adminUrl === undefined ? undefined : createAdminClient(this.adminUrl, options.adminToken === undefined ? {} : { token: options.adminToken });
    this.capabilities = { restart: options.restartCmd !== undefined, crash: false, variants: false, defaultConfig: options.defaultConfig === true };
  }

  get name(): string {
    return this.url;
  }

  async createTopic(name: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
    if (this.admin === undefined) throw new Unsupported("creating topics needs the admin URL (--admin)");
    await this.admin.createTopic(name, { partitions, config });
  }

  async restart(): Promise<void> {
    const command = this.#options.restartCmd;
    if (command === undefined) throw new Unsupported("restarting an external broker needs --restart-cmd");
    await runShell(command, 120_000);
    const deadline = performance.now() + 60_000;
    for (;;) {
      try {
        const session = await WireSession.open(this.url, { monitor: new Monitor(), timeoutMs: 2000, ...(this.tls === undefined ? {} : { tls: this.tls }) });
        session.destroy();
        return;
      } catch (error) {
        if (performance.now() > deadline) throw new Error(`the broker did not come back within 60 s of the restart command: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  crashable(): Promise<CrashableBroker> {
    return Promise.reject(new Unsupported("killing the broker process needs the embedded target"));
  }

  variant(): Promise<VariantBroker> {
    return Promise.reject(new Unsupported("starting a differently configured broker needs the embedded target"));
  }

  authenticatedAdmin(): Promise<AdminCredentials> {
    const { adminToken, adminViewerToken } = this.#options;
    if (this.adminUrl === undefined || adminToken === undefined) {
      return Promise.reject(new Unsupported("checking admin authentication needs --admin and the broker's admin token (--admin-token)"));
    }
    return Promise.resolve({ url: this.adminUrl, adminToken, viewerToken: adminViewerToken, close: () => Promise.resolve() });
  }

  async close(): Promise<void> {
    await this.admin?.close();
  }
}
