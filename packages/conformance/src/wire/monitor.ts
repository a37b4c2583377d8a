import { fromBinary } from "@bufbuild/protobuf";
import { ErrorCode, ErrorSchema, Feature, FrameKind } from "@polywire/proto/session";
import { ClauseViolation } from "../clause.js";
import { RESPONDER_LEG_KINDS, type CallLegs } from "./call-legs.js";
import { FRAME_KINDS } from "./frame-kinds.js";
import { HEADER_SIZE, type WireFrame } from "./frame.js";
import { codeName, kindName, LIMIT_CODES, RETRIABLE_CODES } from "./messages.js";

/** Unsolicited kinds allowed with correlation id 0 (PW-FRAME-010). */
const UNSOLICITED: ReadonlySet<number> = new Set([FrameKind.DELIVERY, FrameKind.SLOW_CONSUMER, FrameKind.GROUP_NOTICE, FrameKind.DRAIN, FrameKind.CLOSE, FrameKind.ERROR]);


/** What the monitor needs to know about the connection a frame came on. */
export interface ObservedConnection {
  /** Features granted in Welcome; undefined before the handshake completed. */
  readonly granted: ReadonlySet<Feature> | undefined;
  /** The request kinds sent with this correlation id and still awaiting an answer (usually one). */
  requestKinds(correlationId: number): readonly number[];
  /** The calls this connection started as caller (§10), when it started any. */
  readonly calls?: CallLegs;
}

/**
 * Checks every frame a broker sends against the rules that hold for all of
 * them, whatever the case is testing: sender-side framing, correlation ids,
 * features, and the Error table (retriable, limit, supported versions). A
 * case fails with the first rule it recorded broken.
 */
export class Monitor {
  readonly violations: ClauseViolation[] = [];
  /** Error codes seen, for the report. */
  readonly errorsSeen = new Map<number, number>();

  record(violation: ClauseViolation): void {
    if (this.violations.length < 20) this.violations.push(violation);
  }

  /** Checks one frame from the broker. */
  observe(frame: WireFrame, connection: ObservedConnection): void {
    const kind = kindName(frame.kind);
    if (frame.headerSize !== HEADER_SIZE) {
      this.record(new ClauseViolation("PW-FRAME-002", `the broker sent ${kind} with header_size ${frame.headerSize}; senders must write 16`));
    }
    const granted = connection.granted;
    // The Welcome itself is checked by the session that reads it, which knows what it grants.
    if (granted === undefined && frame.checksum && frame.kind !== FrameKind.WELCOME) {
      this.record(new ClauseViolation("PW-SESS-026", `the broker set CHECKSUM on ${kind} before Welcome`));
    }
    if (granted !== undefined && frame.checksum !== granted.has(Feature.FRAME_CHECKSUM)) {
      this.record(new ClauseViolation(frame.checksum ? "PW-SESS-005" : "PW-SESS-026", frame.checksum
        ? `the broker set CHECKSUM on ${kind} without granting FEATURE_FRAME_CHECKSUM`
        : `the broker sent ${kind} without CHECKSUM on a connection it granted FEATURE_FRAME_CHECKSUM`));
    }
    const info = FRAME_KINDS.get(frame.kind);
    if (info !== undefined && info.sentBy === "client") {
      this.record(new ClauseViolation("PW-SESS-021", `the broker sent ${kind}, which only clients send`));
    }
    const missing = info?.featureValues.find((f) => granted !== undefined && !granted.has(f));
    if (missing !== undefined) {
      this.record(new ClauseViolation("PW-SESS-005", `the broker sent ${kind} on a connection not granted ${Feature[missing]}`));
    }
    const id = frame.correlationId;
    if (id === 0) {
      if (!UNSOLICITED.has(frame.kind)) this.record(new ClauseViolation("PW-FRAME-010", `the broker sent ${kind} with correlation id 0, which marks unsolicited frames only`));
    } else if (id % 2 === 0) {
      // Even ids belong to broker-initiated calls and Pings (PW-SESS-024), or answer a client request sent with one on purpose (PW-FRAME-016).
      const answersOurs = frame.kind === FrameKind.ERROR && connection.requestKinds(id).length > 0;
      // A responder's leg of a call carries the broker-chosen even id in both directions (PW-RPC-011).
      if (!RESPONDER_LEG_KINDS.has(frame.kind) && frame.kind !== FrameKind.PING && !answersOurs) this.record(new ClauseViolation("PW-FRAME-010", `the broker sent ${kind} with even correlation id ${id}, which only broker-initiated calls and Pings carry`));
    } else if (granted !== undefined && connection.calls?.observe(frame.kind, id, frame.message, (v) => this.record(v)) === true) {
      // A frame of one of this connection's calls: checked by its CallLegs (PW-RPC-010, PW-RPC-044).
    } else if (granted !== undefined) {
      const requested = connection.requestKinds(id);
      if (requested.length === 0) {
        this.record(new ClauseViolation("PW-FRAME-011", `the broker sent ${kind} with correlation id ${id}, which names no request awaiting an answer`));
      } else if (frame.kind !== FrameKind.ERROR && !requested.some((k) => frame.kind === k + 1)) {
        this.record(new ClauseViolation("PW-FRAME-011", `the broker answered ${requested.map(kindName).join(" or ")} (correlation id ${id}) with ${kind}`));
      }
    }
    if (frame.kind === FrameKind.ERROR) this.#observeError(frame);
  }

  #observeError(frame: WireFrame): void {
    let error;
    try {
      error = fromBinary(ErrorSchema, frame.message);
    } catch {
      this.record(new ClauseViolation("PW-FRAME-008", `the broker sent an Error frame whose message does not decode`));
      return;
    }
    this.errorsSeen.set(error.code, (this.errorsSeen.get(error.code) ?? 0) + 1);
    const name = codeName(error.code);
    if (error.code === ErrorCode.UNSPECIFIED) {
      this.record(new ClauseViolation("PW-ERR-001", "the broker sent an Error frame with ERROR_CODE_UNSPECIFIED"));
      return;
    }
    if (error.code === ErrorCode.CONNECTION_LOST) this.record(new ClauseViolation("PW-ERR-004", "the broker sent ERROR_CODE_CONNECTION_LOST"));
    if (error.code in ErrorCode && error.retriable !== RETRIABLE_CODES.has(error.code)) {
      this.record(new ClauseViolation("PW-SESS-013", `${name} came with retriable ${error.retriable}`));
    }
    if (LIMIT_CODES.has(error.code) && error.limit === 0n) this.record(new ClauseViolation("PW-ERR-003", `${name} came without Error.limit`));
    if (error.code === ErrorCode.UNSUPPORTED_VERSION && error.supportedVersions === undefined) {
      this.record(new ClauseViolation("PW-SESS-004", "ERROR_CODE_UNSUPPORTED_VERSION came without supported_versions"));
    }
    if (error.requestCorrelationId !== 0 && (frame.correlationId !== 0 || error.code !== ErrorCode.INVALID_ARGUMENT)) {
      this.record(new ClauseViolation("PW-ERR-003", `${name} on correlation id ${frame.correlationId} came with request_correlation_id ${error.requestCorrelationId}, which only the connection-level INVALID_ARGUMENT of PW-FRAME-016 carries`));
    }
    if (error.code !== ErrorCode.UNSUPPORTED_VERSION && error.supportedVersions !== undefined) {
      this.record(new ClauseViolation("PW-ERR-003", `${name} came with supported_versions, which only UNSUPPORTED_VERSION carries`));
    }
  }
}
