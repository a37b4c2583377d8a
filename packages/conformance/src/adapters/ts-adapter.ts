/**
 * The client adapter for the reference TypeScript client (@polywire/runtime):
 * reads size-delimited AdapterRequests on stdin, drives the library the way
 * an application would, and writes AdapterResponses on stdout
 * (proto/polywire/conformance/v1/adapter.proto). Adapters for clients in other languages
 * follow the same pattern.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { connect, PolywireError, type Client, type ProducerRecord } from "@polywire/runtime";
import { init as initCodec } from "@polywire/wasm-codec";
import { delimit, DelimitedReader } from "../client/framing.js";
import {
  Acks, AdapterRequestSchema, AdapterResponseSchema, Capability, ClientErrorSchema, Compression, ConnectResultSchema, ConsumeResultSchema,
  DescribeResultSchema, DisconnectResultSchema, ListOffsetsResultSchema, MetadataResultSchema, ProduceResultSchema, ShutdownResultSchema,
  ConsumedRecordSchema, RecordOutcomeSchema, type AdapterRequest, type AdapterResponse, type ClientError,
} from "@polywire/proto/conformance/adapter";

type Result = AdapterResponse["result"];

const clients = new Map<string, Client>();

function clientError(error: unknown): ClientError {
  const failure = PolywireError.from(error);
  return create(ClientErrorSchema, { code: failure.wireCode, codeName: failure.code, message: failure.message, retriable: failure.retriable });
}

function client(name: string): Client {
  const c = clients.get(name);
  if (c === undefined) throw new PolywireError("INVALID_ARGUMENT", `no client ${JSON.stringify(name)}; connect it first`);
  return c;
}

const ACKS = { [Acks.UNSPECIFIED]: undefined, [Acks.NONE]: "none", [Acks.LEADER]: "leader", [Acks.ALL]: "all" } as const;
const CODECS = { [Compression.UNSPECIFIED]: undefined, [Compression.NONE]: "none", [Compression.GZIP]: "gzip", [Compression.SNAPPY]: "snappy", [Compression.LZ4]: "lz4", [Compression.ZSTD]: "zstd" } as const;

async function handle(request: AdapterRequest): Promise<Result> {
  const instruction = request.instruction;
  switch (instruction.case) {
    case "describe":
      return {
        case: "describe",
        value: create(DescribeResultSchema, {
          name: "@polywire/runtime",
          version: "0.1.0",
          capabilities: [
            Capability.PRODUCE, Capability.CONSUME, Capability.LIST_OFFSETS, Capability.METADATA, Capability.IDEMPOTENCE, Capability.ACKS_NONE,
            Capability.COMPRESSION_GZIP, Capability.COMPRESSION_SNAPPY, Capability.COMPRESSION_LZ4, Capability.COMPRESSION_ZSTD,
          ],
        }),
      };
    case "connect": {
      const i = instruction.value;
      if (clients.has(i.client)) throw new PolywireError("INVALID_ARGUMENT", `client ${JSON.stringify(i.client)} is already connected`);
      const c = await connect(i.urls, {
        clientId: i.clientId || "conformance-ts-adapter",
        ...(i.maxFrameSize === 0 ? {} : { maxFrameSize: i.maxFrameSize }),
        ...(i.requestTimeoutMs === 0 ? {} : { requestTimeoutMs: i.requestTimeoutMs }),
        retry: { maxAttempts: 5, initialDelayMs: 20, maxDelayMs: 200 },
        reconnect: { maxAttempts: 5, initialDelayMs: 20, maxDelayMs: 200 },
        connectTimeoutMs: 10_000,
      });
      clients.set(i.client, c);
      return { case: "connect", value: create(ConnectResultSchema, { brokerId: c.brokerId ?? "" }) };
    }
    case "produce": {
      const i = instruction.value;
      const acks = ACKS[i.acks];
      const compression = CODECS[i.compression];
      const producer = client(i.client).producer({
        ...(acks === undefined ? {} : { acks }),
        idempotent: i.idempotent,
        ...(compression === undefined ? {} : { compression, minCompressSize: 0 }),
        ...(i.timeoutMs === 0 ? {} : { requestTimeoutMs: i.timeoutMs }),
        lingerMs: 0,
      });
      const sends = i.records.map((r) => {
        const record: ProducerRecord = {
          topic: i.topic,
          value: r.value ?? null,
          key: r.key ?? null,
          ...(i.partition === undefined ? {} : { partition: i.partition }),
          headers: r.headers.map((h) => [h.key, h.value ?? null] as const),
          typeId: Number(r.typeId),
          ...(r.timestampMs === undefined ? {} : { timestamp: Number(r.timestampMs) }),
        };
        return producer.send(record);
      });
      const settled = await Promise.allSettled(sends);
      await producer.close();
      const outcomes: Array<MessageInitShape<typeof RecordOutcomeSchema>> = settled.map((s) => (s.status === "fulfilled"
        ? { outcome: { case: "delivered", value: { partition: s.value.partition, offset: s.value.offset } } }
        : { outcome: { case: "error", value: clientError(s.reason) } }));
      return { case: "produce", value: create(ProduceResultSchema, { outcomes }) };
    }
    case "consume": {
      const i = instruction.value;
      const consumer = client(i.client).consumer({ autoOffsetReset: "none", maxWaitMs: 100 });
      consumer.assign([{ topic: i.topic, partition: i.partition, from: { offset: i.offset } }]);
      const records: Array<MessageInitShape<typeof ConsumedRecordSchema>> = [];
      let error: ClientError | undefined;
      try {
        for await (const r of consumer.records({ timeoutMs: i.timeoutMs || 5000 })) {
          records.push({
            partition: r.partition,
            offset: r.offset,
            ...(r.key === null ? {} : { key: r.key }),
            ...(r.value === null ? {} : { value: r.value }),
            headers: r.headers.map((h) => ({ key: h.key, ...(h.value === null ? {} : { value: h.value }) })),
            typeId: BigInt(r.typeId),
            timestampMs: BigInt(r.timestamp),
          });
          if (records.length >= i.maxRecords) break;
        }
      } catch (e) {
        const failure = PolywireError.from(e);
        if (failure.code !== "TIMEOUT") error = clientError(failure);
      } finally {
        await consumer.close();
      }
      return { case: "consume", value: create(ConsumeResultSchema, { records, ...(error === undefined ? {} : { error }) }) };
    }
    case "listOffsets": {
      const i = instruction.value;
      const query = i.query.case === "earliest" ? "earliest" as const : i.query.case === "latest" ? "latest" as const : { timestamp: Number(i.query.value ?? 0n) };
      const [r] = await client(i.client).listOffsets([{ topic: i.topic, partition: i.partition, query }]);
      return { case: "listOffsets", value: create(ListOffsetsResultSchema, { offset: r?.offset ?? -1n, timestampMs: BigInt(r?.timestamp ?? -1) }) };
    }
    case "metadata": {
      const i = instruction.value;
      const topics = await client(i.client).metadata(i.topics);
      return { case: "metadata", value: create(MetadataResultSchema, { topics: topics.map((t) => ({ name: t.name, partitioner: t.partitioner, partitions: t.partitions.length })) }) };
    }
    case "disconnect": {
      const i = instruction.value;
      await client(i.client).close();
      clients.delete(i.client);
      return { case: "disconnect", value: create(DisconnectResultSchema, {}) };
    }
    case "shutdown":
      await Promise.allSettled([...clients.values()].map((c) => c.close()));
      clients.clear();
      return { case: "shutdown", value: create(ShutdownResultSchema, {}) };
    default:
      throw new PolywireError("INVALID_ARGUMENT", "the request carries no instruction this adapter knows");
  }
}

function reply(id: bigint, result: Result): void {
  process.stdout.write(delimit(toBinary(AdapterResponseSchema, create(AdapterResponseSchema, { id, result }))));
}

await initCodec();
const reader = new DelimitedReader();
let shuttingDown = false;
process.stdin.on("data", (chunk: Buffer) => {
  for (const bytes of reader.push(new Uint8Array(chunk))) {
    const request = fromBinary(AdapterRequestSchema, bytes);
    handle(request).then(
      (result) => {
        reply(request.id, result);
        if (request.instruction.case === "shutdown") {
          shuttingDown = true;
          process.stdout.end(() => process.exit(0));
        }
      },
      (error: unknown) => reply(request.id, { case: "error", value: clientError(error) }),
    );
  }
});
process.stdin.on("end", () => {
  if (!shuttingDown) Promise.allSettled([...clients.values()].map((c) => c.close())).then(() => process.exit(0), () => process.exit(1));
});
