import { readFileSync } from "node:fs";
import { ErrorCode } from "@polywire/proto/session";
import { describe, expect, it } from "vitest";
import { PolywireError, errorCodeName, isRetriableCode } from "../src/index.js";

// The codes PW-SESS-013 lists, as spec/clauses.json (generated from the spec)
// gives its text; spec/test checks that they are the §12 table's "retriable" column.
function specRetriable(): string[] {
  const clauses = JSON.parse(readFileSync(new URL("../../../spec/clauses.json", import.meta.url), "utf8")) as { clauses: Array<{ id: string; text: string }> };
  const text = clauses.clauses.find((c) => c.id === "PW-SESS-013")?.text ?? "";
  return [...text.matchAll(/ERROR_CODE_([A-Z_]+)/g)].map((m) => m[1] as string);
}

describe("PolywireError", () => {
  it("PW-SESS-013: retriable exactly for the codes the spec lists as retriable", () => {
    const retriable = specRetriable();
    expect(retriable.length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(ErrorCode)) {
      if (typeof value !== "number" || value === 0) continue;
      const error = new PolywireError(name as never, "x");
      expect(error.retriable, name).toBe(retriable.includes(name));
      expect(isRetriableCode(name as never)).toBe(retriable.includes(name));
      expect(error.wireCode).toBe(value);
    }
  });

  it("PW-SESS-014: an unknown wire code is handled as INTERNAL and keeps its number", () => {
    expect(errorCodeName(9999)).toBe("INTERNAL");
    expect(errorCodeName(0)).toBe("INTERNAL");
    expect(errorCodeName(32)).toBe("UNKNOWN_TOPIC");
    const error = new PolywireError(errorCodeName(9999), "from the future", { wireCode: 9999 });
    expect(error.code).toBe("INTERNAL");
    expect(error.wireCode).toBe(9999);
  });

  it("instanceof survives a second copy of the class", () => {
    const error = new PolywireError("UNKNOWN_TOPIC", "no such topic", { limit: 5 });
    // A structurally separate object carrying the brand, as another package copy would make.
    const foreign: object = Object.create(Error.prototype);
    Object.defineProperty(foreign, Symbol.for("@polywire/runtime/PolywireError"), { value: true });
    expect(error).toBeInstanceOf(PolywireError);
    expect(error).toBeInstanceOf(Error);
    expect(foreign instanceof PolywireError).toBe(true);
    expect(new Error("plain") instanceof PolywireError).toBe(false);
    expect((null as unknown) instanceof PolywireError).toBe(false);
    expect(error.limit).toBe(5n);
    expect(error.name).toBe("PolywireError");
  });

  it("from() maps codec errors, aborts and timeouts to stable codes", () => {
    const codec = Object.assign(new Error("bad crc"), { name: "CodecError", code: "CORRUPT_BATCH" });
    expect(PolywireError.from(codec).code).toBe("CORRUPT_BATCH");
    expect(PolywireError.from(codec).cause).toBe(codec);
    const uninitialised = Object.assign(new Error("init first"), { name: "CodecError", code: "NOT_INITIALIZED" });
    expect(PolywireError.from(uninitialised).code).toBe("INTERNAL");
    expect(PolywireError.from(new DOMException("t", "TimeoutError")).code).toBe("TIMEOUT");
    expect(PolywireError.from(new DOMException("a", "AbortError")).code).toBe("CANCELLED");
    expect(PolywireError.from("text", "STORAGE").code).toBe("STORAGE");
  });
});
