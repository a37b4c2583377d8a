// The spec text, the proto comments and the vectors say the same things in
// three places; these tests make them agree where a program can tell.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { registry } from "./support/registry.js";

const root = new URL("../../", import.meta.url);
const specText = readFileSync(new URL("spec/polywire-v1.md", root), "utf8");
const protoDir = new URL("proto/polywire/v1/", root);
const protoFiles = readdirSync(protoDir).filter((f) => f.endsWith(".proto"));
// The vector files are JSON described in their own `description`, read loosely typed.
type Json = any;
const adminVectors: Json[] = JSON.parse(readFileSync(new URL("spec/vectors/admin.json", root), "utf8")).vectors;
const vector = (name: string): Json => {
  const found = adminVectors.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no admin vector ${name}`);
  return found.json;
};

/** The rows of the first Markdown table after `heading`, as trimmed cells. */
function tableAfter(heading: string): string[][] {
  const start = specText.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const lines = specText.slice(start).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split("|").map((c) => c.trim()));
  }
  return rows;
}

/** The topic config keys of §11.3 and their defaults (the first word of the "default" column). */
function configTable(): Map<string, string> {
  const rows = tableAfter("### 11.3 Topic configuration");
  return new Map(rows.map((r) => [(r[0] as string).replace(/`/g, ""), ((r[2] as string).split(" ")[0] as string).replace(/`/g, "")]));
}

describe("spec, proto comments and vectors agree", () => {
  it("PW-SESS-021/PW-FRAME-008: the frame kind table of §3.5 lists every FrameKind, its number, the message named after it and known features", () => {
    const rows = tableAfter("### 3.5 Frame kinds and features");
    const kinds = registry.getEnum("polywire.v1.FrameKind")!.values.filter((v) => v.number !== 0);
    expect(rows.map((r) => [Number(r[0]), r[1]])).toEqual(kinds.map((v) => [v.number, v.name]));
    const features = new Set(registry.getEnum("polywire.v1.Feature")!.values.map((v) => v.name));
    for (const [, kind, message, sentBy, answeredBy, featureList] of rows) {
      const pascal = (kind as string).replace(/^FRAME_KIND_/, "").toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
      expect(message, kind).toBe(pascal);
      expect(registry.getMessage(`polywire.v1.${message}`), `${kind}: message ${message}`).toBeDefined();
      expect(["client", "broker", "both"], kind).toContain(sentBy);
      expect(answeredBy === "—" || kinds.some((v) => v.name === answeredBy), `${kind}: answered by ${answeredBy}`).toBe(true);
      for (const feature of featureList === "—" ? [] : (featureList as string).split(", ")) {
        expect(features.has(feature), `${kind}: feature ${feature}`).toBe(true);
      }
    }
  });

  it("PW-ADMIN-020: the TopicConfig comment of admin.proto names exactly the config keys of §11.3", () => {
    const proto = readFileSync(new URL("admin.proto", protoDir), "utf8");
    const comment = /((?:\/\/.*\n)+)message TopicConfig \{/.exec(proto)?.[1] ?? "";
    const named = [...comment.matchAll(/"([a-z.]+)"/g)].map((m) => m[1]);
    expect(named.sort()).toEqual([...configTable().keys()].sort());
  });

  it("PW-ADMIN-020: the topic-config vector holds every key of §11.3 with its default", () => {
    expect(vector("topic-config").entries).toEqual(Object.fromEntries(configTable()));
  });

  it("PW-ADMIN-010 PW-ADMIN-015: a TopicDescription vector marked internal names an internal topic", () => {
    for (const v of adminVectors) {
      const topic = v.json.topic ?? (v.type === "polywire.v1.TopicDescription" ? v.json : undefined);
      if (topic?.internal === true) expect(topic.name, v.name).toMatch(/^__/);
    }
  });

  it("PW-ADMIN-011 PW-ADMIN-012: create-topic-response describes the topic of create-topic-request, just created", () => {
    const request = vector("create-topic-request");
    const { topic } = vector("create-topic-response");
    expect(topic.name).toBe(request.name);
    expect(topic.partitioner).toBe("murmur2");
    expect(topic.internal ?? false).toBe(false);
    // Canonical JSON omits zeros: a new partition shows no offsets and no size.
    expect(topic.partitions.map((p: Json) => [p.partition ?? 0, p.logStartOffset ?? "0", p.highWatermark ?? "0", p.sizeBytes ?? "0"])).toEqual(
      Array.from({ length: request.partitions }, (_, i) => [i, "0", "0", "0"]),
    );
    expect(topic.config.entries).toEqual({ ...Object.fromEntries(configTable()), ...request.config });
  });

  it("PW-ADMIN-016 PW-ADMIN-017: alter-topic-config-response is that topic after alter-topic-config-request", () => {
    const created = vector("create-topic-response").topic;
    const request = vector("alter-topic-config-request");
    const { topic } = vector("alter-topic-config-response");
    expect(topic.name).toBe(request.name);
    const expected = { ...created.config.entries, ...request.set };
    for (const key of request.reset) expected[key] = configTable().get(key);
    expect(topic.config.entries).toEqual(expected);
    expect(topic.partitions.map((p: Json) => p.partition ?? 0)).toEqual(Array.from({ length: request.partitions }, (_, i) => i));
    for (const p of topic.partitions.slice(created.partitions.length)) expect(p.highWatermark ?? "0", `new partition ${p.partition}`).toBe("0");
  });

  it("PW-COMPAT-010: every clause a proto comment cites exists in the spec", () => {
    const clauses = new Set([...specText.matchAll(/^- \*\*(PW-[A-Z]+-\d{3})\*\*/gm)].map((m) => m[1]));
    for (const file of protoFiles) {
      const text = readFileSync(new URL(file, protoDir), "utf8");
      const cited = [...text.matchAll(/PW-[A-Z]+-\d{3}/g)].map((m) => m[0]);
      expect(cited.filter((id) => !clauses.has(id)), file).toEqual([]);
    }
  });
});
