// Pub/sub messages (pubsub.proto and common.proto's Header). Bodies travel in
// the frame payload.
import { text } from "../samples.mjs";

export default [
  {
    name: "header",
    type: "Header",
    description: "One header; keys are case-sensitive and may repeat.",
    clauses: ["PW-PUBSUB-020"],
    json: { key: "Content-Type", value: Buffer.from("application/json").toString("base64") },
  },
  {
    name: "subscribe-request",
    type: "SubscribeRequest",
    description: "A queue-group subscription with a wildcard pattern.",
    clauses: ["PW-PUBSUB-002", "PW-PUBSUB-010", "PW-PUBSUB-012", "PW-PUBSUB-030"],
    json: { subscriptionId: 1, subject: "orders.*.created.>", queueGroup: "billing", maxPending: 1000 },
    frame: { correlationId: 23 },
  },
  {
    name: "subscribe-response",
    type: "SubscribeResponse",
    description: "The subscription is active.",
    clauses: ["PW-PUBSUB-011"],
    json: { subscriptionId: 1 },
    frame: { correlationId: 23 },
  },
  {
    name: "unsubscribe-request",
    type: "UnsubscribeRequest",
    description: "End after 10 more messages.",
    clauses: ["PW-PUBSUB-014"],
    json: { subscriptionId: 1, afterMessages: 10 },
    frame: { correlationId: 25 },
  },
  {
    name: "unsubscribe-response",
    type: "UnsubscribeResponse",
    description: "Applied.",
    clauses: ["PW-PUBSUB-014"],
    json: { subscriptionId: 1 },
    frame: { correlationId: 25 },
  },
  {
    name: "publish-request",
    type: "PublishRequest",
    description: "A publish with a reply subject, repeated header keys and an ack.",
    clauses: ["PW-PUBSUB-020", "PW-PUBSUB-021", "PW-PUBSUB-004"],
    json: {
      subject: "orders.eu.created.v1",
      replyTo: "_INBOX.c7.1",
      headers: [
        { key: "trace-id", value: Buffer.from("4bf92f35").toString("base64") },
        { key: "tag", value: Buffer.from("a").toString("base64") },
        { key: "tag", value: Buffer.from("b").toString("base64") },
        { key: "empty" },
      ],
      ack: true,
    },
    frame: { correlationId: 27, payload: text('{"order":1001}') },
  },
  {
    name: "publish-response",
    type: "PublishResponse",
    description: "Routed to three subscriptions.",
    clauses: ["PW-PUBSUB-021"],
    json: { routed: 3 },
    frame: { correlationId: 27 },
  },
  {
    name: "delivery",
    type: "Delivery",
    description: "The message of publish-request delivered to subscription 1: concrete subject, headers unchanged, body as payload.",
    clauses: ["PW-PUBSUB-023", "PW-PUBSUB-024"],
    json: {
      subscriptionId: 1,
      subject: "orders.eu.created.v1",
      replyTo: "_INBOX.c7.1",
      headers: [
        { key: "trace-id", value: Buffer.from("4bf92f35").toString("base64") },
        { key: "tag", value: Buffer.from("a").toString("base64") },
        { key: "tag", value: Buffer.from("b").toString("base64") },
        { key: "empty" },
      ],
      sequence: "17",
    },
    frame: { correlationId: 0, payload: text('{"order":1001}') },
  },
  {
    name: "slow-consumer",
    type: "SlowConsumer",
    description: "128 messages dropped for subscription 1 since the last notice.",
    clauses: ["PW-PUBSUB-031"],
    json: { subscriptionId: 1, dropped: "128", subject: "orders.*.created.>" },
    frame: { correlationId: 0 },
  },
];
