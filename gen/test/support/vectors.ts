// Loads the message vectors of spec/vectors for the binding tests.
import { readFileSync } from "node:fs";

export interface MessageVector {
  name: string;
  type: string;
  description: string;
  clauses: string[];
  json: Record<string, unknown>;
  hex: string;
}

export interface CompatVector extends MessageVector {
  knownHex: string;
}

const dir = new URL("../../../spec/vectors/", import.meta.url);
const load = (name: string) => JSON.parse(readFileSync(new URL(name, dir), "utf8"));

export const MESSAGE_FILES = ["handshake.json", "log.json", "groups.json", "pubsub.json", "rpc.json", "admin.json"];

/** Every message vector, with the file it came from. */
export const messageVectors: (MessageVector & { file: string })[] = MESSAGE_FILES.flatMap((file) =>
  (load(file).vectors as MessageVector[]).map((v) => ({ ...v, file })),
);

export const compatVectors: CompatVector[] = load("compat.json").vectors;

export const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
export const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A test title that names the clauses the vector illustrates. */
export const title = (v: MessageVector) => `${v.clauses.join(" ")}: ${v.name} (${v.type})`;
