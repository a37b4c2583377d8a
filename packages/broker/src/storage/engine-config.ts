import { openDiskStorage } from "./disk.js";
import { openMemoryStorage } from "./memory.js";
import type { FsyncPolicy, Storage } from "./storage.js";

/** Which storage engine a broker opens, with its settings. */
export type StorageConfig =
  | {
    readonly engine: "disk";
    /** Data directory; created if missing. */
    readonly dir: string;
    /** Default fsync policy of topics (`fsync.policy`). Default "interval". */
    readonly fsync?: FsyncPolicy;
    /** Further broker-wide topic config defaults. */
    readonly topicDefaults?: Readonly<Record<string, string>>;
    /**
     * How often retention (`retention.ms`, `retention.bytes`) runs, ms.
     * Default 60 000, which meets the one minute of PW-ADMIN-023; 0 turns
     * the timer off.
     */
    readonly retentionCheckIntervalMs?: number;
    /**
     * A producer id idle (no append, no InitProducer) this long, ms, is
     * forgotten (PW-IDEM-011), checked with every retention run. Default
     * 86 400 000 (one day); -1 never forgets.
     */
    readonly producerIdExpirationMs?: number;
    /**
     * Most file descriptors storage holds at once (segment files LRU-cached,
     * reopened on demand), 4 to 1 048 576; default 256. Storage never holds
     * more than this plus 4; keep it well below `ulimit -n`, which
     * connections share.
     */
    readonly maxOpenFiles?: number;
  }
  | {
    readonly engine: "memory";
    readonly topicDefaults?: Readonly<Record<string, string>>;
    /**
     * How often retention (`retention.ms`, `retention.bytes`) runs, ms.
     * Default 60 000, which meets the one minute of PW-ADMIN-023; 0 turns
     * the timer off.
     */
    readonly retentionCheckIntervalMs?: number;
    /**
     * A producer id idle (no append, no InitProducer) this long, ms, is
     * forgotten (PW-IDEM-011), checked with every retention run. Default
     * 86 400 000 (one day); -1 never forgets.
     */
    readonly producerIdExpirationMs?: number;
  };

/** Opens the storage engine `config` names. */
export function openStorage(config: StorageConfig, idempotenceWindow?: number): Promise<Storage> {
  const window = {
    ...(idempotenceWindow === undefined ? {} : { idempotenceWindow }),
    ...(config.retentionCheckIntervalMs === undefined ? {} : { retentionCheckIntervalMs: config.retentionCheckIntervalMs }),
    ...(config.producerIdExpirationMs === undefined ? {} : { producerIdExpirationMs: config.producerIdExpirationMs }),
  };
  if (config.engine === "memory") {
    return openMemoryStorage({ ...window, ...(config.topicDefaults === undefined ? {} : { topicDefaults: config.topicDefaults }) });
  }
  const topicDefaults = { ...config.topicDefaults, ...(config.fsync === undefined ? {} : { "fsync.policy": config.fsync }) };
  return openDiskStorage({ directory: config.dir, topicDefaults, ...window, ...(config.maxOpenFiles === undefined ? {} : { maxOpenFiles: config.maxOpenFiles }) });
}
