import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrokerOptions } from "@polywire/broker";
import type { AdminCredentials, CrashableBroker, ListenerScheme, Target, TargetCapabilities, VariantBroker, VariantOptions } from "../runner/target.js";
import { createAdminClient, type AdminClient } from "../wire/admin-client.js";
import { ChildBroker } from "./child.js";
import { referenceBroker, type BrokerImplementation, type RunningBroker } from "./implementation.js";
import { delegateLog, interceptPartitions } from "./intercept.js";
import { dialInProcess } from "./memory-stream.js";

/** Drain deadline of embedded brokers: short, so restarts and variant shutdowns stay quick. */
const DRAIN_MS = 300;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "polywire-conformance-"));
}

/** A listener URL of `scheme` on a free port, or in `dir` for a Unix socket. */
function listenerUrl(scheme: ListenerScheme, dir: string): string {
  switch (scheme) {
    case "unix":
      return `unix://${join(dir, "broker.sock")}`;
    case "ws":
    case "wss":
      return `${scheme}://127.0.0.1:0/polywire`;
    case "memory":
    case "worker":
      return `${scheme}://conformance-${process.pid}-${randomUUID()}`;
    default:
      return `${scheme}://127.0.0.1:0`;
  }
}

/**
 * A broker started in this process: the reference broker by default, or a
 * mutant. It runs on disk storage in a temporary directory with every limit
 * at its default, so every capability is available: restart on the same
 * directory, a child-process copy to SIGKILL, and configured variants.
 */
export class EmbeddedTarget implements Target {
  readonly capabilities: TargetCapabilities = { restart: true, crash: true, variants: true, defaultConfig: true };
  readonly tls = undefined;
  readonly inProcess = dialInProcess;
  readonly adminToken = undefined;
  readonly #implementation: BrokerImplementation;
  readonly #dir = tempDir();
  #broker: RunningBroker | undefined;
  #url = "tcp://127.0.0.1:0";
  #httpPort = 0;
  #admin: AdminClient | undefined;

  private constructor(implementation: BrokerImplementation) {
    this.#implementation = implementation;
  }

  /** Starts `implementation` (default the reference broker). */
  static async start(implementation: BrokerImplementation = referenceBroker): Promise<EmbeddedTarget> {
    const target = new EmbeddedTarget(implementation);
    try {
      await target.#start();
    } catch (error) {
      await target.close();
      throw error;
    }
    return target;
  }

  get name(): string {
    return `embedded ${this.#implementation.name}`;
  }

  get url(): string {
    return this.#url;
  }

  get admin(): AdminClient | undefined {
    return this.#admin;
  }

  get adminUrl(): string | undefined {
    return this.#broker?.httpUrl;
  }

  async #start(): Promise<void> {
    const broker = await this.#implementation.start({
      listeners: [this.#url],
      storage: { engine: "disk", dir: this.#dir },
      http: { port: this.#httpPort },
      drainDeadlineMs: DRAIN_MS,
    });
    this.#broker = broker;
    this.#url = broker.urls[0] as string;
    const httpUrl = broker.httpUrl as string;
    this.#httpPort = Number(new URL(httpUrl).port);
    this.#admin ??= createAdminClient(httpUrl);
  }

  async createTopic(name: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
    await (this.#admin as AdminClient).createTopic(name, { partitions, config });
  }

  async restart(): Promise<void> {
    await this.#broker?.close();
    this.#broker = undefined;
    await this.#start();
  }

  crashable(): Promise<CrashableBroker> {
    return ChildBroker.start(this.#implementation);
  }

  async variant(options: VariantOptions): Promise<VariantBroker> {
    // Holds the data (disk storage) and the Unix socket of the variant.
    const dir = tempDir();
    const schemes = options.listeners ?? ["tcp"];
    const retention = {
      ...(options.retentionCheckIntervalMs === undefined ? {} : { retentionCheckIntervalMs: options.retentionCheckIntervalMs }),
      ...(options.producerIdExpirationMs === undefined ? {} : { producerIdExpirationMs: options.producerIdExpirationMs }),
    };
    const brokerOptions: BrokerOptions = {
      listeners: schemes.map((scheme) => listenerUrl(scheme, dir)),
      storage: options.memory === true ? { engine: "memory", ...retention } : { engine: "disk", dir, ...retention },
      ...(options.tls === undefined ? {} : { tls: { ...options.tls } }),
      http: { port: 0, ...options.http },
      drainDeadlineMs: options.drainDeadlineMs ?? DRAIN_MS,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
      ...(options.token === undefined ? {} : { auth: { token: (t: string) => (t === options.token ? "conformance" : null) } }),
      ...(options.checksumFrames === undefined ? {} : { checksumFrames: options.checksumFrames }),
      ...(options.groups === undefined ? {} : { groups: { ...options.groups } }),
      ...(options.adminTokens === undefined
        ? {}
        : {
          adminAuth: {
            tokens: [
              { token: options.adminTokens.admin, principal: "conformance-admin", role: "admin" },
              { token: options.adminTokens.viewer, principal: "conformance-viewer", role: "viewer" },
            ],
          },
        }),
    };
    const broker = await this.#implementation.start(brokerOptions);
    const slow = options.slowSyncMs;
    if (slow !== undefined) {
      // A disk that takes `slow` ms to make an ACKS_ALL append durable.
      interceptPartitions(broker.storage, (log) => delegateLog(log, {
        append: async (batch, header, appendOptions) => {
          const result = await log.append(batch, header, appendOptions);
          if (appendOptions?.durability === "synced") await new Promise((resolve) => setTimeout(resolve, slow));
          return result;
        },
      }));
    }
    const adminUrl = broker.httpUrl as string;
    const admin = createAdminClient(adminUrl, options.adminTokens === undefined ? {} : { token: options.adminTokens.admin });
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= (async () => {
        await broker.close();
        await admin.close();
        rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    };
    const urls: Partial<Record<ListenerScheme, string>> = {};
    schemes.forEach((scheme, i) => {
      urls[scheme] = broker.urls[i] as string;
    });
    return {
      url: broker.urls[0] as string,
      urls,
      admin,
      adminUrl,
      createTopic: async (name, partitions, config = {}) => {
        await admin.createTopic(name, { partitions, config });
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  }

  async authenticatedAdmin(): Promise<AdminCredentials> {
    const adminTokens = { admin: `admin-${randomBytes(18).toString("base64url")}`, viewer: `viewer-${randomBytes(18).toString("base64url")}` };
    const variant = await this.variant({ memory: true, adminTokens });
    return { url: variant.adminUrl, adminToken: adminTokens.admin, viewerToken: adminTokens.viewer, close: () => variant.close() };
  }

  async close(): Promise<void> {
    await this.#broker?.close();
    this.#broker = undefined;
    await this.#admin?.close();
    this.#admin = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
