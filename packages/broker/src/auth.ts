import { timingSafeEqual } from "node:crypto";
import type { TransportScheme } from "@polywire/core";

/** One step of a server-side SASL exchange. */
export type SaslStep =
  | { readonly kind: "challenge"; readonly data: Uint8Array }
  | { readonly kind: "success"; readonly principal: string; readonly finalData?: Uint8Array }
  | { readonly kind: "failure" };

/** One client's run through a mechanism: called with each response. */
export interface SaslExchange {
  /**
   * Called first with Hello's initial response (undefined when Hello has
   * none), then with each AuthResponse.
   */
  step(response: Uint8Array | undefined): SaslStep | Promise<SaslStep>;
}

/** A server-side SASL mechanism (PW-AUTH-001). */
export interface ServerSaslMechanism {
  /** The name clients put in `Hello.auth_mechanism`. */
  readonly name: string;
  /** Transports it may run over; default all. PLAIN defaults to tls, unix, wss and memory (PW-AUTH-005). */
  readonly transports?: readonly TransportScheme[];
  /** Starts one client's exchange. */
  start(): SaslExchange;
}

/** Authentication settings of a broker. Without any, connections are anonymous. */
export interface BrokerAuthOptions {
  /** PLAIN (RFC 4616): a username → password map, or a check function. */
  plain?: Readonly<Record<string, string>> | ((username: string, password: string) => boolean | Promise<boolean>);
  /** TOKEN: returns the principal of a valid bearer token, or null. */
  token?: (token: string) => string | null | Promise<string | null>;
  /** Further mechanisms, for example a challenge-response one. */
  mechanisms?: readonly ServerSaslMechanism[];
  /** Accept PLAIN over plain TCP and ws:// too (PW-AUTH-005 says SHOULD NOT). Default false. */
  allowPlainWithoutTls?: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function equalSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare equal lengths only, but always spend a comparison, so timing does not reveal the length check.
  return timingSafeEqual(x.length === y.length ? x : y, y) && x.length === y.length;
}

function plainMechanism(check: NonNullable<BrokerAuthOptions["plain"]>, transports: readonly TransportScheme[] | undefined): ServerSaslMechanism {
  const verify = typeof check === "function"
    ? check
    : (user: string, password: string): boolean => {
      const expected = Object.hasOwn(check, user) ? check[user] as string : undefined;
      return equalSecret(password, expected ?? "\u0000invalid") && expected !== undefined;
    };
  return {
    name: "PLAIN",
    ...(transports === undefined ? {} : { transports }),
    start: () => ({
      async step(response): Promise<SaslStep> {
        // RFC 4616: an absent initial response gets an empty challenge.
        if (response === undefined) return { kind: "challenge", data: new Uint8Array(0) };
        let text: string;
        try {
          text = decoder.decode(response);
        } catch {
          return { kind: "failure" };
        }
        const parts = text.split("\u0000");
        if (parts.length !== 3) return { kind: "failure" };
        const [authzid, user, password] = parts as [string, string, string];
        if (user === "" || (authzid !== "" && authzid !== user)) return { kind: "failure" };
        return (await verify(user, password)) ? { kind: "success", principal: user } : { kind: "failure" };
      },
    }),
  };
}

function tokenMechanism(verify: NonNullable<BrokerAuthOptions["token"]>): ServerSaslMechanism {
  return {
    name: "TOKEN",
    start: () => ({
      async step(response): Promise<SaslStep> {
        if (response === undefined) return { kind: "challenge", data: new Uint8Array(0) };
        let token: string;
        try {
          token = decoder.decode(response);
        } catch {
          return { kind: "failure" };
        }
        const principal = token === "" ? null : await verify(token);
        return principal === null ? { kind: "failure" } : { kind: "success", principal };
      },
    }),
  };
}

/** The mechanisms a broker offers, by name. Empty when authentication is off. */
export function buildMechanisms(options: BrokerAuthOptions | undefined): Map<string, ServerSaslMechanism> {
  const map = new Map<string, ServerSaslMechanism>();
  if (options === undefined) return map;
  if (options.plain !== undefined) {
    const transports: TransportScheme[] | undefined = options.allowPlainWithoutTls ? undefined : ["tls", "unix", "wss", "memory", "worker"];
    map.set("PLAIN", plainMechanism(options.plain, transports));
  }
  if (options.token !== undefined) map.set("TOKEN", tokenMechanism(options.token));
  for (const m of options.mechanisms ?? []) map.set(m.name, m);
  return map;
}
