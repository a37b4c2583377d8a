import { PolywireError } from "@polywire/core";

/**
 * A SASL mechanism on the client side (PW-AUTH-001): its name, an optional
 * initial response sent in Hello, and an answer to each AuthChallenge.
 */
export interface SaslMechanism {
  /** The mechanism name sent in `Hello.auth_mechanism`. */
  readonly mechanism: string;
  /** The initial response for `Hello.auth_initial_response`, if any. */
  initialResponse?(): Uint8Array | Promise<Uint8Array>;
  /** Answers one AuthChallenge round. */
  challenge?(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** PLAIN credentials (RFC 4616). */
export interface PlainCredentials {
  readonly mechanism: "PLAIN";
  readonly username: string;
  readonly password: string;
  /** Identity to act as; default empty (the username itself). */
  readonly authzid?: string;
}

/** A bearer token for the TOKEN mechanism; a function is called on each connect. */
export interface TokenCredentials {
  readonly mechanism: "TOKEN";
  readonly token: string | (() => string | Promise<string>);
}

/** Authentication settings of a connection. */
export type AuthOptions = PlainCredentials | TokenCredentials | SaslMechanism;

const encoder = new TextEncoder();

/**
 * Encodes a PLAIN initial response: `authzid NUL authcid NUL password`
 * (RFC 4616). NUL inside any part is rejected, since it would shift the
 * fields.
 */
export function encodePlain(username: string, password: string, authzid = ""): Uint8Array {
  for (const [what, value] of [["authzid", authzid], ["username", username], ["password", password]] as const) {
    if (value.includes("\u0000")) throw new PolywireError("INVALID_ARGUMENT", `PLAIN ${what} must not contain NUL`);
  }
  if (username === "") throw new PolywireError("INVALID_ARGUMENT", "PLAIN username must not be empty");
  return encoder.encode(`${authzid}\u0000${username}\u0000${password}`);
}

/** Turns {@link AuthOptions} into the mechanism the handshake runs. */
export function toMechanism(auth: AuthOptions): SaslMechanism {
  if ("username" in auth && auth.mechanism === "PLAIN") {
    const bytes = encodePlain(auth.username, auth.password, auth.authzid);
    return { mechanism: "PLAIN", initialResponse: () => bytes };
  }
  if ("token" in auth && auth.mechanism === "TOKEN") {
    const token = auth.token;
    return {
      mechanism: "TOKEN",
      initialResponse: async () => encoder.encode(typeof token === "function" ? await token() : token),
    };
  }
  return auth as SaslMechanism;
}
