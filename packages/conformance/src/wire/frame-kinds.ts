import { readFileSync } from "node:fs";
import { Feature, FrameKind } from "@polywire/proto/session";

/** One row of the frame-kind table of spec §3.5, as `spec/vectors/frame-kinds.json` gives it. */
export interface FrameKindRow {
  readonly value: number;
  readonly name: string;
  /** Full protobuf name of the message, `polywire.v1.Hello`. */
  readonly message: string;
  readonly sentBy: "client" | "broker" | "both";
  /** The FrameKind name that answers it, for requests. */
  readonly answeredBy: string | null;
  /** Feature names; all must be granted (PW-SESS-006). */
  readonly features: readonly string[];
}

interface FrameKindsFile {
  readonly kinds: readonly FrameKindRow[];
  readonly features: ReadonlyArray<{ readonly value: number; readonly name: string; readonly kinds: readonly string[] }>;
}

// Read from the spec's vectors, not a list of our own: the table is normative (PW-SESS-021).
const FILE = JSON.parse(readFileSync(new URL("../../../../spec/vectors/frame-kinds.json", import.meta.url), "utf8")) as FrameKindsFile;

function featureValue(name: string): Feature {
  const value = Feature[name.replace(/^FEATURE_/, "") as keyof typeof Feature];
  if (value === undefined) throw new Error(`spec/vectors/frame-kinds.json names ${name}, which proto/ does not define`);
  return value;
}

function kindValue(name: string): FrameKind {
  const value = FrameKind[name.replace(/^FRAME_KIND_/, "") as keyof typeof FrameKind];
  if (value === undefined) throw new Error(`spec/vectors/frame-kinds.json names ${name}, which proto/ does not define`);
  return value;
}

/** A frame kind with its features as Feature values. */
export interface FrameKindInfo extends FrameKindRow {
  readonly kind: FrameKind;
  readonly featureValues: readonly Feature[];
  readonly answer: FrameKind | undefined;
}

/** Every FrameKind of the spec's table, by value. */
export const FRAME_KINDS: ReadonlyMap<number, FrameKindInfo> = new Map(FILE.kinds.map((k) => [k.value, {
  ...k,
  kind: k.value as FrameKind,
  featureValues: k.features.map(featureValue),
  answer: k.answeredBy === null ? undefined : kindValue(k.answeredBy),
}]));

/** Every Feature of v1 with the kinds that belong to it. */
export const FEATURES: ReadonlyArray<{ readonly feature: Feature; readonly name: string; readonly kinds: readonly FrameKindInfo[] }> = FILE.features.map((f) => ({
  feature: f.value as Feature,
  name: f.name,
  kinds: f.kinds.map((name) => FRAME_KINDS.get(kindValue(name)) as FrameKindInfo),
}));
