import { fromBinary } from "@bufbuild/protobuf";
import { CallChunkSchema, CallResponseSchema, CallStatus } from "@polywire/proto/rpc";
import { FrameKind } from "@polywire/proto/session";
import { ClauseViolation } from "../clause.js";
import { kindName } from "./messages.js";

/** Frames a broker may send on a caller's leg of a call (PW-RPC-010). */
const CALLER_LEG_KINDS: ReadonlySet<number> = new Set([FrameKind.CALL_RESPONSE, FrameKind.CALL_CHUNK, FrameKind.CALL_CREDIT, FrameKind.ERROR]);
/** Frames a broker may send on a responder's leg (PW-RPC-011), with the broker-chosen even id. */
export const RESPONDER_LEG_KINDS: ReadonlySet<number> = new Set([FrameKind.CALL_REQUEST, FrameKind.CALL_CHUNK, FrameKind.CALL_CREDIT, FrameKind.CALL_CANCEL, FrameKind.ERROR]);
const REMEMBERED = 10_000;

/**
 * The calls a session started, as its caller: which correlation ids name a
 * call in progress and which ended, so that the monitor checks every frame
 * a broker sends on a caller's leg: only the kinds of PW-RPC-010, and
 * exactly one terminal event per call, nothing after it (PW-RPC-044).
 */
export class CallLegs {
  readonly #open = new Set<number>();
  readonly #ended = new Set<number>();

  /** A CallRequest went out with correlation id `id`. */
  start(id: number): void {
    this.#open.add(id);
    this.#ended.delete(id);
  }

  /** True while `id` names a call in progress. */
  isOpen(id: number): boolean {
    return this.#open.has(id);
  }

  /** True when `id` named a call that has had its terminal event. */
  hasEnded(id: number): boolean {
    return this.#ended.has(id);
  }

  /**
   * Checks a broker frame on an odd id; returns false when the id names no
   * call of this session (the frame is someone else's to check).
   */
  observe(kind: number, id: number, message: Uint8Array, record: (violation: ClauseViolation) => void): boolean {
    if (this.#ended.has(id) && !this.#open.has(id)) {
      record(new ClauseViolation("PW-RPC-044", `the broker sent ${kindName(kind)} on correlation id ${id} after the call's terminal event`));
      return true;
    }
    if (!this.#open.has(id)) return false;
    if (!CALLER_LEG_KINDS.has(kind)) {
      record(new ClauseViolation("PW-RPC-010", `the broker sent ${kindName(kind)} on the caller's leg of call ${id}`));
      return true;
    }
    let terminal = kind === FrameKind.ERROR;
    try {
      if (kind === FrameKind.CALL_RESPONSE) {
        const response = fromBinary(CallResponseSchema, message);
        if (response.status !== CallStatus.OK && !response.endOfStream) record(new ClauseViolation("PW-RPC-044", `CallResponse of status ${CallStatus[response.status] ?? response.status} without end_of_stream on call ${id}`));
        terminal = response.status !== CallStatus.OK || response.endOfStream;
      } else if (kind === FrameKind.CALL_CHUNK) {
        terminal = fromBinary(CallChunkSchema, message).endOfStream;
      }
    } catch {
      record(new ClauseViolation("PW-FRAME-008", `the broker's ${kindName(kind)} on call ${id} does not decode`));
    }
    if (terminal) {
      this.#open.delete(id);
      if (this.#ended.size >= REMEMBERED) this.#ended.delete(this.#ended.values().next().value as number);
      this.#ended.add(id);
    }
    return true;
  }
}
