// The protocol core: what a Polywire client and a broker share. Everything
// here bundles for browsers; Node-only modules (sockets, TLS, HTTP for the
// WebSocket listener, `ws`) are loaded only when a scheme that needs them is
// dialed or listened on.
export { PolywireError, errorCodeName, errorCodeNumber, isRetriableCode } from "./errors.js";
export type { PolywireErrorCode, PolywireErrorOptions, SupportedVersions, TlsFailure } from "./errors.js";

export { CHECKSUM_SIZE, MIN_MAX_FRAME_SIZE, PRE_HANDSHAKE_MAX_FRAME_SIZE, PROTOCOL_VERSION, frameSize, hasChecksum } from "./protocol/frame.js";
export { errorFromFrame, errorMessage } from "./protocol/error-frame.js";
export type { ErrorFrameExtra } from "./protocol/error-frame.js";
export { checkWireTypes, decodeMessage } from "./protocol/decode.js";
export { frameKindTable, frameKinds, protocolTable, requestMethods, workStartingKinds } from "./protocol/kinds.js";
export type {
  FrameKindInfo, FrameSender, RequestInit, RequestKind, RequestMessage, RequestMethod, RequestSchema, ResponseMessage, ResponseSchema,
} from "./protocol/kinds.js";

export { MAX_SUBJECT_BYTES, checkHeaderKeys, checkPublishSubject, checkQueueGroup, checkReplyTo, isReserved, parsePattern, patternMatches, subjectTokens } from "./protocol/subject.js";
export type { Pattern } from "./protocol/subject.js";
export { DIRECT_PUBSUB } from "./protocol/direct-pubsub.js";
export type { DirectHeaders, DirectPubSub, DirectPubSubOffer, DirectPubSubReceiver } from "./protocol/direct-pubsub.js";

export { FrameChannel } from "./channel/frame-channel.js";
export type { FrameChannelHandlers, FrameChannelOptions, FramePayload } from "./channel/frame-channel.js";

export { dial } from "./transport/dial.js";
export { closedByPeer, tlsError, tlsFailure } from "./transport/dial-error.js";
export { listen } from "./transport/listen.js";
export type { ListenContext, Listener, TlsServerOptions } from "./transport/listen.js";
export { listenMemory } from "./transport/memory.js";
export type { MemoryListener } from "./transport/memory.js";
export { listenWorker, registerWorkerPort, workerPort } from "./transport/worker-listen.js";
export type { WorkerListener } from "./transport/worker-listen.js";
export type { WorkerPort } from "./transport/worker.js";
export { SocketTransport } from "./transport/socket.js";
export { NodeWebSocketTransport, StandardWebSocketTransport } from "./transport/websocket-transport.js";
export { parseTransportUrl } from "./transport/url.js";
export type { TransportAddress } from "./transport/url.js";
export type { DialOptions, TlsClientOptions, Transport, TransportHandlers, TransportScheme } from "./transport/transport.js";
