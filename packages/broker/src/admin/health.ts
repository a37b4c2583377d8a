import { statfs } from "node:fs/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { HealthStatus, type GetHealthResponseSchema, type HealthCheckSchema } from "@polywire/proto/admin";
import { codecMemory, crc32c } from "@polywire/wasm-codec";
import type { AdminContext } from "./context.js";

type Check = MessageInitShape<typeof HealthCheckSchema>;
type Health = MessageInitShape<typeof GetHealthResponseSchema> & { status: HealthStatus };

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function lifecycleCheck(context: AdminContext): Check {
  const state = context.state();
  return state === "running"
    ? { name: "lifecycle", status: HealthStatus.SERVING, detail: "running" }
    : { name: "lifecycle", status: HealthStatus.NOT_SERVING, detail: `${state}: not accepting new work` };
}

function listenersCheck(context: AdminContext): Check {
  const urls = context.urls();
  if (context.state() !== "running") return { name: "listeners", status: HealthStatus.NOT_SERVING, detail: "closed for shutdown" };
  return { name: "listeners", status: HealthStatus.SERVING, detail: `${urls.length} accepting: ${urls.join(", ")}` };
}

function connectionsCheck(context: AdminContext, open: number): Check {
  const detail = `${open} of at most ${context.maxConnections}`;
  // At the limit every new client is turned away (PW-LIM-004): serving, but not well.
  return { name: "connections", status: open >= context.maxConnections ? HealthStatus.DEGRADED : HealthStatus.SERVING, detail };
}

// CRC-32C of "123456789", the check value of the Castagnoli polynomial.
const CHECK_INPUT = new TextEncoder().encode("123456789");
const CHECK_VALUE = 0xe3069283;

// Every produce and fetch goes through the codec: while it fails, the broker cannot serve.
function codecCheck(): Check {
  const { bytes: memory, restarts } = codecMemory();
  const detail = `${bytes(memory)} of WASM memory, ${restarts} restart${restarts === 1 ? "" : "s"}`;
  try {
    const value = crc32c(CHECK_INPUT);
    if (value !== CHECK_VALUE) return { name: "codec", status: HealthStatus.NOT_SERVING, detail: `self-test gave 0x${value.toString(16)}; ${detail}` };
  } catch (error) {
    return { name: "codec", status: HealthStatus.NOT_SERVING, detail: `unusable: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { name: "codec", status: HealthStatus.SERVING, detail };
}

async function storageCheck(context: AdminContext): Promise<{ check: Check; used: number; free: number }> {
  const storage = context.storage;
  let used: number;
  let free: number;
  try {
    ({ usedBytes: used, freeBytes: free } = await storage.usage());
  } catch (error) {
    const detail = `cannot read storage usage: ${error instanceof Error ? error.message : String(error)}`;
    return { check: { name: "storage", status: HealthStatus.NOT_SERVING, detail }, used: 0, free: 0 };
  }
  if (storage.engine !== "disk") {
    return { check: { name: "storage", status: HealthStatus.SERVING, detail: `${storage.engine} engine holds ${bytes(used)}; data does not survive a restart` }, used, free };
  }
  let total: number;
  try {
    const fs = await statfs(storage.directory);
    total = fs.blocks * fs.bsize;
  } catch (error) {
    const detail = `cannot stat ${storage.directory}: ${error instanceof Error ? error.message : String(error)}`;
    return { check: { name: "storage", status: HealthStatus.NOT_SERVING, detail }, used, free };
  }
  const { minFreeBytes, minFreeRatio } = context.healthThresholds;
  const ratio = total === 0 ? 0 : free / total;
  const low = free < minFreeBytes || ratio < minFreeRatio;
  const detail = `${bytes(free)} free of ${bytes(total)} (${(ratio * 100).toFixed(1)}%) in ${storage.directory}; log uses ${bytes(used)}` +
    (low ? `; below the threshold of ${bytes(minFreeBytes)} or ${(minFreeRatio * 100).toFixed(0)}%: free space or lower retention` : "");
  return { check: { name: "storage", status: low ? HealthStatus.DEGRADED : HealthStatus.SERVING, detail }, used, free };
}

/**
 * The broker's health (PW-ADMIN-041): every check, and the overall status
 * they add up to. `/readyz` answers from the same status (PW-ADMIN-042).
 */
export async function checkHealth(context: AdminContext): Promise<Health> {
  const open = context.connections();
  const storage = await storageCheck(context);
  const checks = [lifecycleCheck(context), listenersCheck(context), storage.check, connectionsCheck(context, open), codecCheck()];
  const statuses = checks.map((c) => c.status);
  const status = statuses.includes(HealthStatus.NOT_SERVING)
    ? HealthStatus.NOT_SERVING
    : statuses.includes(HealthStatus.DEGRADED) ? HealthStatus.DEGRADED : HealthStatus.SERVING;
  return {
    status,
    uptimeMs: BigInt(Math.max(0, Math.floor(performance.now() - context.startedAt))),
    version: context.version,
    storage: { engine: context.storage.engine, directory: context.storage.directory, usedBytes: BigInt(storage.used), freeBytes: BigInt(storage.free) },
    checks,
    connections: open,
  };
}
