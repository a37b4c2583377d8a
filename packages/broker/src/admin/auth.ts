import { createHash, timingSafeEqual } from "node:crypto";
import { quote } from "../quote.js";

/**
 * What an admin principal may do (PW-ADMIN-046): a `viewer` may call only
 * the RPCs `admin.proto` marks `NO_SIDE_EFFECTS` (list, describe, health,
 * metrics); an `admin` may call every RPC.
 */
export type AdminRole = "viewer" | "admin";

/** Who presented a valid admin credential, and what they may do. */
export interface AdminPrincipal {
  /** Named in `permission_denied` messages and nowhere else; never the token. */
  readonly principal: string;
  readonly role: AdminRole;
}

/** One bearer token the admin listener accepts. */
export interface AdminToken extends AdminPrincipal {
  /** The secret, presented as `Authorization: Bearer <token>`. */
  readonly token: string;
}

/**
 * Authentication of the admin services (PW-ADMIN-003, PW-ADMIN-046). With
 * it, every admin RPC needs an `Authorization: Bearer <token>` header (in
 * gRPC, the `authorization` metadata); `/metrics`, `/healthz` and `/readyz`
 * stay open so scrapers and orchestrator probes need no secret. Without it
 * (the default), the admin services are open, which is why the admin
 * listener binds 127.0.0.1 unless told otherwise.
 */
export interface AdminAuthOptions {
  /** Tokens and the principals they stand for. */
  readonly tokens?: readonly AdminToken[];
  /** Checks a token the list does not hold, e.g. against an external store: its principal, or null. */
  readonly verify?: (token: string) => AdminPrincipal | null | Promise<AdminPrincipal | null>;
}

/** Why a request's credentials were refused, for the `unauthenticated` message. */
export type AdminAuthResult = { readonly ok: true; readonly principal: AdminPrincipal } | { readonly ok: false; readonly reason: string };

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** What makes `t` unusable as an admin token, naming its field; undefined when it is usable. */
export function adminTokenProblem(t: { readonly principal: unknown; readonly role: unknown; readonly token: unknown }): { field: "principal" | "role" | "token"; problem: string } | undefined {
  if (typeof t.principal !== "string" || t.principal === "") return { field: "principal", problem: "must be a non-empty name (for logs and errors)" };
  if (t.role !== "viewer" && t.role !== "admin") return { field: "role", problem: `must be "viewer" or "admin" (a viewer may call only read-only RPCs), got ${quote(t.role)}` };
  if (typeof t.token !== "string" || t.token === "") return { field: "token", problem: "is empty" };
  return undefined;
}

/**
 * Builds the check the admin interceptor runs on each request's
 * `authorization` header. Configured tokens are compared as SHA-256
 * digests with `timingSafeEqual`, every one of them on every request, so
 * neither a token's content nor its position leaks through timing.
 */
export function adminAuthenticator(options: AdminAuthOptions): (authorization: string | null) => Promise<AdminAuthResult> {
  const known = (options.tokens ?? []).map((t) => {
    const problem = adminTokenProblem(t);
    if (problem !== undefined) throw new TypeError(`admin token of ${quote(t.principal)}${problem.field === "token" ? "" : `: ${problem.field}`} ${problem.problem}`);
    return { digest: digest(t.token), principal: { principal: t.principal, role: t.role } satisfies AdminPrincipal };
  });
  const verify = options.verify;
  return async (authorization) => {
    if (authorization === null || authorization === "") return { ok: false, reason: "no credentials: send an `Authorization: Bearer <token>` header" };
    const match = BEARER.exec(authorization);
    if (match === null) return { ok: false, reason: "malformed credentials: the admin services accept only `Authorization: Bearer <token>`" };
    const token = match[1] as string;
    const presented = digest(token);
    let found: AdminPrincipal | undefined;
    for (const entry of known) {
      if (timingSafeEqual(entry.digest, presented)) found ??= entry.principal;
    }
    if (found === undefined && verify !== undefined) found = (await verify(token)) ?? undefined;
    return found === undefined ? { ok: false, reason: "invalid credentials: the bearer token is not one this broker accepts" } : { ok: true, principal: found };
  };
}
