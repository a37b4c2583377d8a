import { readFileSync } from "node:fs";
import { FrameKind, FrameKindSchema, Feature } from "@polywire/proto/session";
import { describe, expect, it } from "vitest";
import { frameKindTable, frameKinds, protocolTable, requestMethods, workStartingKinds } from "../src/index.js";

const spec = new URL("../../../spec/", import.meta.url);
const load = (path: string): any => JSON.parse(readFileSync(new URL(path, spec), "utf8"));
const kindNumber = (name: string): number => FrameKindSchema.values.find((v) => v.name === name)?.number ?? -1;

describe("the protocol table (spec §3.5)", () => {
  it("PW-SESS-021: every row equals spec/vectors/frame-kinds.json, generated from the table of spec §3.5", () => {
    const rows = load("vectors/frame-kinds.json").kinds as Array<{ value: number; message: string; sentBy: string; answeredBy: string | null; features: string[] }>;
    const mine = [...frameKindTable.values()].map((k) => ({
      value: k.kind,
      message: k.message.typeName,
      sentBy: k.sentBy,
      answeredBy: k.answeredBy ?? null,
      features: k.features.map((f) => `FEATURE_${Feature[f]}`),
    }));
    const theirs = rows.map((k) => ({
      value: k.value,
      message: k.message,
      sentBy: k.sentBy,
      answeredBy: k.answeredBy === null ? null : kindNumber(k.answeredBy),
      features: k.features,
    }));
    expect(mine).toEqual(theirs);
    expect([...frameKinds]).toEqual(rows.map((k) => k.value));
  });

  it("PW-SESS-015: the kinds that start work are exactly the requests the clause names (produce, publish, subscribe, register, call)", () => {
    const clause = (load("clauses.json").clauses as Array<{ id: string; text: string }>).find((c) => c.id === "PW-SESS-015");
    const named = /requests that start work \(([a-z, ]+)\)/.exec(clause?.text ?? "")?.[1]?.split(", ") ?? [];
    expect(named.length).toBeGreaterThan(0);
    // Each word names the one client request whose kind begins with it: "register" is REGISTER_RESPONDER_REQUEST.
    const requests = [...frameKindTable.values()].filter((k) => k.answeredBy !== undefined && k.sentBy !== "broker");
    const kinds = named.map((word) => {
      const matches = requests.filter((k) => (FrameKind[k.kind] as string).startsWith(word.toUpperCase()));
      expect(matches.map((k) => FrameKind[k.kind]), word).toHaveLength(1);
      return matches[0]?.kind;
    });
    expect([...workStartingKinds].sort((a, b) => a - b)).toEqual(kinds.sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(protocolTable[FrameKind.PRODUCE_REQUEST].startsWork).toBe(true);
    expect(protocolTable[FrameKind.FETCH_REQUEST].startsWork).toBe(false);
  });

  it("PW-SESS-012: every request a client sends after the handshake has its request and response schemas, from the answering row", () => {
    for (const info of frameKindTable.values()) {
      const method = (requestMethods as Record<number, (typeof requestMethods)[FrameKind.PING] | undefined>)[info.kind];
      const isRequest = info.answeredBy !== undefined && info.sentBy !== "broker" && info.kind !== FrameKind.HELLO;
      expect(method !== undefined, FrameKind[info.kind]).toBe(isRequest);
      if (method === undefined) continue;
      const answer = frameKindTable.get(info.answeredBy as number);
      expect([method.request.typeName, method.responseKind, method.response.typeName]).toEqual([info.message.typeName, answer?.kind, answer?.message.typeName]);
    }
  });
});
