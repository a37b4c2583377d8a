import { ErrorCode, FrameKindSchema, FrameKind } from "@polywire/proto/session";
import { check } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import { expectErrorFrame } from "../expect.js";

/** The `kind` label values PW-ADMIN-045 allows: FrameKind value names as session.proto spells them, and `unknown`. */
const KIND_LABELS: ReadonlySet<string> = new Set([...FrameKindSchema.values.filter((v) => v.number !== 0).map((v) => v.name), "unknown"]);

const kindLabel: ConformanceCase = {
  id: "admin/metrics-kind-label",
  title: "The kind label of the frame and request metrics is the FrameKind value name as session.proto spells it (FRAME_KIND_PING), and frames of a kind the broker does not know count under `unknown`",
  plane: "admin",
  clauses: ["PW-ADMIN-045", "PW-FRAME-009"],
  needs: ["admin"],
  async run(ctx) {
    const base = ctx.target.adminUrl;
    if (base === undefined) throw new Unsupported("the metrics need the admin URL (--admin)");
    const session = await ctx.connect();
    await session.call(FrameKind.PING, { nonce: 45n });
    const id = session.nextId();
    session.expectAnswer(id, 4242);
    session.sendFrame({ kind: 4242, correlationId: id, message: new Uint8Array(0) });
    await expectErrorFrame(session, "PW-FRAME-009", { code: ErrorCode.UNKNOWN_FRAME_KIND, correlationId: id, connection: "stays" }, "a frame of kind 4242");
    const token = ctx.target.adminToken;
    const text = await (await fetch(`${base}/metrics`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })).text();
    const labels = (name: string): Set<string> => new Set([...text.matchAll(new RegExp(`^${name}\\{(?:[^}]*,)?kind="([^"]*)"`, "gm"))].map((m) => m[1] as string));
    for (const name of ["polywire_frames_received_total", "polywire_frames_sent_total", "polywire_request_duration_seconds_count"]) {
      const bad = [...labels(name)].filter((l) => !KIND_LABELS.has(l));
      check("PW-ADMIN-045", bad.length === 0, `${name} has kind labels that are neither a FrameKind value name nor "unknown": ${bad.join(", ")}`);
    }
    const received = labels("polywire_frames_received_total");
    check("PW-ADMIN-045", received.has("FRAME_KIND_PING"), `polywire_frames_received_total has no kind="FRAME_KIND_PING" after a Ping (labels: ${[...received].join(", ")})`);
    check("PW-ADMIN-045", received.has("unknown"), `polywire_frames_received_total has no kind="unknown" after a frame of kind 4242 (labels: ${[...received].join(", ")})`);
  },
};

/** Metric label values (§11.5). */
export const metricLabelCases: readonly ConformanceCase[] = [kindLabel];
