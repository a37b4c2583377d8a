import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { ErrorSchema, Feature, FrameKind, HelloSchema, VersionRangeSchema, WelcomeSchema, type Welcome } from "@polywire/proto/session";
import { encodeFrame, FrameDecoder, init, type Frame } from "@polywire/wasm-codec";

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `polywire-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export { makeCerts, type TestCerts } from "../../conformance/src/planes/transport/certs.js";

/** Encodes a protobuf message and wraps it in a frame. */
export function frameOf<S extends DescMessage>(kind: number, correlationId: number, schema: S, init: MessageInitShape<S>, payload?: Uint8Array): Uint8Array {
  return encodeFrame({ kind, correlationId, message: toBinary(schema, create(schema, init)), ...(payload === undefined ? {} : { payload }) });
}

/** Hello fields a test may override; `versions: undefined` sends none. */
export interface HelloOverrides {
  versions?: { min: number; max: number } | undefined;
  features?: Feature[];
  clientId?: string;
  authMechanism?: string;
  authInitialResponse?: Uint8Array;
  maxFrameSize?: number;
}

/** A Hello frame asking for version 1 and the log features. */
export function helloFrame(overrides: HelloOverrides = {}): Uint8Array {
  const hello = create(HelloSchema, {
    features: overrides.features ?? [Feature.LOG, Feature.IDEMPOTENCE, Feature.DRAIN_NOTICE],
    clientId: overrides.clientId ?? "raw-test",
    authMechanism: overrides.authMechanism ?? "",
    authInitialResponse: overrides.authInitialResponse ?? new Uint8Array(0),
    maxFrameSize: overrides.maxFrameSize ?? 0,
  });
  const versions = "versions" in overrides ? overrides.versions : { min: 1, max: 1 };
  if (versions !== undefined) hello.versions = create(VersionRangeSchema, versions);
  return encodeFrame({ kind: FrameKind.HELLO, correlationId: 1, message: toBinary(HelloSchema, hello) });
}

/**
 * A hand-driven client over a real socket: writes raw bytes, and decodes
 * what the broker sends with the codec's FrameDecoder.
 */
export class RawClient {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  #decoder = new FrameDecoder();
  #waiters: Array<() => void> = [];
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) this.frames.push(frame);
      this.#wake();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.on("close", () => {
      this.#isClosed = true;
      this.#wake();
      resolve();
    }));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Connects to a `tcp://` or `unix://` URL. */
  static async connect(url: string): Promise<RawClient> {
    await init();
    const u = new URL(url);
    const socket = u.protocol === "unix:" ? connect({ path: u.pathname }) : connect({ host: u.hostname, port: Number(u.port) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.setNoDelay(true);
    return new RawClient(socket);
  }

  /** Connects and completes an anonymous handshake. */
  static async ready(url: string, hello?: HelloOverrides): Promise<{ client: RawClient; welcome: Welcome }> {
    const client = await RawClient.connect(url);
    client.send(helloFrame(hello));
    const frame = await client.next();
    if (frame.kind !== FrameKind.WELCOME) throw new Error(`expected Welcome, got kind ${frame.kind}: ${describeError(frame)}`);
    return { client, welcome: fromBinary(WelcomeSchema, frame.message) };
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next frame, waiting up to `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.#isClosed) throw new Error("connection closed while waiting for a frame");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a frame");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames.shift() as Frame;
  }

  /** The next frame, which must be an Error; returns it decoded with its correlation id. */
  async nextError(timeoutMs?: number): Promise<{ correlationId: number; error: ReturnType<typeof fromBinary<typeof ErrorSchema>> }> {
    const frame = await this.next(timeoutMs);
    if (frame.kind !== FrameKind.ERROR) throw new Error(`expected an Error frame, got kind ${frame.kind}`);
    return { correlationId: frame.correlationId, error: fromBinary(ErrorSchema, frame.message) };
  }

  /** Resolves once the broker closed the connection; rejects after `timeoutMs`. */
  async expectClosed(timeoutMs = 5_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("the broker did not close the connection")), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    this.socket.destroy();
    this.#decoder.free();
  }
}

/** A readable description of an Error frame, for failure messages. */
export function describeError(frame: Frame): string {
  if (frame.kind !== FrameKind.ERROR) return "";
  const e = fromBinary(ErrorSchema, frame.message);
  return `${e.code} ${e.message}`;
}

/** Builds a raw frame header by hand, for malformed-frame tests (spec §2 layout). */
export function rawFrame(fields: { length?: number; headerSize?: number; flags?: number; kind: number; correlationId: number; message?: Uint8Array; messageLength?: number; payload?: Uint8Array; extension?: Uint8Array; trailer?: Uint8Array }): Uint8Array {
  const message = fields.message ?? new Uint8Array(0);
  const payload = fields.payload ?? new Uint8Array(0);
  const extension = fields.extension ?? new Uint8Array(0);
  const trailer = fields.trailer ?? new Uint8Array(0);
  const headerSize = fields.headerSize ?? 16 + extension.byteLength;
  const body = headerSize - 4 + message.byteLength + payload.byteLength + trailer.byteLength;
  const bytes = new Uint8Array(16 + extension.byteLength + message.byteLength + payload.byteLength + trailer.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, fields.length ?? body);
  view.setUint8(4, headerSize);
  view.setUint8(5, fields.flags ?? 0);
  view.setUint16(6, fields.kind);
  view.setUint32(8, fields.correlationId);
  view.setUint32(12, fields.messageLength ?? message.byteLength);
  bytes.set(extension, 16);
  bytes.set(message, 16 + extension.byteLength);
  bytes.set(payload, 16 + extension.byteLength + message.byteLength);
  bytes.set(trailer, 16 + extension.byteLength + message.byteLength + payload.byteLength);
  return bytes;
}

/** A `polywire broker` child process started through the real CLI launcher. */
export interface BrokerProcess {
  readonly child: import("node:child_process").ChildProcess;
  /** The listener URLs it printed. */
  readonly urls: string[];
  /** Everything it printed on stdout so far. */
  readonly output: () => string;
  /** Resolves with the exit code (or the signal name) when it ends. */
  readonly exited: Promise<number | string>;
}

const CLI = new URL("../../cli/bin/polywire.js", import.meta.url);

/** Starts `polywire broker <args>` and resolves once it printed its URLs. */
export async function spawnBroker(args: readonly string[]): Promise<BrokerProcess> {
  const { spawn } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const child = spawn(process.execPath, [fileURLToPath(CLI), "broker", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const urls = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker did not start in time:\n${out}\n${err}`));
    }, 30_000);
    const check = (): void => {
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        child.stdout.removeListener("data", check);
        resolve([...out.matchAll(/^ {2}listen (\S+)$/gm)].map((m) => m[1] as string));
      }
    };
    child.stdout.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before it was ready:\n${out}\n${err}`));
    });
  });
  return { child, urls, output: () => out, exited };
}
