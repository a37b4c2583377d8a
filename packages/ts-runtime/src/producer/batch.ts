import type { PolywireError } from "@polywire/core";
import { BATCH_HEADER_SIZE } from "@polywire/wasm-codec";
import type { Pending } from "./pending.js";

/** A batch of one partition. Its bytes, once encoded, are resent unchanged on retries (PW-IDEM-007). */
export class Batch {
  readonly records: Pending[] = [];
  bytes = BATCH_HEADER_SIZE;
  encoded: Uint8Array | undefined;
  baseSequence = -1;
  attempts = 0;
  /** Sent in the current producer epoch and not yet resolved. */
  sent = false;
  lastError: PolywireError | undefined;
  readonly done: Promise<void>;
  #finish!: () => void;

  constructor(
    /** Position among the partition's batches; splits get fractions in between. */
    readonly ordinal: number,
    readonly width = 1,
  ) {
    this.done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  finish(): void {
    this.#finish();
  }

  /** Known not to be stored: encode again with a new sequence when next sent. */
  fresh(): void {
    this.encoded = undefined;
    this.baseSequence = -1;
    this.sent = false;
  }
}

/**
 * Everything the producer keeps for one partition: the batch filling up,
 * sealed batches waiting for an in-flight slot, those in flight, those
 * waiting to be sent again, and the partition's idempotence sequence. The
 * accumulator, the sender and the idempotence logic all work on it.
 */
export class PartitionState {
  open: Batch | undefined;
  linger: ReturnType<typeof setTimeout> | undefined;
  /** Sealed batches waiting to be sent, in ordinal order. */
  queue: Batch[] = [];
  readonly inFlight = new Set<Batch>();
  /** Batches to send again once nothing is in flight. */
  retries: Batch[] = [];
  recovering = false;
  backoff: ReturnType<typeof setTimeout> | undefined;
  nextSequence = 0;
  /** Batches after this ordinal were sent after one the broker rejected: none of them is stored. */
  gapOrdinal: number | undefined;
  /** The encoded ProduceRequest of an acks "none" producer, the same for every batch. */
  requestBytes: Uint8Array | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    public count: number,
  ) {}

  *batches(): Iterable<Batch> {
    if (this.open !== undefined) yield this.open;
    yield* this.queue;
    yield* this.retries;
    yield* this.inFlight;
  }
}
