import type { Interceptor } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { AdminContext } from "./context.js";
import { adminError, toConnectError } from "./errors.js";

/**
 * Wraps every RPC of the polywire admin services, once the handler has
 * checked credentials from the headers (PW-ADMIN-050): refuses state
 * changes unless the broker is running (PW-ADMIN-002: `unavailable` while
 * draining); turns whatever a handler throws into the ConnectError it
 * answers with; and records the RPC's latency and outcome in
 * `polywire_admin_request_duration_seconds` and
 * `polywire_admin_requests_total`.
 */
export function adminInterceptor(context: AdminContext): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const service = request.service.name;
    const method = request.method.name;
    // Methods the proto marks NO_SIDE_EFFECTS only read; every other one changes state.
    const changesState = request.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
    let code = "ok";
    try {
      if (changesState && context.state() !== "running") {
        throw adminError(Code.Unavailable, "SHUTTING_DOWN", `broker is ${context.state()}: ${service}.${method} changes state and is refused; retry against a running broker`);
      }
      return await next(request);
    } catch (error) {
      const connectError = toConnectError(error);
      code = codeName(connectError.code);
      throw connectError;
    } finally {
      context.metrics.adminRequest(service, method, code, (performance.now() - started) / 1000);
    }
  };
}

/** The Connect code's wire name, e.g. `invalid_argument`. */
export function codeName(code: Code): string {
  return (Code[code] ?? "Unknown").replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}
