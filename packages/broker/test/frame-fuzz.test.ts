import { connect as netConnect, type Socket } from "node:net";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { FetchRequestSchema, InitProducerRequestSchema, ListOffsetsRequestSchema, MetadataRequestSchema, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, ErrorSchema, FrameKind, PingSchema } from "@polywire/proto/session";
import { connect, Record as Records } from "@polywire/runtime";
import { encodeBatch, init, type Compression } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FrameSplitter, type WireFrame } from "../../conformance/src/wire/frame.js";
import { RETRIABLE_CODES } from "../../conformance/src/wire/messages.js";
import { helloFrame, spawnBroker, type BrokerProcess } from "./helpers.js";

// A short seeded fuzz of frames against a running broker process, in CI
// next to cargo-fuzz of the codec: valid requests of every log-plane kind,
// most of them mutated (bits flipped in header, message or batch, fields
// and lengths changed, unknown kinds), sent over a few connections. Every
// frame is sent complete as its own length field declares it, so a
// connection never waits for bytes that will not come: each group of
// frames is followed by a Ping, which must be answered or the connection
// closed within 10 s. Replay a failure with POLYWIRE_FUZZ_SEED.
const SEED = Number(process.env.POLYWIRE_FUZZ_SEED ?? 20_260_412);
const FRAMES = 20_000;
const CONNECTIONS = 8;
const GROUP = 5;
const COMPRESSIONS: Compression[] = ["none", "gzip", "snappy", "lz4", "zstd"];

// mulberry32: small, fast, and the same sequence everywhere for a seed.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function message<S extends DescMessage>(schema: S, init: MessageInitShape<S>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** Generates frames from one seed. */
class Fuzzer {
  readonly #random: () => number;
  constructor(seed: number) {
    this.#random = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  #flip(bytes: Uint8Array): Uint8Array {
    const out = bytes.slice();
    if (out.length === 0) return out;
    for (let i = 1 + this.int(8); i > 0; i--) out[this.int(out.length)]! ^= 1 << this.int(8);
    return out;
  }

  // A valid request: kind, message and payload.
  #request(): { kind: number; message: Uint8Array; payload: Uint8Array } {
    const partition = this.int(3);
    switch (this.int(6)) {
      case 0:
        return { kind: FrameKind.PING, message: message(PingSchema, { nonce: BigInt(this.int(1e9)) }), payload: new Uint8Array(0) };
      case 1:
        return { kind: FrameKind.METADATA_REQUEST, message: message(MetadataRequestSchema, { topics: this.chance(0.5) ? ["fuzz"] : [] }), payload: new Uint8Array(0) };
      case 2: {
        const records = Array.from({ length: 1 + this.int(5) }, () => ({ key: this.chance(0.3) ? null : this.bytes(this.int(20)), value: this.bytes(this.int(300)), headers: this.chance(0.3) ? [{ key: "h", value: this.bytes(3) }] : [] }));
        const payload = encodeBatch(records, { compression: COMPRESSIONS[this.int(5)], minCompressSize: 0 });
        return { kind: FrameKind.PRODUCE_REQUEST, message: message(ProduceRequestSchema, { topic: "fuzz", partition, acks: this.int(3), timeoutMs: this.int(200) }), payload };
      }
      case 3:
        return { kind: FrameKind.FETCH_REQUEST, message: message(FetchRequestSchema, { partitions: [{ topic: "fuzz", partition, offset: BigInt(this.int(50) - 5) }], maxWaitMs: this.int(30), maxBytes: this.int(1 << 16) }), payload: new Uint8Array(0) };
      case 4:
        return { kind: FrameKind.LIST_OFFSETS_REQUEST, message: message(ListOffsetsRequestSchema, { partitions: [{ topic: "fuzz", partition, spec: this.int(4), timestampMs: BigInt(this.int(1e6)) }] }), payload: new Uint8Array(0) };
      default:
        return { kind: FrameKind.INIT_PRODUCER_REQUEST, message: message(InitProducerRequestSchema, { producerId: BigInt(this.int(5) - 1) }), payload: new Uint8Array(0) };
    }
  }

  /** One frame, complete as its own length field says; most of them mutated. */
  frame(correlationId: number): Uint8Array {
    let { kind, message: msg, payload } = this.#request();
    let id = correlationId;
    let headerSize = 16;
    let flags = 0;
    let messageLength: number | undefined;
    const roll = this.#random();
    if (roll < 0.6) {
      // Mutations a receiver stays in sync after (PW-FRAME-014): message, batch, kind, correlation id.
      switch (this.int(6)) {
        case 0: msg = this.#flip(msg); break;
        case 1: payload = this.#flip(payload); break;
        case 2: msg = msg.subarray(0, this.int(msg.length + 1)); break;
        case 3: kind = this.int(0x10000); break;
        case 4: id = this.int(0x1_0000_0000); break;
        default: msg = this.bytes(this.int(64)); break;
      }
    } else if (roll < 0.66) {
      // Header mutations that break framing (PW-FRAME-002..005, PW-FRAME-013): the connection must close.
      switch (this.int(3)) {
        case 0: headerSize = this.int(40); break;
        case 1: flags = this.int(256); break;
        default: messageLength = this.int(msg.length + payload.length + 8); break;
      }
    }
    const checksum = (flags & 1) !== 0;
    const extension = Math.max(0, headerSize - 16);
    const total = 16 + extension + msg.length + payload.length + (checksum ? 4 : 0);
    let frame = new Uint8Array(total);
    const view = new DataView(frame.buffer);
    view.setUint32(0, total - 4);
    view.setUint8(4, headerSize);
    view.setUint8(5, flags);
    view.setUint16(6, kind);
    view.setUint32(8, id);
    view.setUint32(12, messageLength ?? msg.length);
    frame.set(msg, 16 + extension);
    frame.set(payload, 16 + extension + msg.length);
    if (checksum) frame.set(this.bytes(4), total - 4);
    if (this.chance(0.01)) {
      // Another length, and exactly that many bytes after it (cut or padded): the stream stays framed.
      const length = this.int(total + 64);
      const resized = new Uint8Array(4 + length);
      resized.set(frame.subarray(0, Math.min(frame.length, resized.length)));
      new DataView(resized.buffer).setUint32(0, length);
      frame = resized;
    }
    return frame;
  }
}

// Codes of the Error frames the broker sent, over every connection.
const codesSeen = new Set<string>();

/** One fuzzing connection: frames out, the broker's frames in, checked. */
class Line {
  readonly frames: WireFrame[] = [];
  readonly problems: string[] = [];
  #closed = false;
  #wake: (() => void) | undefined;
  private constructor(readonly socket: Socket) {
    const splitter = new FrameSplitter(16 * 1024 * 1024);
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const frame of splitter.push(chunk)) this.#check(frame);
      } catch (error) {
        this.problems.push(`the broker sent bytes that are not frames: ${(error as Error).message}`);
      }
      this.#wake?.();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  static async open(url: string): Promise<Line> {
    const { hostname, port } = new URL(url);
    const socket = netConnect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const line = new Line(socket);
    socket.write(helloFrame({ clientId: "fuzz" }));
    return line;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #check(frame: WireFrame): void {
    this.frames.push(frame);
    if (frame.kind !== FrameKind.ERROR) return;
    const error = fromBinary(ErrorSchema, frame.message);
    codesSeen.add(ErrorCode[error.code] ?? String(error.code));
    if (ErrorCode[error.code] === undefined || error.code === ErrorCode.UNSPECIFIED) this.problems.push(`Error frame with code ${error.code}, not in the table of §12`);
    if (error.retriable !== RETRIABLE_CODES.has(error.code)) this.problems.push(`Error ${ErrorCode[error.code]} with retriable ${error.retriable} (PW-ERR-002)`);
  }

  /** Sends frames then a Ping; resolves once it is answered or the connection closed. */
  async round(frames: Uint8Array[], pingId: number): Promise<"answered" | "closed"> {
    for (const f of frames) this.socket.write(f);
    this.socket.write(toBinaryFrame(pingId));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.frames.some((f) => f.kind === FrameKind.PONG && f.correlationId === pingId)) return "answered";
      if (this.#closed) return "closed";
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no Pong to ${pingId} and no close within 10 s (seed ${SEED})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

function toBinaryFrame(id: number): Uint8Array {
  const msg = message(PingSchema, { nonce: BigInt(id) });
  const frame = new Uint8Array(16 + msg.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, frame.length - 4);
  view.setUint8(4, 16);
  view.setUint16(6, FrameKind.PING);
  view.setUint32(8, id);
  view.setUint32(12, msg.length);
  frame.set(msg, 16);
  return frame;
}

describe("frame fuzz against a broker process", () => {
  let broker: BrokerProcess;
  let url: string;
  let http: string;

  beforeAll(async () => {
    await init();
    broker = await spawnBroker(["--memory", "--listen", "tcp://127.0.0.1:0", "--http-port", "0", "--topic", "fuzz:3", "--topic", "clean:1"]);
    url = broker.urls[0] as string;
    http = /^ {2}http +(\S+)$/m.exec(broker.output())?.[1] as string;
  }, 60_000);

  afterAll(async () => {
    broker?.child.kill("SIGKILL");
    await broker?.exited;
  });

  it(`PW-FRAME-013/PW-FRAME-014/PW-ERR-001/PW-ERR-002: ${FRAMES} seeded, mostly mutated frames: the broker answers or closes every connection, sends only frames with codes of §12, stays up and serves a clean client after`, { timeout: 180_000 }, async () => {
    const fuzzer = new Fuzzer(SEED);
    const groups: Uint8Array[][] = [];
    let pingId = 0x7000_0001;
    for (let sent = 0; sent < FRAMES; sent += GROUP) groups.push(Array.from({ length: GROUP }, () => fuzzer.frame(2 * fuzzer.int(1 << 20) + 3)));
    const outcomes = { answered: 0, closed: 0, problems: [] as string[] };
    let next = 0;
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      let line = await Line.open(url);
      while (next < groups.length) {
        const group = groups[next++] as Uint8Array[];
        const outcome = await line.round(group, (pingId += 2));
        outcomes[outcome]++;
        if (outcome === "closed") {
          outcomes.problems.push(...line.problems);
          line = await Line.open(url);
        }
      }
      outcomes.problems.push(...line.problems);
      line.socket.destroy();
    }));
    console.log(`seed ${SEED}: ${groups.length} groups of ${GROUP} frames; ${outcomes.answered} connections kept in sync, ${outcomes.closed} closed by the broker; error codes: ${[...codesSeen].sort().join(", ")}`);
    expect(outcomes.problems).toEqual([]);
    // The mutations reached every layer: framing, message decoding, kinds, batches.
    expect([...codesSeen]).toEqual(expect.arrayContaining(["MALFORMED_FRAME", "UNKNOWN_FRAME_KIND", "INVALID_ARGUMENT", "CORRUPT_BATCH"]));
    expect(broker.child.exitCode).toBeNull();
    expect(outcomes.answered + outcomes.closed).toBe(groups.length);
    // Still serving: a clean client produces and reads back, and /readyz says so.
    await using client = await connect(url);
    const producer = client.producer();
    const meta = await producer.send(Records.text("clean", "after the fuzz", { partition: 0 }));
    await producer.close();
    await using consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([{ topic: "clean", partition: 0, from: { offset: meta.offset } }]);
    for await (const record of consumer) {
      expect(record.text()).toBe("after the fuzz");
      break;
    }
    const ready = await fetch(`${http}/readyz`);
    expect(ready.status).toBe(200);
  });
});
