/** The most credit a sender may hold (PW-RPC-042). */
export const MAX_CREDIT = 0xffff_ffff;

/** What a grant did: added to the credit, was ignored (credit unlimited), or would overflow 2^32-1. */
export type GrantResult = "granted" | "ignored" | "overflow";

/**
 * The credit of one direction of one call (§10.5): how many CallChunk
 * payload bytes the sender may still send. Payloads of CallRequest and
 * CallResponse are not counted (PW-RPC-041). Before the first grant the
 * sender has nothing; an `initial_credit` of 0 that is the first grant makes
 * it unlimited for the rest of the call.
 */
export class Credit {
  #granted = false;
  #unlimited = false;
  #available = 0;

  /** Bytes the sender may send; Infinity when unlimited. */
  get available(): number {
    return this.#unlimited ? Number.POSITIVE_INFINITY : this.#available;
  }

  get unlimited(): boolean {
    return this.#unlimited;
  }

  /** An `initial_credit` (CallRequest's, CallResponse's): unlimited when 0 and first, otherwise a grant like CallCredit. */
  initial(bytes: number): GrantResult {
    if (!this.#granted && bytes === 0) {
      this.#granted = true;
      this.#unlimited = true;
      return "granted";
    }
    return this.grant(bytes);
  }

  /** A CallCredit's `bytes` (PW-RPC-041); "overflow" changes nothing (PW-RPC-042). */
  grant(bytes: number): GrantResult {
    if (this.#unlimited) return "ignored";
    if (this.#available + bytes > MAX_CREDIT) return "overflow";
    this.#granted = true;
    this.#available += bytes;
    return "granted";
  }

  /** Spends `bytes` of credit; false (and nothing spent) when the sender has less (PW-RPC-042). */
  spend(bytes: number): boolean {
    if (this.#unlimited) return true;
    if (bytes > this.#available) return false;
    this.#available -= bytes;
    return true;
  }
}
