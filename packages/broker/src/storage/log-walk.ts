import type { FileHandle } from "node:fs/promises";
import { BATCH_HEADER_SIZE, BATCH_MAGIC } from "@polywire/wasm-codec";
import { readWalkFields, walkedBatch, type WalkedBatch } from "./batch-layout.js";

/** Reads exactly `length` bytes at `position` unless the file ends first; returns the count read. */
export async function readFully(handle: FileHandle, into: Uint8Array, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(into, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Called for each batch of a walk. `chunk` holds at least the batch's whole
 * header at `at`; `whole` is the entire batch when the walk asked for bytes.
 * Both are views of a buffer the walk reuses: copy anything kept. Return
 * false to stop before this batch.
 */
export type BatchVisitor = (batch: WalkedBatch, position: number, chunk: DataView, at: number, whole: Uint8Array | null) => boolean;

/** How a walk ended: `end` is the position after the last accepted batch. */
export interface WalkResult {
  readonly end: number;
  /** True when the walk reached `to` exactly (no torn, malformed or rejected batch). */
  readonly complete: boolean;
}

/**
 * Walks the batches stored in `[from, to)` of a segment file, reading it in
 * chunks of `chunkSize` bytes. It stops at the first batch whose header is
 * incomplete, whose length is below the minimum or runs past `to`, whose
 * magic is not 1 (PW-BATCH-002), or that the visitor rejects. Only the structure is checked
 * here; offset continuity and CRCs are the visitor's business.
 */
export async function walkBatches(
  handle: FileHandle,
  from: number,
  to: number,
  options: { wantBytes: boolean; chunkSize: number },
  visit: BatchVisitor,
): Promise<WalkResult> {
  const buffer = Buffer.allocUnsafe(Math.max(options.chunkSize, BATCH_HEADER_SIZE));
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const batch = walkedBatch();
  let bufferStart = from;
  let bufferLength = 0;
  let position = from;
  while (position < to) {
    if (position + BATCH_HEADER_SIZE > bufferStart + bufferLength) {
      if (position + BATCH_HEADER_SIZE > to) break;
      bufferStart = position;
      bufferLength = await readFully(handle, buffer, Math.min(buffer.byteLength, to - position), position);
      if (bufferLength < BATCH_HEADER_SIZE) break;
    }
    const at = position - bufferStart;
    readWalkFields(view, at, batch);
    if (batch.size < BATCH_HEADER_SIZE || batch.magic !== BATCH_MAGIC || position + batch.size > to) break;
    let whole: Uint8Array | null = null;
    let headerView = view;
    let headerAt = at;
    if (options.wantBytes) {
      if (position + batch.size <= bufferStart + bufferLength) {
        whole = buffer.subarray(at, at + batch.size);
      } else if (batch.size <= buffer.byteLength) {
        bufferStart = position;
        bufferLength = await readFully(handle, buffer, Math.min(buffer.byteLength, to - position), position);
        if (bufferLength < batch.size) break;
        whole = buffer.subarray(0, batch.size);
        headerAt = 0;
      } else {
        const own = Buffer.allocUnsafe(batch.size);
        if ((await readFully(handle, own, batch.size, position)) < batch.size) break;
        whole = own;
        headerView = new DataView(own.buffer, own.byteOffset, own.byteLength);
        headerAt = 0;
      }
    }
    if (!visit(batch, position, headerView, headerAt, whole)) break;
    position += batch.size;
  }
  return { end: position, complete: position === to };
}
