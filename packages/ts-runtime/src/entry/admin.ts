// "@polywire/runtime/admin": the admin plane's client (Connect over HTTP,
// with its own URL), apart from the data-plane client of the main entry.
export { adminErrorCode, createAdminClient } from "../admin.js";
export type {
  AdminCallOptions, AdminClient, AdminClientOptions, AdminProtocol, AlterTopicOptions, CreateTopicOptions, ResetGroupOffsetsOptions, ResetTo,
} from "../admin.js";
export { resolveAdminUrl } from "../admin-url.js";
