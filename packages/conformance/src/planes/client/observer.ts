import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Acks, MetadataResponseSchema, ProduceRequestSchema, type MetadataResponse } from "@polywire/proto/log";
import { FrameKind, HelloSchema, WelcomeSchema } from "@polywire/proto/session";
import { BatchError, decodeBatch, readHeader } from "../../batch/batch.js";
import { ClauseViolation } from "../../clause.js";
import type { CaseContext } from "../../runner/case.js";
import { FrameProxy, type FrameVerdict, type ProxiedConnection, type ProxyHooks } from "../../wire/frame-proxy.js";
import { encodeRawFrame, HEADER_SIZE, type WireFrame } from "../../wire/frame.js";
import { kindName } from "../../wire/messages.js";

/** A produce the client sent, as the proxy saw it. */
export interface ObservedProduce {
  readonly connection: number;
  readonly correlationId: number;
  readonly topic: string;
  readonly partition: number;
  readonly batch: Uint8Array;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

/** Extra hooks of one case, run after the observer's own checks. */
export interface CaseHooks {
  fromClient?(frame: WireFrame, raw: Uint8Array, connection: ProxiedConnection): FrameVerdict | undefined;
  fromBroker?(frame: WireFrame, raw: Uint8Array, connection: ProxiedConnection): FrameVerdict | undefined;
  /** Alters every MetadataResponse on its way to the client (after the broker URLs are pointed at the proxy). */
  metadata?(response: MetadataResponse): void;
}

/**
 * A proxy between the client under test and the broker that checks every
 * frame the client sends against the sender's rules — framing (§2), the
 * handshake (§3), batches (§5), idempotent sequences (§7.5) — and records
 * the produces it sees. Broker URLs in MetadataResponse are rewritten to
 * the proxy's, so every connection the client opens goes through it.
 */
export class ClientObserver {
  readonly produces: ObservedProduce[] = [];
  readonly clientFrames: Array<{ readonly connection: number; readonly frame: WireFrame }> = [];
  #proxy!: FrameProxy;
  #seen = new Set<number>();
  #awaiting = new Map<number, Map<number, number>>();
  /** Per connection, the correlation ids of ACKS_NONE produces: no later request may carry one (PW-LOG-041). */
  #fireAndForget = new Map<number, Set<number>>();
  #window = 5;
  #inFlight = new Map<string, number>();
  #lastSequence = new Map<string, { epoch: number; next: number; batches: Map<number, Uint8Array> }>();

  private constructor(readonly ctx: CaseContext, readonly hooks: CaseHooks) {}

  static async start(ctx: CaseContext, hooks: CaseHooks = {}): Promise<ClientObserver> {
    const observer = new ClientObserver(ctx, hooks);
    const proxyHooks: ProxyHooks = {
      fromClient: (frame, raw, connection) => {
        observer.#fromClient(frame, connection);
        return hooks.fromClient?.(frame, raw, connection);
      },
      fromBroker: (frame, raw, connection) => {
        const verdict = hooks.fromBroker?.(frame, raw, connection);
        if (verdict !== undefined) return verdict;
        return observer.#fromBroker(frame, connection);
      },
      closed: (connection) => observer.#forget(connection.id),
      malformed: (from, error) => {
        if (from === "client") observer.#violation(new ClauseViolation(error.clause, `the client sent bytes that are not a valid frame: ${error.message}`));
      },
    };
    observer.#proxy = await FrameProxy.start(ctx.target.url, proxyHooks);
    ctx.defer(() => observer.#proxy.close());
    return observer;
  }

  /** The URL the client connects to. */
  get url(): string {
    return this.#proxy.url;
  }

  /** Open proxied connections. */
  get connections(): readonly ProxiedConnection[] {
    return this.#proxy.connections;
  }

  #violation(v: ClauseViolation): void {
    this.ctx.monitor.record(v);
  }

  #fromClient(frame: WireFrame, connection: ProxiedConnection): void {
    this.clientFrames.push({ connection: connection.id, frame });
    const kind = kindName(frame.kind);
    if (frame.headerSize !== HEADER_SIZE) this.#violation(new ClauseViolation("PW-FRAME-002", `the client sent ${kind} with header_size ${frame.headerSize}`));
    if (!this.#seen.has(connection.id)) {
      this.#seen.add(connection.id);
      if (frame.kind !== FrameKind.HELLO || frame.correlationId !== 1) {
        this.#violation(new ClauseViolation("PW-SESS-001", `the client's first frame was ${kind} with correlation id ${frame.correlationId}, not a Hello with 1`));
      } else {
        const hello = fromBinary(HelloSchema, frame.message);
        if (hello.versions === undefined || hello.versions.min < 1 || hello.versions.min > hello.versions.max) {
          this.#violation(new ClauseViolation("PW-SESS-017", `the client's Hello.versions is ${JSON.stringify(hello.versions)}; min must be at least 1`));
        }
      }
      return;
    }
    const id = frame.correlationId;
    const isRequest = frame.kind !== FrameKind.CLOSE && frame.kind !== FrameKind.ERROR && frame.kind !== FrameKind.PONG;
    if (!isRequest) return;
    if (id % 2 !== 1) this.#violation(new ClauseViolation("PW-FRAME-010", `the client sent ${kind} with correlation id ${id}; client requests carry odd ids`));
    const awaiting = this.#awaiting.get(connection.id) ?? new Map<number, number>();
    this.#awaiting.set(connection.id, awaiting);
    // ACKS_NONE produces get no answer (PW-LOG-004), so they do not await one.
    const answered = frame.kind !== FrameKind.PRODUCE_REQUEST || this.#produce(frame, connection.id) !== Acks.NONE;
    if (awaiting.has(id)) this.#violation(new ClauseViolation("PW-FRAME-011", `the client reused correlation id ${id} while ${kindName(awaiting.get(id) as number)} with that id awaited its answer`));
    const unanswered = this.#fireAndForget.get(connection.id) ?? new Set<number>();
    this.#fireAndForget.set(connection.id, unanswered);
    if (unanswered.has(id)) this.#violation(new ClauseViolation("PW-LOG-041", `the client sent ${kind} with correlation id ${id}, already used by an ACKS_NONE produce on this connection, before using every other odd id`));
    if (answered) awaiting.set(id, frame.kind);
    else unanswered.add(id);
  }

  /** Checks a produce and records it; returns its acks. */
  #produce(frame: WireFrame, connection: number): Acks {
    const request = fromBinary(ProduceRequestSchema, frame.message);
    const batch = frame.payload;
    try {
      decodeBatch(batch);
    } catch (error) {
      if (error instanceof BatchError) this.#violation(new ClauseViolation(error.clause, `the client produced an invalid batch to ${request.topic}/${request.partition}: ${error.message}`));
      return request.acks;
    }
    const header = readHeader(batch);
    if (header.baseOffset !== 0n) this.#violation(new ClauseViolation("PW-BATCH-004", `the client sent a batch with base_offset ${header.baseOffset}; producers send 0`));
    const observed: ObservedProduce = {
      connection, correlationId: frame.correlationId, topic: request.topic, partition: request.partition, batch,
      producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence, recordCount: header.recordCount,
    };
    this.produces.push(observed);
    if (header.producerId < 0n) return request.acks;
    const key = `${header.producerId}/${request.topic}/${request.partition}`;
    const inFlight = (this.#inFlight.get(key) ?? 0) + 1;
    this.#inFlight.set(key, inFlight);
    if (inFlight > this.#window) this.#violation(new ClauseViolation("PW-IDEM-007", `the client had ${inFlight} idempotent batches in flight to ${request.topic}/${request.partition}, above idempotence_window ${this.#window}`));
    const state = this.#lastSequence.get(key);
    const earlier = state?.epoch === header.producerEpoch ? state.batches.get(header.baseSequence) : undefined;
    if (earlier !== undefined) {
      // A resend: the same batch, byte for byte (PW-IDEM-007).
      if (!Buffer.from(earlier).equals(Buffer.from(batch))) this.#violation(new ClauseViolation("PW-IDEM-007", `the client resent base_sequence ${header.baseSequence} of ${key} with different bytes`));
      return request.acks;
    }
    const expected = state === undefined || state.epoch !== header.producerEpoch ? 0 : state.next;
    if (header.baseSequence !== expected) this.#violation(new ClauseViolation("PW-IDEM-002", `the client's batch to ${request.topic}/${request.partition} has base_sequence ${header.baseSequence}, expected ${expected}`));
    const next = state === undefined || state.epoch !== header.producerEpoch ? { epoch: header.producerEpoch, next: 0, batches: new Map<number, Uint8Array>() } : state;
    next.batches.set(header.baseSequence, batch);
    next.next = (header.baseSequence + header.recordCount) % 2 ** 31;
    this.#lastSequence.set(key, next);
    return request.acks;
  }

  #fromBroker(frame: WireFrame, connection: ProxiedConnection): FrameVerdict | undefined {
    const awaiting = this.#awaiting.get(connection.id);
    const kind = awaiting?.get(frame.correlationId);
    if (kind !== undefined) {
      awaiting?.delete(frame.correlationId);
      if (kind === FrameKind.PRODUCE_REQUEST) {
        const produce = this.produces.find((p) => p.connection === connection.id && p.correlationId === frame.correlationId);
        if (produce !== undefined && produce.producerId >= 0n) {
          const key = `${produce.producerId}/${produce.topic}/${produce.partition}`;
          this.#inFlight.set(key, Math.max(0, (this.#inFlight.get(key) ?? 1) - 1));
        }
      }
    }
    if (frame.kind === FrameKind.WELCOME) {
      this.#window = fromBinary(WelcomeSchema, frame.message).limits?.idempotenceWindow || 5;
      return undefined;
    }
    if (frame.kind !== FrameKind.METADATA_RESPONSE) return undefined;
    const metadata = fromBinary(MetadataResponseSchema, frame.message);
    for (const b of metadata.brokers) b.urls = [this.url];
    this.hooks.metadata?.(metadata);
    return { forward: encodeRawFrame({ kind: frame.kind, correlationId: frame.correlationId, message: toBinary(MetadataResponseSchema, metadata), payload: frame.payload, checksum: frame.checksum }) };
  }

  /** A connection ended: its requests will never be answered on it (the client resends them elsewhere). */
  #forget(connection: number): void {
    const awaiting = this.#awaiting.get(connection);
    for (const [id, kind] of awaiting ?? []) {
      if (kind !== FrameKind.PRODUCE_REQUEST) continue;
      const produce = this.produces.find((p) => p.connection === connection && p.correlationId === id);
      if (produce !== undefined && produce.producerId >= 0n) {
        const key = `${produce.producerId}/${produce.topic}/${produce.partition}`;
        this.#inFlight.set(key, Math.max(0, (this.#inFlight.get(key) ?? 1) - 1));
      }
    }
    this.#awaiting.delete(connection);
    this.#fireAndForget.delete(connection);
  }
}
