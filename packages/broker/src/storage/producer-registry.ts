import { StorageError } from "./errors.js";
import type { ProducerIdentity } from "./storage.js";

/** Epochs are i16 on the wire; past this a producer gets a fresh id. */
const MAX_EPOCH = 0x7fff;

/** What a registry persists: the next id to grant and every granted id's epoch. */
export interface RegistryState {
  nextProducerId: bigint;
  epochs: Map<bigint, number>;
}

/**
 * Grants producer ids and epochs (PW-IDEM-001). Grants are serialized and
 * each is persisted through `persist` before it is returned or used to fence,
 * so a restart never hands out an id twice nor un-fences an old epoch.
 */
export class ProducerRegistry {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: RegistryState,
    private readonly persist: (state: RegistryState) => Promise<void>,
  ) {}

  /** The epoch `producerId` holds now, or undefined if never granted. */
  readonly currentEpoch = (producerId: bigint): number | undefined => this.state.epochs.get(producerId);

  /** InitProducer: a new id for -1n, an epoch bump for the current id and epoch. */
  init(producerId: bigint, producerEpoch: number): Promise<ProducerIdentity> {
    const result = this.chain.then(() => this.grant(producerId, producerEpoch));
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async grant(producerId: bigint, producerEpoch: number): Promise<ProducerIdentity> {
    let id: bigint;
    let epoch: number;
    if (producerId === -1n) {
      id = this.state.nextProducerId;
      epoch = 0;
    } else {
      const current = this.state.epochs.get(producerId);
      if (current === undefined || producerEpoch > current) {
        throw new StorageError("UNKNOWN_PRODUCER", `producer id ${producerId} with epoch ${producerEpoch} was not granted by this broker`);
      }
      if (producerEpoch < current) {
        throw new StorageError("PRODUCER_FENCED", `producer id ${producerId} epoch ${producerEpoch} is fenced by epoch ${current}`);
      }
      if (current < MAX_EPOCH) {
        id = producerId;
        epoch = current + 1;
      } else {
        id = this.state.nextProducerId;
        epoch = 0;
      }
    }
    const next: RegistryState = {
      nextProducerId: id === this.state.nextProducerId ? id + 1n : this.state.nextProducerId,
      epochs: new Map(this.state.epochs).set(id, epoch),
    };
    await this.persist(next);
    this.state.nextProducerId = next.nextProducerId;
    this.state.epochs.set(id, epoch);
    return { producerId: id, producerEpoch: epoch };
  }

  /** JSON text of a state (ids as decimal strings: they are i64). */
  static encode(state: RegistryState): string {
    return JSON.stringify({
      nextProducerId: state.nextProducerId.toString(),
      producers: [...state.epochs].map(([id, epoch]) => [id.toString(), epoch]),
    });
  }

  /** Parses {@link encode}d text; throws STORAGE if it is not a registry. */
  static decode(text: string): RegistryState {
    try {
      const raw = JSON.parse(text) as { nextProducerId: string; producers: [string, number][] };
      const epochs = new Map<bigint, number>();
      for (const [id, epoch] of raw.producers) {
        if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new Error(`bad epoch ${epoch}`);
        epochs.set(BigInt(id), epoch);
      }
      return { nextProducerId: BigInt(raw.nextProducerId), epochs };
    } catch (cause) {
      throw new StorageError("STORAGE", "producer registry is damaged", { cause });
    }
  }

  static empty(): RegistryState {
    return { nextProducerId: 0n, epochs: new Map() };
  }
}
