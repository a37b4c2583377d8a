// "@polywire/runtime/connection": the layers under the client, for tools
// and tests that speak the protocol frame by frame: one Connection, the
// transports, the table of request kinds, frame and message helpers.
export { Connection } from "../connection.js";
export { PolywireError } from "../errors.js";
export type {
  CallResult, CloseOptions, ConnectionEvents, ConnectionOptions, ConnectionState, Frame, RequestOptions,
} from "../connection.js";
export { Emitter } from "../events.js";
export type { EventMap } from "../events.js";
export { requestMethods, workStartingKinds } from "../request-kinds.js";
export type { RequestInit, RequestKind, RequestMessage, RequestMethod, ResponseMessage } from "../request-kinds.js";
export { encodePlain, toMechanism } from "../sasl.js";
export { MIN_MAX_FRAME_SIZE, PROTOCOL_VERSION, errorFromFrame, frameKinds, frameSize } from "../wire.js";
export { checkWireTypes, decodeMessage } from "../decode.js";
export { frameKindTable } from "../frame-kinds.js";
export type { FrameKindInfo, FrameSender } from "../frame-kinds.js";
export { dial } from "../transport/dial.js";
export { listenMemory } from "../transport/memory.js";
export type { MemoryListener } from "../transport/memory.js";
export { SocketTransport } from "../transport/socket.js";
export { NodeWebSocketTransport, StandardWebSocketTransport } from "../transport/websocket.js";
export { parseTransportUrl } from "../transport/url.js";
export type { TransportAddress } from "../transport/url.js";
export type { DialOptions, Transport, TransportHandlers, TransportScheme } from "../transport/transport.js";
export { RetryPolicy } from "../retry.js";
export { LatencyHistogram } from "../stats.js";
