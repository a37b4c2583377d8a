import { spawn, type ChildProcess } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  AdapterRequestSchema, AdapterResponseSchema, Capability,
  type AdapterRequest, type AdapterResponse, type ClientError, type ConsumeResult, type ListOffsetsResult, type MetadataResult, type ProduceResult,
} from "@polywire/proto/conformance/adapter";
import { codeName } from "../wire/messages.js";
import { delimit, DelimitedReader } from "./framing.js";

type Instruction = MessageInitShape<typeof AdapterRequestSchema>["instruction"];
type Result = AdapterResponse["result"];

/** An instruction the adapter answered with a ClientError. */
export class AdapterError extends Error {
  override readonly name = "AdapterError";
  constructor(readonly error: ClientError) {
    super(`${error.codeName || codeName(error.code)} (${error.code}): ${error.message}`);
  }
}

const PACKAGE_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * The runner's side of the client adapter protocol
 * (`proto/polywire/conformance/v1/adapter.proto`): starts the adapter, sends instructions
 * as size-delimited AdapterRequests on its stdin and matches the
 * AdapterResponses on its stdout by id.
 */
export class AdapterClient {
  #child: ChildProcess;
  #reader = new DelimitedReader();
  #pending = new Map<bigint, { resolve(result: Result): void; reject(error: Error): void }>();
  #nextId = 1n;
  #stderr = "";
  #exited: Promise<number | null>;
  #failure: Error | undefined;
  name = "";
  capabilities = new Set<Capability>();

  private constructor(command: readonly string[]) {
    const [file, ...args] = command;
    if (file === undefined) throw new TypeError("the adapter command is empty");
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], cwd: PACKAGE_DIR });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdout?.on("data", (chunk: Buffer) => {
      let messages: Uint8Array[];
      try {
        messages = this.#reader.push(chunk);
      } catch (error) {
        this.#fail(error as Error);
        return;
      }
      for (const bytes of messages) this.#onMessage(bytes);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-8000);
    });
    child.stdin?.on("error", () => undefined);
    child.once("exit", (code, signal) => this.#fail(new Error(`the adapter exited (${signal ?? `code ${code}`}): ${this.#stderr.trim()}`)));
    child.once("error", (error) => this.#fail(error));
  }

  /** Starts `command` (argv) and asks it to describe itself. */
  static async start(command: readonly string[]): Promise<AdapterClient> {
    const adapter = new AdapterClient(command);
    try {
      const result = await adapter.request({ case: "describe", value: {} }, 30_000);
      if (result.case !== "describe") throw new Error(`the adapter answered Describe with ${result.case ?? "nothing"}`);
      adapter.name = `${result.value.name} ${result.value.version}`.trim();
      adapter.capabilities = new Set(result.value.capabilities);
    } catch (error) {
      adapter.#child.kill("SIGKILL");
      throw error;
    }
    return adapter;
  }

  /** The tail of the adapter's stderr, for reports. */
  get stderr(): string {
    return this.#stderr;
  }

  /** True when the adapter declared `capability`. */
  can(capability: Capability): boolean {
    return this.capabilities.has(capability);
  }

  /** Sends one instruction and resolves with its result; a ClientError result rejects with {@link AdapterError}. */
  request(instruction: Instruction, timeoutMs = 60_000): Promise<Exclude<Result, { case: "error" }>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const request: AdapterRequest = create(AdapterRequestSchema, { id, instruction });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the adapter did not answer ${instruction?.case ?? "?"} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          if (result.case === "error") reject(new AdapterError(result.value));
          else resolve(result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#child.stdin?.write(delimit(toBinary(AdapterRequestSchema, request)));
    });
  }

  /** Connects a client handle; resolves with the broker id it reached. */
  async connect(client: string, urls: readonly string[], options: { maxFrameSize?: number; requestTimeoutMs?: number } = {}): Promise<string> {
    const result = await this.request({ case: "connect", value: { client, urls: [...urls], maxFrameSize: options.maxFrameSize ?? 0, requestTimeoutMs: options.requestTimeoutMs ?? 0 } });
    if (result.case !== "connect") throw new Error(`connect answered with ${result.case}`);
    return result.value.brokerId;
  }

  async produce(value: Extract<Instruction, { case: "produce" }>["value"], timeoutMs?: number): Promise<ProduceResult> {
    const result = await this.request({ case: "produce", value }, timeoutMs);
    if (result.case !== "produce") throw new Error(`produce answered with ${result.case}`);
    return result.value;
  }

  async consume(value: Extract<Instruction, { case: "consume" }>["value"], timeoutMs?: number): Promise<ConsumeResult> {
    const result = await this.request({ case: "consume", value }, timeoutMs);
    if (result.case !== "consume") throw new Error(`consume answered with ${result.case}`);
    return result.value;
  }

  async listOffsets(value: Extract<Instruction, { case: "listOffsets" }>["value"]): Promise<ListOffsetsResult> {
    const result = await this.request({ case: "listOffsets", value });
    if (result.case !== "listOffsets") throw new Error(`listOffsets answered with ${result.case}`);
    return result.value;
  }

  async metadata(client: string, topics: readonly string[]): Promise<MetadataResult> {
    const result = await this.request({ case: "metadata", value: { client, topics: [...topics] } });
    if (result.case !== "metadata") throw new Error(`metadata answered with ${result.case}`);
    return result.value;
  }

  async disconnect(client: string): Promise<void> {
    await this.request({ case: "disconnect", value: { client } });
  }

  /** Asks the adapter to shut down and waits for it to exit (killing it after 5 s). */
  async close(): Promise<void> {
    if (this.#failure === undefined) {
      await this.request({ case: "shutdown", value: {} }, 10_000).catch(() => undefined);
    }
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  #onMessage(bytes: Uint8Array): void {
    let response: AdapterResponse;
    try {
      response = fromBinary(AdapterResponseSchema, bytes);
    } catch (error) {
      this.#fail(new Error(`the adapter sent a message that is not an AdapterResponse: ${(error as Error).message}`));
      return;
    }
    const pending = this.#pending.get(response.id);
    if (pending === undefined) return;
    this.#pending.delete(response.id);
    pending.resolve(response.result);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }
}
