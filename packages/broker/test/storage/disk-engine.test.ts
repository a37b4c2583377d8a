import { openDiskStorage } from "../../src/storage/disk.js";
import { engineContract } from "./engine-contract.js";

// The disk engine's own tests: storage-recovery, storage-crash, storage-fds,
// storage-file-pool and fsync-policy (crashes, damaged files, descriptors, fsyncs).
engineContract({
  name: "disk",
  durable: true,
  open: (directory, options) => openDiskStorage({ retentionCheckIntervalMs: 0, ...options, directory }),
});
