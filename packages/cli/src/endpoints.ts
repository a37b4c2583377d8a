import { connect, PolywireError, type Client } from "@polywire/runtime";
import { Connection } from "@polywire/runtime/connection";
import { createAdminClient, resolveAdminUrl, type AdminClient, type AdminProtocol } from "@polywire/runtime/admin";
import { choiceFlag, integerFlag, UsageError } from "./args.js";
import { CliError, ExitCode } from "./exit-codes.js";

/** Default admin URL: the default admin port (PW-ADMIN-062), where `polywire broker` serves it. */
export const DEFAULT_ADMIN_URL = "http://127.0.0.1:7421";
/** Default data-plane URL: `polywire broker`'s default listener. */
export const DEFAULT_BROKER_URL = "tcp://127.0.0.1:7420";

/** Flags of every command that calls the admin services. */
export const ADMIN_FLAGS = {
  admin: { type: "string" },
  broker: { type: "string" },
  protocol: { type: "string" },
  http2: { type: "boolean" },
  timeout: { type: "string" },
  "admin-token": { type: "string" },
} as const;

/** Usage lines for {@link ADMIN_FLAGS}. */
export const ADMIN_FLAGS_USAGE = `  --admin <url>            the broker's admin URL (default $POLYWIRE_ADMIN_URL; else the one
                           the broker of --broker / $POLYWIRE_BROKER names in its handshake;
                           else ${DEFAULT_ADMIN_URL})
  --broker <url>           a data-plane URL of the broker, to learn its admin URL from
  --protocol <p>           connect (default), grpc or grpc-web
  --http2                  use HTTP/2 (h2c) instead of HTTP/1.1 (gRPC always does)
  --timeout <ms>           deadline of each call (default 30000)
  --admin-token <token>    bearer token of a broker with admin authentication
                           (default $POLYWIRE_ADMIN_TOKEN; prefer the variable:
                           flags show up in process listings)`;

/** Flags of every command that talks to the data plane. */
export const BROKER_FLAGS = {
  broker: { type: "string" },
  timeout: { type: "string" },
  "connect-timeout": { type: "string" },
  "max-frame-size": { type: "string" },
} as const;

/** Usage lines for {@link BROKER_FLAGS}. */
export const BROKER_FLAGS_USAGE = `  --broker <url>           data-plane URL: tcp://, tls://, unix://, ws:// (default $POLYWIRE_BROKER or ${DEFAULT_BROKER_URL})
  --connect-timeout <ms>   how long to try reaching the broker before failing with the
                           address and the cause, e.g. ECONNREFUSED (default 5000)
  --timeout <ms>           request deadline (default 30000)
  --max-frame-size <bytes> largest frame this client accepts (default 16777216); a
                           record larger than that cannot be consumed`;

/** The flags {@link adminUrl} reads. */
export interface AdminTargetFlags {
  admin?: string | undefined;
  broker?: string | undefined;
  timeout?: string | undefined;
}

/**
 * The admin URL to use: --admin, else $POLYWIRE_ADMIN_URL, else the admin
 * URL the broker of --broker / $POLYWIRE_BROKER advertises in its Welcome
 * (PW-ADMIN-060, PW-ADMIN-063; one handshake), else the default admin port
 * (PW-ADMIN-062). A broker that cannot be reached, or that serves no admin
 * plane, is a CliError that says what to pass instead.
 */
export async function adminUrl(values: AdminTargetFlags): Promise<string> {
  const given = values.admin ?? process.env.POLYWIRE_ADMIN_URL;
  if (given !== undefined) return given;
  const broker = values.broker ?? process.env.POLYWIRE_BROKER;
  if (broker === undefined) return DEFAULT_ADMIN_URL;
  let advertised: string;
  try {
    await using connection = await Connection.connect(broker, { clientId: "polywire-cli", connectTimeoutMs: integerFlag("timeout", values.timeout, 30_000) });
    advertised = connection.welcome.adminUrl;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof PolywireError && error.code === "INVALID_ARGUMENT") throw new UsageError(`--broker: ${reason}`);
    throw new CliError(`cannot learn the admin URL from the broker at ${broker}: ${reason}`, ExitCode.UNAVAILABLE, "check that a broker listens there, or pass --admin <url> / set POLYWIRE_ADMIN_URL");
  }
  const url = resolveAdminUrl(advertised, broker);
  if (url === undefined) {
    throw new CliError(`the broker at ${broker} serves no admin plane: its handshake names no admin URL (PW-ADMIN-060)`, ExitCode.UNSUPPORTED, "start the broker with its admin listener (`polywire broker` serves it on port 7421 unless given --http-port off), or pass --admin <url> / set POLYWIRE_ADMIN_URL");
  }
  return url;
}

/** The data-plane URL the flags and environment select. */
export function brokerUrl(values: { broker?: string | undefined }): string {
  return values.broker ?? process.env.POLYWIRE_BROKER ?? DEFAULT_BROKER_URL;
}

/** The admin bearer token the flags and environment select, if any. */
export function adminToken(values: { "admin-token"?: string | undefined }): string | undefined {
  const token = values["admin-token"] ?? process.env.POLYWIRE_ADMIN_TOKEN;
  return token === "" ? undefined : token;
}

/** An admin client of `url` (from {@link adminUrl}) as the flags ask for. */
export function openAdmin(url: string, values: { protocol?: string | undefined; http2?: boolean | undefined; timeout?: string | undefined; "admin-token"?: string | undefined }): AdminClient {
  const protocol = choiceFlag<AdminProtocol>("protocol", values.protocol, ["connect", "grpc", "grpc-web"], "connect");
  const token = adminToken(values);
  return createAdminClient(url, {
    ...(token === undefined ? {} : { token }),
    protocol,
    httpVersion: values.http2 === true || protocol === "grpc" ? "2" : "1.1",
    timeoutMs: integerFlag("timeout", values.timeout, 30_000),
  });
}

/** A data-plane client connected as the flags ask for. */
export function openClient(values: { broker?: string | undefined; timeout?: string | undefined; "connect-timeout"?: string | undefined; "max-frame-size"?: string | undefined }, clientId: string, signal?: AbortSignal): Promise<Client> {
  const requestTimeoutMs = integerFlag("timeout", values.timeout, 30_000);
  const connectTimeoutMs = integerFlag("connect-timeout", values["connect-timeout"], 5_000);
  const maxFrameSize = values["max-frame-size"] === undefined ? undefined : integerFlag("max-frame-size", values["max-frame-size"], 0);
  return connect(brokerUrl(values), {
    clientId,
    connectTimeoutMs,
    requestTimeoutMs,
    ...(maxFrameSize === undefined ? {} : { maxFrameSize }),
    ...(signal === undefined ? {} : { signal }),
  });
}
