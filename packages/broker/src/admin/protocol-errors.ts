import type { ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { refuseRestOfBody, type HttpRequest, type HttpResponse } from "../http.js";

/** The RPC protocol a request speaks, by its content type (a Connect GET has none). */
export type RpcProtocol = "connect" | "connect-stream" | "grpc" | "grpc-web";

function contentType(request: HttpRequest): string {
  const type = request.headers["content-type"];
  return (Array.isArray(type) ? type[0] : type ?? "").toLowerCase();
}

export function rpcProtocolOf(request: HttpRequest): RpcProtocol {
  const type = contentType(request);
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  return "connect";
}

/**
 * Answers a request with `error` in the request's own protocol without
 * reading its body, for refusals decided from the path and headers alone
 * (PW-ADMIN-050, PW-ADMIN-053); at most `discardUpTo` bytes of the body are
 * read and thrown away (see {@link refuseRestOfBody}). A Connect unary error (JSON, with the
 * code's HTTP status), a Connect end-of-stream message, or for gRPC and
 * gRPC-Web a trailers-only response (the status in the headers, no body),
 * which every gRPC client reads as the call's status.
 */
export function answerError(request: HttpRequest, response: HttpResponse, error: ConnectError, discardUpTo: number): void {
  refuseRestOfBody(request, response, discardUpTo);
  const protocol = rpcProtocolOf(request);
  if (protocol === "grpc" || protocol === "grpc-web") {
    const headers = setTrailerStatus(new Headers({ "content-type": contentType(request).split(";")[0] as string }), error);
    response.statusCode = 200;
    headers.forEach((value, name) => response.setHeader(name, value));
    response.end();
    return;
  }
  if (protocol === "connect-stream") {
    const endStream = new TextEncoder().encode(JSON.stringify(endStreamToJson(new Headers(), error, undefined)));
    response.statusCode = 200;
    response.setHeader("content-type", contentType(request).split(";")[0] as string);
    response.end(encodeEnvelope(endStreamFlag, endStream));
    return;
  }
  response.statusCode = codeToHttpStatus(error.code);
  response.setHeader("content-type", "application/json");
  response.end(errorToJsonBytes(error, {}));
}
