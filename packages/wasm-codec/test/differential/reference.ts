// Runs the reference codecs of reference.py (zlib, C++ Snappy, liblz4,
// libzstd) on a whole list of requests in one Python process.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The spec's codec ids (§5.1 attributes) of the compressed codecs. */
export const CODEC_IDS = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressedCodec = keyof typeof CODEC_IDS;

export interface ReferenceRequest {
  /** "compress-unchecked": compress, without zstd's content checksum. */
  readonly op: "decompress" | "compress" | "compress-unchecked";
  readonly codec: CompressedCodec;
  /** uncompressed_size for decompress; the level for compress (0: the default). */
  readonly arg: number;
  readonly data: Uint8Array;
}

export type ReferenceAnswer = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: string };

const OPS = { decompress: 0, compress: 1, "compress-unchecked": 2 } as const;
const SCRIPT = fileURLToPath(new URL("./reference.py", import.meta.url));

/** Answers every request, in order, with one run of `python reference.py`. */
export function reference(python: string, requests: readonly ReferenceRequest[]): ReferenceAnswer[] {
  const parts: Uint8Array[] = [];
  for (const r of requests) {
    const head = Buffer.alloc(10);
    head.writeUInt8(OPS[r.op], 0);
    head.writeUInt8(CODEC_IDS[r.codec], 1);
    head.writeUInt32LE(r.arg, 2);
    head.writeUInt32LE(r.data.length, 6);
    parts.push(head, r.data);
  }
  const run = spawnSync(python, [SCRIPT], {
    input: Buffer.concat(parts),
    maxBuffer: 1 << 30,
    timeout: 120_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(`reference.py failed (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr?.toString() ?? ""}`);
  }
  const out = run.stdout;
  const answers: ReferenceAnswer[] = [];
  let pos = 0;
  while (pos < out.length) {
    const status = out.readUInt8(pos);
    const length = out.readUInt32LE(pos + 1);
    const body = new Uint8Array(out.subarray(pos + 5, pos + 5 + length));
    pos += 5 + length;
    answers.push(status === 0 ? { ok: true, bytes: body } : { ok: false, error: Buffer.from(body).toString("utf8") });
  }
  if (answers.length !== requests.length) throw new Error(`reference.py answered ${answers.length} of ${requests.length} requests`);
  return answers;
}
