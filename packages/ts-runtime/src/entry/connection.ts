// "@polywire/runtime/connection": the layers under the client, for tools
// and tests that speak the protocol frame by frame: one Connection, the
// table of request kinds, frame and message helpers, dialing. (Listening,
// the server side of the transports, is @polywire/core's.)
export { Connection } from "../connection.js";
export type {
  CallResult, CloseOptions, ConnectionEvents, ConnectionOptions, ConnectionState, Frame, RequestOptions,
} from "../connection.js";
export { Emitter } from "../events.js";
export type { EventMap } from "../events.js";
export { encodePlain, toMechanism } from "../sasl.js";
export {
  MIN_MAX_FRAME_SIZE, PROTOCOL_VERSION, PolywireError, checkWireTypes, decodeMessage, dial, errorFromFrame, frameKindTable, frameKinds, frameSize,
  parseTransportUrl, requestMethods, StandardWebSocketTransport, workStartingKinds,
} from "@polywire/core";
export type {
  DialOptions, FrameKindInfo, FrameSender, RequestInit, RequestKind, RequestMessage, RequestMethod, ResponseMessage, Transport,
  TransportAddress, TransportHandlers, TransportScheme,
} from "@polywire/core";
export { RetryPolicy } from "../retry.js";
export { LatencyHistogram } from "../stats.js";
