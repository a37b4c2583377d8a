export { PolywireError, errorCodeName, errorCodeNumber, isRetriableCode } from "@polywire/core";
export type { PolywireErrorCode, PolywireErrorOptions, SupportedVersions, TlsFailure } from "@polywire/core";
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
export {
  MIN_MAX_FRAME_SIZE, PROTOCOL_VERSION, checkWireTypes, decodeMessage, dial, errorFromFrame, frameKindTable, frameKinds, frameSize,
  parseTransportUrl, StandardWebSocketTransport,
} from "@polywire/core";
export type {
  DialOptions, FrameKindInfo, FrameSender, TlsClientOptions, Transport, TransportAddress, TransportHandlers, TransportScheme,
} from "@polywire/core";
export { Client, connect } from "./client.js";
export type { ClientEvents, ClientOptions, ClientState, HealthReport, OffsetQuery, PartitionOffset } from "./client.js";
export { Producer } from "./producer.js";
export type { Acks, ProducerOptions, RecordMetadata } from "./producer.js";
export type { DeliveryReport } from "./reports.js";
export { Consumer } from "./consumer.js";
export type { ConsumedBatch, ConsumerOptions, PartitionAssignment, StartPosition, TopicPartition } from "./consumer.js";
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
