import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The suite's floors, lowest first: a module imports only from its own
// room or from rooms on a lower floor, so the suite's error type never sits
// above the wire code that throws it, and the runner knows no case.
const FLOORS: ReadonlyArray<readonly string[]> = [
  ["clause.ts"],
  ["wire", "history"],
  ["batch", "client"],
  ["runner"],
  ["model"],
  ["planes"],
  ["target", "report"],
  ["suite.ts", "index.ts"],
  // The optional entry points: the only rooms that may load the reference implementation.
  ["adapters", "embedded"],
];
const PRODUCT = ["@polywire/broker", "@polywire/core", "@polywire/runtime"];
const OPTIONAL_ENTRIES = ["adapters", "embedded"];

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** The room of a file (a path under src/): its folder, or the file itself at the top. */
function room(path: string): string {
  return path.split("/")[0] as string;
}

function floor(of: string): number {
  const index = FLOORS.findIndex((rooms) => rooms.includes(of));
  if (index < 0) throw new Error(`src/${of} is on no floor: add it to FLOORS`);
  return index;
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

function imports(): { local: Edge[]; packages: Edge[] } {
  const local: Edge[] = [];
  const packages: Edge[] = [];
  for (const file of sources(SRC)) {
    for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      const from = relative(SRC, file);
      if (fileName.startsWith(".")) local.push({ from, to: relative(SRC, resolve(dirname(file), fileName)).replace(/\.js$/, ".ts") });
      else packages.push({ from, to: fileName });
    }
  }
  return { local, packages };
}

describe("the suite's own module graph", () => {
  const { local, packages } = imports();

  it("has imports only from the same room or a lower floor", () => {
    const upward = local.filter((e) => room(e.from) !== room(e.to) && floor(room(e.to)) > floor(room(e.from)));
    expect(upward.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it("has no circle between rooms of one floor", () => {
    const across = local.filter((e) => room(e.from) !== room(e.to) && floor(room(e.to)) === floor(room(e.from)));
    const mutual = across.filter((e) => across.some((back) => room(back.from) === room(e.to) && room(back.to) === room(e.from)));
    expect(mutual.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it("loads the reference broker and client only from the optional entry points", () => {
    const product = packages.filter((e) => PRODUCT.some((p) => e.to === p || e.to.startsWith(`${p}/`)) && !OPTIONAL_ENTRIES.includes(room(e.from)));
    expect(product.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it("sees every import it judges (the check reads real edges)", () => {
    expect(local.some((e) => e.from === "wire/session.ts" && e.to === "clause.ts")).toBe(true);
    expect(local.filter((e) => e.from.startsWith("planes/")).map((e) => floor(room(e.to)))).toContain(floor("runner"));
    expect(packages.some((e) => e.from.startsWith("embedded/") && e.to === "@polywire/broker")).toBe(true);
  });
});
