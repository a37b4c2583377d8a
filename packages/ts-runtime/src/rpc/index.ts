// The request/reply plane of the client (§10): calls, responders, bodies.
export { Call, type CallOptions, type Reply } from "./caller.js";
export { ApplicationError } from "./errors.js";
export type { Headers, HeadersInit } from "./headers.js";
export { IncomingBody } from "./incoming.js";
export type { BodyInit } from "./outgoing.js";
export type { Response } from "./rpc.js";
export type { Handler, IncomingRequest, ReplyInit } from "./served-call.js";
export { Service, type ServeOptions } from "./service.js";
