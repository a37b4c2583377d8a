import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The workspace packages as floors, lowest first: a package may depend only
// on packages of lower floors, so no arrow runs up and no two packages
// depend on each other. The broker and the client stand side by side on the
// protocol core; neither depends on the other.
const FLOORS: ReadonlyArray<readonly string[]> = [
  ["@polywire/proto"],
  ["@polywire/wasm-codec"],
  ["@polywire/core"],
  ["@polywire/runtime", "@polywire/broker"],
  ["@polywire/conformance"],
  ["@polywire/cli"],
];

const root = new URL("../../", import.meta.url);
const FOLDERS = ["gen/ts", ...readdirSync(new URL("packages/", root)).map((name) => `packages/${name}`)];

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function manifest(folder: string): Manifest {
  return JSON.parse(readFileSync(new URL(`${folder}/package.json`, root), "utf8")) as Manifest;
}

function floor(name: string): number {
  const index = FLOORS.findIndex((names) => names.includes(name));
  if (index < 0) throw new Error(`${name} is on no floor: add it to FLOORS`);
  return index;
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) yield* sources(join(dir, entry.name));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) yield join(dir, entry.name);
  }
}

/** The workspace packages a package's sources import, without subpaths. */
function importedPackages(folder: string): Set<string> {
  const found = new Set<string>();
  for (const file of sources(new URL(`${folder}/src`, root).pathname)) {
    for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      const match = /^(@polywire\/[^/]+)/.exec(fileName);
      if (match !== null) found.add(match[1] as string);
    }
  }
  return found;
}

describe("the workspace package graph", () => {
  const packages = FOLDERS.filter((f) => f !== "gen/ts").map((folder) => ({ folder, manifest: manifest(folder) }));

  it("every runtime dependency between workspace packages points to a lower floor: no arrow runs up, no cycle", () => {
    const upward: string[] = [];
    for (const { manifest: m } of packages) {
      const deps = Object.keys({ ...m.dependencies, ...m.peerDependencies }).filter((d) => d.startsWith("@polywire/"));
      for (const dep of deps) if (floor(dep) >= floor(m.name)) upward.push(`${m.name} -> ${dep}`);
    }
    expect(upward).toEqual([]);
  });

  it("the broker does not depend on the client, nor the client on the broker: both stand on @polywire/core", () => {
    const deps = (name: string): string[] => {
      const m = packages.find((p) => p.manifest.name === name)?.manifest;
      return Object.keys({ ...m?.dependencies, ...m?.peerDependencies });
    };
    expect(deps("@polywire/broker")).not.toContain("@polywire/runtime");
    expect(deps("@polywire/runtime")).not.toContain("@polywire/broker");
    expect(deps("@polywire/broker")).toContain("@polywire/core");
    expect(deps("@polywire/runtime")).toContain("@polywire/core");
  });

  it("every workspace package a package's sources import is one it declares (dependencies or peer dependencies)", () => {
    const undeclared: string[] = [];
    for (const { folder, manifest: m } of packages) {
      const declared = new Set(Object.keys({ ...m.dependencies, ...m.peerDependencies }));
      for (const name of importedPackages(folder)) if (name !== m.name && !declared.has(name)) undeclared.push(`${folder}/src imports ${name}`);
    }
    expect(undeclared).toEqual([]);
  });
});
