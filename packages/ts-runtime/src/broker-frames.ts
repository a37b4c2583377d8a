import { CloseSchema, DrainSchema, ErrorCode, FrameKind, type Drain } from "@polywire/proto/session";
import { decodeMessage, errorCodeName, errorFromFrame, frameKinds, PolywireError } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";

/** What a connection does with the frames its broker sends on its own. */
export interface BrokerFrameSide {
  writeError(error: PolywireError, correlationId: number): void;
  /** Answers a Ping with its Pong; throws when the Ping does not decode. */
  answerPing(ping: Frame): void;
  /** The broker announced shutdown (PW-SESS-015). */
  drain(notice: Drain): void;
  /** The broker sent Close (PW-SESS-016); `error` when its code is not a normal close. */
  closing(error: PolywireError | undefined): void;
  /** The broker sent a connection-level Error (correlation id 0): it closes the connection. */
  failed(error: PolywireError): void;
  /** Any other frame: Delivery, SlowConsumer, broker-initiated requests, Errors on even ids. */
  other(frame: Frame): void;
}

/**
 * Handles a frame the broker sent on its own (an even correlation id, or
 * 0): an unknown kind is answered with UNKNOWN_FRAME_KIND and the
 * connection stays (PW-FRAME-009), a Ping with its Pong, Drain, Close and a
 * connection-level Error change the connection's course, the rest goes to
 * the owner. Throws when a session frame does not decode.
 */
export function onBrokerFrame(frame: Frame, side: BrokerFrameSide): void {
  const id = frame.correlationId;
  if (!frameKinds.has(frame.kind)) {
    side.writeError(new PolywireError("UNKNOWN_FRAME_KIND", `unknown frame kind ${frame.kind}`), id);
    return;
  }
  switch (frame.kind) {
    case FrameKind.PING:
      side.answerPing(frame);
      return;
    case FrameKind.DRAIN:
      side.drain(decodeMessage(DrainSchema, frame.message));
      return;
    case FrameKind.CLOSE: {
      const close = decodeMessage(CloseSchema, frame.message);
      side.closing(close.code === ErrorCode.UNSPECIFIED
        ? undefined
        : new PolywireError(errorCodeName(close.code), `broker closed the connection: ${close.reason}`, { wireCode: close.code }));
      return;
    }
    case FrameKind.ERROR:
      if (id === 0) side.failed(errorFromFrame(frame));
      else side.other(frame);
      return;
    default:
      side.other(frame);
  }
}
