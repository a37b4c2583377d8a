import type { CaseContext } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";

/** The target's admin listener (`http://host:port`); a case without one does not apply. */
export function adminUrl(ctx: CaseContext): string {
  const url = ctx.target.adminUrl;
  if (url === undefined) throw new Unsupported("the admin plane needs the admin URL (--admin)");
  return url;
}

/** The headers of every raw admin request: the target's bearer token, if it needs one (PW-ADMIN-046). */
export function adminHeaders(ctx: CaseContext): Record<string, string> {
  const token = ctx.target.adminToken;
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
