// The pub/sub plane's core (§9): grammar, subject index, queue groups,
// per-connection delivery queues and slow-consumer accounting. It knows
// nothing of sessions, frames or transports; the session wires it to the
// SubscribeRequest, UnsubscribeRequest and PublishRequest routes.
export { PubSubRouter, DEFAULT_NOTICE_INTERVAL_MS } from "./router.js";
export type { PubSubRouterOptions } from "./router.js";
export { Endpoint, DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_BYTES, DEFAULT_MAX_SUBSCRIPTIONS, DELIVERY_OVERHEAD_BYTES } from "./endpoint.js";
export type { DeliveryWriter, EndpointOptions, EndpointSink } from "./endpoint.js";
export type { PubSubCounters } from "./plane.js";
export { Subscription } from "./subscription.js";
export type { SlowConsumerNotice, SubscriptionState } from "./subscription.js";
// The grammar is @polywire/core's (the client checks it too); re-exported for the plane's users.
export { MAX_SUBJECT_BYTES, checkHeaderKeys, checkPublishSubject, checkQueueGroup, checkReplyTo, isReserved, parsePattern, patternMatches, subjectTokens } from "@polywire/core";
export type { Pattern } from "@polywire/core";
export { SubjectIndex, DEFAULT_CACHE_SIZE } from "./subject-index.js";
export type { Indexed, Match } from "./subject-index.js";
export { QueueGroup } from "./queue-group.js";
