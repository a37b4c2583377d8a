export { PolywireError, errorCodeName, errorCodeNumber, isRetriableCode } from "./errors.js";
export type { PolywireErrorCode, PolywireErrorOptions, SupportedVersions, TlsFailure } from "./errors.js";
export { Emitter } from "./events.js";
export type { EventMap } from "./events.js";
export { Connection } from "./connection.js";
export type {
  CallResult, CloseOptions, ConnectionEvents, ConnectionOptions, ConnectionState, Frame, RequestOptions,
} from "./connection.js";
export { rpcs, workStartingKinds } from "./rpc.js";
export type { RpcKind, RpcMethod, RpcRequest, RpcRequestInit, RpcResponse } from "./rpc.js";
export { encodePlain, toMechanism } from "./sasl.js";
export type { AuthOptions, PlainCredentials, SaslMechanism, TokenCredentials } from "./sasl.js";
export { MIN_MAX_FRAME_SIZE, PROTOCOL_VERSION, errorFromFrame, frameKinds, frameSize } from "./wire.js";
export { checkWireTypes, decodeMessage } from "./decode.js";
export { frameKindTable } from "./frame-kinds.js";
export type { FrameKindInfo, FrameSender } from "./frame-kinds.js";
export { dial } from "./transport/dial.js";
export { listenMemory } from "./transport/memory.js";
export type { MemoryListener } from "./transport/memory.js";
export { SocketTransport } from "./transport/socket.js";
export { NodeWebSocketTransport, StandardWebSocketTransport } from "./transport/websocket.js";
export { parseTransportUrl } from "./transport/url.js";
export type { TransportAddress } from "./transport/url.js";
export type { DialOptions, TlsClientOptions, Transport, TransportHandlers, TransportScheme } from "./transport/transport.js";
export { Client, connect } from "./client.js";
export type { ClientEvents, ClientOptions, ClientState, HealthReport } from "./client-options.js";
export type { OffsetQuery, PartitionOffset } from "./context.js";
export { Producer } from "./producer/producer.js";
export type { Acks, ProducerOptions } from "./producer/options.js";
export type { DeliveryReport, RecordMetadata } from "./producer/reports.js";
export { Consumer } from "./consumer/consumer.js";
export type { ConsumedBatch, ConsumerOptions, PartitionAssignment, StartPosition, TopicPartition } from "./consumer/options.js";
export { ConsumedRecord, Record } from "./record.js";
export type { ConsumedRecordJson, RecordHeadersInit, HeaderValue, ProducerRecord, RecordOptions } from "./record.js";
export type { Jsonified, JsonResult } from "./json.js";
export { RetryPolicy } from "./retry.js";
export type { RetryOptions } from "./retry.js";
export { LatencyHistogram } from "./stats.js";
export type { ClientStats, LatencySnapshot } from "./stats.js";
export type { CallOptions } from "./signal.js";
export type { BrokerInfo, PartitionInfo, TopicInfo } from "./metadata.js";
export { adminErrorCode, createAdminClient } from "./admin.js";
export { resolveAdminUrl } from "./admin-url.js";
export type {
  AdminCallOptions, AdminClient, AdminClientOptions, AdminProtocol, AlterTopicOptions, CreateTopicOptions, ResetGroupOffsetsOptions, ResetTo,
} from "./admin.js";
