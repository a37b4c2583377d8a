import { create, toBinary } from "@bufbuild/protobuf";
import {
  AuthChallengeSchema, AuthResponseSchema, Feature, FrameKind, HelloSchema, WelcomeSchema, type Limits, type Welcome,
} from "@polywire/proto/session";
import {
  decodeMessage, errorFromFrame, frameSize, MIN_MAX_FRAME_SIZE, PolywireError, PROTOCOL_VERSION, type FrameChannel,
} from "@polywire/core";
import { DEFAULT_MAX_FRAME_SIZE, type Frame } from "@polywire/wasm-codec";
import type { ConnectionOptions } from "./connection-options.js";
import type { SaslMechanism } from "./sasl.js";

const EMPTY = new Uint8Array(0);
const SOFTWARE = { name: "@polywire/runtime", version: "0.1.0" };
// Only what this client implements: a broker grants a subset of what is
// asked (PW-SESS-005) and may then send that feature's frames, so asking
// for a plane without its API invites frames nobody reads. A plane joins
// the list with its API.
const DEFAULT_FEATURES: readonly Feature[] = [Feature.LOG, Feature.IDEMPOTENCE, Feature.DRAIN_NOTICE, Feature.GROUPS, Feature.GROUP_NOTICE, Feature.PUBSUB, Feature.SLOW_CONSUMER_NOTICE, Feature.REQUEST_REPLY];
/** The `max_in_flight` a broker's Welcome stands for when it leaves it 0. */
export const DEFAULT_MAX_IN_FLIGHT_LIMIT = 1024;

/** The broker limits a client works with. */
export type BrokerLimits = Required<Pick<Limits, "maxFrameSize" | "maxBatchSize" | "idempotenceWindow" | "maxInFlight" | "maxUncompressedBatchSize">>;

/** The broker's limits from its Welcome, with the spec's defaults for fields left 0. */
export function welcomeLimits(welcome: Welcome): BrokerLimits {
  const l = welcome.limits;
  return {
    maxFrameSize: l?.maxFrameSize || DEFAULT_MAX_FRAME_SIZE,
    maxBatchSize: l?.maxBatchSize || 8 * 1024 * 1024,
    idempotenceWindow: l?.idempotenceWindow || 5,
    maxInFlight: l?.maxInFlight || DEFAULT_MAX_IN_FLIGHT_LIMIT,
    maxUncompressedBatchSize: l?.maxUncompressedBatchSize || 64 * 1024 * 1024,
  };
}

/** The features a Hello asks for: the options', or the defaults plus FRAME_CHECKSUM when checksumming. */
export function requestedFeatures(options: ConnectionOptions): readonly Feature[] {
  return options.features ?? (options.checksum === true ? [...DEFAULT_FEATURES, Feature.FRAME_CHECKSUM] : DEFAULT_FEATURES);
}

/** What the handshake sends besides the options: the features asked for and the frame limit advertised. */
export interface HandshakeRequest {
  readonly options: ConnectionOptions;
  readonly features: readonly Feature[];
  readonly maxFrameSize: number;
  readonly mechanism: SaslMechanism | undefined;
}

/**
 * The client's side of the handshake (§3.1, §3.2): sends Hello, answers
 * AuthChallenges with the SASL mechanism, and checks the Welcome (version,
 * features granted, PW-SESS-005; advertised frame limit, PW-FRAME-020).
 * Every frame that arrives before Welcome goes to {@link onFrame}.
 */
export class ClientHandshake {
  /** Resolves with the checked Welcome; rejects with the broker's Error or why the Welcome was refused. */
  readonly welcome: Promise<Welcome>;
  readonly #channel: FrameChannel;
  readonly #request: HandshakeRequest;
  readonly #signal: AbortSignal;
  readonly #onAbort = (): void => this.fail(PolywireError.from(this.#signal.reason, "CANCELLED"));
  #resolve!: (welcome: Welcome) => void;
  #reject!: (error: PolywireError) => void;
  #settled = false;

  /** Starts the handshake on `channel`; `signal` aborts it. */
  constructor(channel: FrameChannel, request: HandshakeRequest, signal: AbortSignal) {
    this.#channel = channel;
    this.#request = request;
    this.#signal = signal;
    this.welcome = new Promise<Welcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    signal.addEventListener("abort", this.#onAbort, { once: true });
    this.#sendHello().catch((error: unknown) => this.fail(PolywireError.from(error, "AUTHENTICATION_FAILED")));
  }

  /** True once Welcome was accepted or the handshake failed. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Fails the handshake with `error` (a lost connection, a refused Welcome, an abort). */
  fail(error: PolywireError): void {
    if (this.#settle()) this.#reject(error);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#signal.removeEventListener("abort", this.#onAbort);
    return true;
  }

  async #sendHello(): Promise<void> {
    const { options: o, mechanism } = this.#request;
    const initial = mechanism?.initialResponse === undefined ? EMPTY : await mechanism.initialResponse();
    const hello = create(HelloSchema, {
      versions: { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION },
      features: [...this.#request.features],
      clientId: o.clientId ?? "polywire-ts",
      software: o.software ?? SOFTWARE,
      authMechanism: mechanism?.mechanism ?? "",
      authInitialResponse: initial,
      maxFrameSize: this.#request.maxFrameSize,
    });
    const bytes = toBinary(HelloSchema, hello);
    if (frameSize(bytes.byteLength, 0, this.#channel.checksum) > MIN_MAX_FRAME_SIZE) {
      throw new PolywireError("INVALID_ARGUMENT", `the Hello would be larger than ${MIN_MAX_FRAME_SIZE} bytes (PW-FRAME-020): shorten the client id or the initial authentication response`);
    }
    this.#channel.write(FrameKind.HELLO, 1, bytes);
  }

  /** A frame that arrived before Welcome: Welcome, an AuthChallenge, or an Error that ends the handshake. */
  onFrame(frame: Frame): void {
    if (this.#settled) return;
    if (frame.kind === FrameKind.WELCOME && frame.correlationId === 1) {
      this.#onWelcome(frame);
    } else if (frame.kind === FrameKind.AUTH_CHALLENGE && frame.correlationId === 1) {
      this.#onChallenge(frame);
    } else if (frame.kind === FrameKind.ERROR) {
      this.fail(errorFromFrame(frame));
    } else {
      this.fail(new PolywireError("HANDSHAKE_REQUIRED", `broker sent frame kind ${frame.kind} before Welcome`));
    }
  }

  #onWelcome(frame: Frame): void {
    let welcome: Welcome;
    try {
      welcome = decodeMessage(WelcomeSchema, frame.message);
    } catch (cause) {
      this.fail(new PolywireError("MALFORMED_FRAME", "cannot decode Welcome", { cause }));
      return;
    }
    const advertised = welcome.limits?.maxFrameSize ?? 0;
    if (advertised !== 0 && advertised < MIN_MAX_FRAME_SIZE) {
      this.fail(new PolywireError("MALFORMED_FRAME", `broker advertised max_frame_size ${advertised}, below the minimum ${MIN_MAX_FRAME_SIZE} (PW-FRAME-020)`));
      return;
    }
    if (welcome.version !== PROTOCOL_VERSION) {
      this.fail(new PolywireError("UNSUPPORTED_VERSION", `broker selected version ${welcome.version}, this client speaks ${PROTOCOL_VERSION}`));
      return;
    }
    const asked = new Set(this.#request.features);
    const extra = welcome.features.filter((f) => !asked.has(f));
    if (extra.length > 0) {
      this.fail(new PolywireError("FEATURE_NOT_NEGOTIATED", `broker granted features that were not requested: ${extra.join(", ")} (PW-SESS-005)`));
      return;
    }
    if (this.#settle()) this.#resolve(welcome);
  }

  #onChallenge(frame: Frame): void {
    const mechanism = this.#request.mechanism;
    if (mechanism?.challenge === undefined) {
      this.fail(new PolywireError("AUTHENTICATION_FAILED", "broker sent an AuthChallenge the mechanism cannot answer"));
      return;
    }
    const answer = mechanism.challenge.bind(mechanism);
    Promise.resolve()
      .then(() => answer(decodeMessage(AuthChallengeSchema, frame.message).challenge))
      .then((response) => {
        if (this.#settled) return;
        this.#channel.write(FrameKind.AUTH_RESPONSE, 1, toBinary(AuthResponseSchema, create(AuthResponseSchema, { response })));
      })
      .catch((error: unknown) => this.fail(PolywireError.from(error, "AUTHENTICATION_FAILED")));
  }
}
