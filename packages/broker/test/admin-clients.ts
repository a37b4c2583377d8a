import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ClusterService, GroupService, MetricsService, TopicService } from "@polywire/proto/admin";
import { expect } from "vitest";

/** One way of reaching the admin services: protocol, codec and HTTP version. */
export interface AdminVariant {
  readonly name: string;
  transport(baseUrl: string): { transport: Transport; close(): void };
}

function h1(make: (o: { baseUrl: string; httpVersion: "1.1" }) => Transport): AdminVariant["transport"] {
  return (baseUrl) => ({ transport: make({ baseUrl, httpVersion: "1.1" }), close: () => undefined });
}

function h2(make: (o: { baseUrl: string; httpVersion: "2"; sessionManager: Http2SessionManager }) => Transport): AdminVariant["transport"] {
  return (baseUrl) => {
    const sessionManager = new Http2SessionManager(baseUrl);
    return { transport: make({ baseUrl, httpVersion: "2", sessionManager }), close: () => sessionManager.abort() };
  };
}

/**
 * Every protocol the admin listener serves (PW-ADMIN-001), over each HTTP
 * version the protocol allows: gRPC needs HTTP/2; Connect and gRPC-Web run
 * over both.
 */
export const ADMIN_VARIANTS: readonly AdminVariant[] = [
  { name: "Connect application/proto over HTTP/1.1", transport: h1((o) => createConnectTransport({ ...o, useBinaryFormat: true })) },
  { name: "Connect application/json over HTTP/1.1", transport: h1((o) => createConnectTransport({ ...o, useBinaryFormat: false })) },
  { name: "Connect application/proto over HTTP/2 (h2c)", transport: h2((o) => createConnectTransport({ ...o, useBinaryFormat: true })) },
  { name: "Connect application/json over HTTP/2 (h2c)", transport: h2((o) => createConnectTransport({ ...o, useBinaryFormat: false })) },
  { name: "gRPC over HTTP/2 (h2c)", transport: h2((o) => createGrpcTransport({ ...o })) },
  { name: "gRPC-Web over HTTP/1.1", transport: h1((o) => createGrpcWebTransport({ ...o, useBinaryFormat: true })) },
  { name: "gRPC-Web over HTTP/2 (h2c)", transport: h2((o) => createGrpcWebTransport({ ...o, useBinaryFormat: true })) },
];

/** Generated clients of the four admin services over one transport. */
export interface AdminClients {
  readonly topics: Client<typeof TopicService>;
  readonly groups: Client<typeof GroupService>;
  readonly cluster: Client<typeof ClusterService>;
  readonly metrics: Client<typeof MetricsService>;
  close(): void;
}

export function adminClients(baseUrl: string, variant: AdminVariant): AdminClients {
  const { transport, close } = variant.transport(baseUrl);
  return {
    topics: createClient(TopicService, transport),
    groups: createClient(GroupService, transport),
    cluster: createClient(ClusterService, transport),
    metrics: createClient(MetricsService, transport),
    close,
  };
}

/** Awaits a rejected admin call and returns its ConnectError after checking the code. */
export async function connectFailure(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  let failure: unknown;
  try {
    await promise;
  } catch (error) {
    failure = error;
  }
  expect(failure, "the call should have failed").toBeInstanceOf(ConnectError);
  const error = failure as ConnectError;
  expect(Code[error.code], error.rawMessage).toBe(Code[code]);
  return error;
}
