import { create, toBinary } from "@bufbuild/protobuf";
import type { Header } from "@polywire/proto/common";
import { CallCancelSchema, CallChunkSchema, CallCreditSchema, CallResponseSchema, CallStatus } from "@polywire/proto/rpc";

// Messages of the call frames this client writes.

export function encodeChunk(endOfStream: boolean): Uint8Array {
  return endOfStream ? END_CHUNK : MORE_CHUNK;
}
const END_CHUNK = toBinary(CallChunkSchema, create(CallChunkSchema, { endOfStream: true }));
const MORE_CHUNK = toBinary(CallChunkSchema, create(CallChunkSchema, { endOfStream: false }));

export function encodeCredit(bytes: number): Uint8Array {
  return toBinary(CallCreditSchema, create(CallCreditSchema, { bytes }));
}

export function encodeCancel(reason: string): Uint8Array {
  return toBinary(CallCancelSchema, create(CallCancelSchema, { reason }));
}

export function encodeOk(headers: Header[], endOfStream: boolean): Uint8Array {
  return toBinary(CallResponseSchema, create(CallResponseSchema, { status: CallStatus.OK, headers, endOfStream, initialCredit: 0 }));
}

export function encodeAppError(code: string, message: string, headers: Header[]): Uint8Array {
  return toBinary(CallResponseSchema, create(CallResponseSchema, { status: CallStatus.ERROR, errorCode: code, errorMessage: message, headers, endOfStream: true }));
}

/** The default window: response (or request) bytes granted ahead of the reader. */
export const DEFAULT_WINDOW = 256 * 1024;
/** The largest CallChunk payload this client writes. */
export const MAX_CHUNK = 64 * 1024;
/** Room left in a frame for its header and message when a body goes in a first payload. */
export const FRAME_ROOM = 64 * 1024;
