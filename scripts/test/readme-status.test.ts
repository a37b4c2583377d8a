// The README's "What works now" table must stay true as planes land: its
// broker column says "yes" exactly for the planes whose features the
// reference broker grants in its Welcome, and its conformance column "yes"
// exactly for the planes the suite has cases for. One row per plane of the
// conformance report, under the report's plane titles.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AREAS, ALL_CASES, PLANE_TITLES, type PlaneId } from "@polywire/conformance";
import { Broker } from "@polywire/broker";
import { Feature } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { createAdminClient } from "@polywire/runtime/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./snippets.js";

interface Row {
  readonly plane: string;
  readonly broker: string;
  readonly conformance: string;
}

function statusTable(): Row[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.split(/^## What works now$/m)[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error('README.md has no "## What works now" section');
  const cells = section
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
  const header = cells[0] ?? [];
  const column = (prefix: string): number => {
    const index = header.findIndex((h) => h.startsWith(prefix));
    if (index < 0) throw new Error(`the status table has no "${prefix}..." column: ${header.join(" | ")}`);
    return index;
  };
  const [plane, broker, conformance] = [column("plane"), column("reference broker"), column("conformance")];
  return cells.slice(2).map((row) => ({ plane: row[plane] ?? "", broker: row[broker] ?? "", conformance: row[conformance] ?? "" }));
}

/** The features a plane's areas need (none for the session and admin planes). */
function featuresOf(plane: PlaneId): Feature[] {
  return [...new Set(Object.values(AREAS).flatMap((a) => (a.plane === plane && a.feature !== undefined ? [a.feature] : [])))];
}

const says = (cell: string): boolean => {
  if (/^yes\b/i.test(cell)) return true;
  if (/^no\b/i.test(cell)) return false;
  throw new Error(`a status cell must start with "yes" or "no": ${JSON.stringify(cell)}`);
};

let broker: Broker;
let granted: ReadonlySet<Feature>;

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
  const asked = Object.values(Feature).filter((f): f is Feature => typeof f === "number" && f !== Feature.UNSPECIFIED);
  const conn = await Connection.connect(broker.urls[0] as string, { features: asked });
  try {
    granted = new Set(conn.welcome.features);
  } finally {
    await conn.close();
  }
});

afterAll(async () => {
  await broker?.close();
});

describe("README.md: What works now", () => {
  const rows = statusTable();
  const planes = Object.entries(PLANE_TITLES) as [PlaneId, string][];

  it("has one row per plane of the conformance report, titled as the report titles it", () => {
    expect(rows.map((r) => r.plane)).toEqual(planes.map(([, title]) => title));
  });

  for (const [plane, title] of planes) {
    it(`${title}: the broker column says what the reference broker grants`, async () => {
      const row = rows.find((r) => r.plane === title) as Row;
      const features = featuresOf(plane);
      const implemented = features.every((f) => granted.has(f));
      expect(says(row.broker), `granted: ${[...granted].map((f) => Feature[f]).join(" ")}; the plane needs: ${features.map((f) => Feature[f]).join(" ") || "nothing"}`).toBe(implemented);
      if (plane === "admin") {
        // The admin plane is served when a call answers, not when a URL exists.
        const admin = createAdminClient(broker.httpUrl as string);
        try {
          expect(Array.isArray(await admin.listTopics())).toBe(true);
        } finally {
          await admin.close();
        }
      }
    });

    it(`${title}: the conformance column says whether the suite has cases for it`, () => {
      const row = rows.find((r) => r.plane === title) as Row;
      expect(says(row.conformance)).toBe(ALL_CASES.some((c) => c.plane === plane));
    });
  }
});
