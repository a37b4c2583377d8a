import { StorageError } from "./errors.js";
import type { ProducerIdentity } from "./storage.js";

/** Epochs are i16 on the wire; past this a producer gets a fresh id. */
const MAX_EPOCH = 0x7fff;

/** What the registry knows of one granted id: its epoch and when it last appended or was granted. */
export interface ProducerRecord {
  epoch: number;
  lastActiveMs: number;
}

/** What a registry persists: the next id to grant and every remembered id. */
export interface RegistryState {
  nextProducerId: bigint;
  producers: Map<bigint, ProducerRecord>;
}

/**
 * Grants producer ids and epochs (PW-IDEM-001) and forgets ids idle past the
 * expiration period (PW-IDEM-011). Grants and expiries are serialized and
 * each is persisted through `persist` before it is returned or used to fence,
 * so a restart never hands out an id twice, never un-fences an old epoch and
 * never brings back a forgotten id. Activity from appends is kept in memory
 * only; it reaches the file with the next grant, expiry or {@link flush}.
 */
export class ProducerRegistry {
  #chain: Promise<unknown> = Promise.resolve();
  readonly #state: RegistryState;
  readonly #persist: (state: RegistryState) => Promise<void>;

  constructor(state: RegistryState, persist: (state: RegistryState) => Promise<void>) {
    this.#state = state;
    this.#persist = persist;
  }

  /** The epoch `producerId` holds now, or undefined if never granted or forgotten. */
  readonly currentEpoch = (producerId: bigint): number | undefined => this.#state.producers.get(producerId)?.epoch;

  /** Notes that `producerId` appended (or retried) a batch at `nowMs`, restarting its expiration period. */
  readonly touch = (producerId: bigint, nowMs: number): void => {
    const record = this.#state.producers.get(producerId);
    if (record !== undefined && record.lastActiveMs < nowMs) record.lastActiveMs = nowMs;
  };

  /** Whether `producerId` is remembered now. */
  readonly knows = (producerId: bigint): boolean => this.#state.producers.has(producerId);

  /** How many producer ids are remembered. */
  get size(): number {
    return this.#state.producers.size;
  }

  /** InitProducer: a new id for -1n, an epoch bump for the current id and epoch. */
  init(producerId: bigint, producerEpoch: number): Promise<ProducerIdentity> {
    return this.#serialize(() => this.#grant(producerId, producerEpoch));
  }

  /**
   * Forgets every id idle for longer than `expirationMs` as of `nowMs`
   * (PW-IDEM-011), calls `dropped` (which frees their partition state) and
   * persists the shrunken registry; resolves with the forgotten ids. They
   * are dropped from memory before the write, in one synchronous step, so an
   * append either ran before (and kept the id alive) or sees the id unknown;
   * if the write then fails, a restart only brings back ids nobody can use
   * any more, which expire again.
   */
  expire(nowMs: number, expirationMs: number, dropped: () => void): Promise<bigint[]> {
    return this.#serialize(async () => {
      const forgotten: bigint[] = [];
      for (const [id, record] of this.#state.producers) {
        if (nowMs - record.lastActiveMs > expirationMs) forgotten.push(id);
      }
      if (forgotten.length === 0) return forgotten;
      for (const id of forgotten) this.#state.producers.delete(id);
      dropped();
      await this.#persist(this.#copy());
      return forgotten;
    });
  }

  /** Persists the current state, last activity included (a clean close calls it). */
  flush(): Promise<void> {
    return this.#serialize(() => this.#persist(this.#copy()));
  }

  #serialize<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(step);
    this.#chain = result.catch(() => undefined);
    return result;
  }

  #copy(): RegistryState {
    const producers = new Map<bigint, ProducerRecord>();
    for (const [id, record] of this.#state.producers) producers.set(id, { ...record });
    return { nextProducerId: this.#state.nextProducerId, producers };
  }

  async #grant(producerId: bigint, producerEpoch: number): Promise<ProducerIdentity> {
    let id: bigint;
    let epoch: number;
    if (producerId === -1n) {
      id = this.#state.nextProducerId;
      epoch = 0;
    } else {
      const current = this.currentEpoch(producerId);
      if (current === undefined || producerEpoch > current) {
        throw new StorageError("UNKNOWN_PRODUCER", `producer id ${producerId} with epoch ${producerEpoch} was not granted by this broker, or was forgotten after its expiration period`);
      }
      if (producerEpoch < current) {
        throw new StorageError("PRODUCER_FENCED", `producer id ${producerId} epoch ${producerEpoch} is fenced by epoch ${current}`);
      }
      if (current < MAX_EPOCH) {
        id = producerId;
        epoch = current + 1;
      } else {
        id = this.#state.nextProducerId;
        epoch = 0;
      }
    }
    const record: ProducerRecord = { epoch, lastActiveMs: Date.now() };
    const next = this.#copy();
    next.producers.set(id, record);
    if (id === this.#state.nextProducerId) next.nextProducerId = id + 1n;
    await this.#persist(next);
    this.#state.nextProducerId = next.nextProducerId;
    this.#state.producers.set(id, record);
    return { producerId: id, producerEpoch: epoch };
  }

  /** JSON text of a state (ids as decimal strings: they are i64); each producer is `[id, epoch, lastActiveMs]`. */
  static encode(state: RegistryState): string {
    return JSON.stringify({
      nextProducerId: state.nextProducerId.toString(),
      producers: [...state.producers].map(([id, record]) => [id.toString(), record.epoch, record.lastActiveMs]),
    });
  }

  /**
   * Parses {@link encode}d text; throws STORAGE if it is not a registry. An
   * entry without a last-activity time (written before ids expired) counts
   * as active at `nowMs`, as does every entry when `resetActivity` is set.
   */
  static decode(text: string, nowMs: number, resetActivity = false): RegistryState {
    try {
      const raw = JSON.parse(text) as { nextProducerId: string; producers: [string, number, number?][] };
      const producers = new Map<bigint, ProducerRecord>();
      for (const [id, epoch, lastActiveMs] of raw.producers) {
        if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new Error(`bad epoch ${epoch}`);
        if (lastActiveMs !== undefined && !Number.isSafeInteger(lastActiveMs)) throw new Error(`bad last activity ${String(lastActiveMs)}`);
        producers.set(BigInt(id), { epoch, lastActiveMs: resetActivity || lastActiveMs === undefined ? nowMs : Math.min(lastActiveMs, nowMs) });
      }
      const nextProducerId = BigInt(raw.nextProducerId);
      if (nextProducerId < 0n) throw new Error(`bad next producer id ${nextProducerId}`);
      return { nextProducerId, producers };
    } catch (cause) {
      throw new StorageError("STORAGE", "producer registry is damaged", { cause });
    }
  }

  static empty(): RegistryState {
    return { nextProducerId: 0n, producers: new Map() };
  }
}
