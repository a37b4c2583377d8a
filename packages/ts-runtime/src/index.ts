// The application API of @polywire/runtime: connect, produce, consume, and
// the error type. The lower layers (a single Connection, the request table,
// frame helpers) are on "@polywire/runtime/connection"; the admin client is
// on "@polywire/runtime/admin"; transports and the protocol table are
// @polywire/core's.
export { Client, connect } from "./client.js";
export type { ClientEvents, ClientOptions, ClientState, HealthReport } from "./client-options.js";
export type { OffsetQuery, PartitionOffset } from "./context.js";
export { Producer } from "./producer/producer.js";
export type { Acks, ProducerOptions } from "./producer/options.js";
export type { DeliveryReport, RecordMetadata } from "./producer/reports.js";
export { Consumer } from "./consumer/consumer.js";
export { GroupConsumer } from "./group/group-consumer.js";
export type { AssignorName, GroupConsumerOptions } from "./group/options.js";
export type { OffsetToCommit } from "./group/offsets.js";
export type { ConsumedBatch, ConsumerOptions, PartitionAssignment, StartPosition, TopicPartition } from "./consumer/options.js";
export { ConsumedRecord, Record } from "./record.js";
export { Message } from "./pubsub/message.js";
export type { MessageData, MessageHeadersInit } from "./pubsub/message.js";
export type { PublishOptions } from "./pubsub/pubsub.js";
export type { Confirmation, ConfirmedPublishOptions, ConfirmOptions, ConfirmResult } from "./pubsub/confirm.js";
export type { HandleOptions, MessageHandler } from "./pubsub/handler.js";
export { Subscription } from "./pubsub/subscription.js";
export { ApplicationError, Call, IncomingBody, Service } from "./rpc/index.js";
export type { BodyInit, CallOptions as RpcCallOptions, Handler, Headers as CallHeaders, HeadersInit as CallHeadersInit, IncomingRequest, Reply, ReplyInit, Response as RpcResponse, ServeOptions } from "./rpc/index.js";
export type { SlowConsumerEvent, SubscribeOptions, SubscriptionEvents } from "./pubsub/subscription.js";
export type { ConsumedRecordJson, RecordHeadersInit, HeaderValue, ProducerRecord, RecordOptions } from "./record.js";
export { PolywireError, errorCodeName, errorCodeNumber, isRetriableCode } from "@polywire/core";
export type { PolywireErrorCode, PolywireErrorOptions, SupportedVersions, TlsFailure } from "@polywire/core";
export type { AuthOptions, PlainCredentials, SaslMechanism, TokenCredentials } from "./sasl.js";
export type { TlsClientOptions } from "@polywire/core";
// worker:// (PW-TRANS-013): the port a thread dials its broker's thread through.
export { registerWorkerPort } from "@polywire/core";
export type { Jsonified, JsonResult } from "./json.js";
export type { RetryOptions } from "./retry.js";
export type { ClientStats, LatencySnapshot } from "./stats.js";
export type { CallOptions } from "./signal.js";
export type { BrokerInfo, PartitionInfo, TopicInfo } from "./metadata.js";
