import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { CodecError, FLAG_CHECKSUM, FRAME_HEADER_SIZE, FrameDecoder, crc32c, encodeFrame, encodeFrameHead, init, putFrameHead } from "@polywire/wasm-codec";
import { wasm } from "../src/wasm.js";

beforeAll(() => init());

const te = new TextEncoder();

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return (e as CodecError).code;
  }
  throw new Error("expected a CodecError");
}

function header(fields: { length: number; headerSize?: number; flags?: number; kind?: number; correlationId?: number; messageLength: number }): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, fields.length);
  v.setUint8(4, fields.headerSize ?? 16);
  v.setUint8(5, fields.flags ?? 0);
  v.setUint16(6, fields.kind ?? 1);
  v.setUint32(8, fields.correlationId ?? 1);
  v.setUint32(12, fields.messageLength);
  return b;
}

describe("frames", () => {
  it("PW-FRAME-001: encodes length, header_size 16 and sections", () => {
    const f = encodeFrame({ kind: 0x0102, correlationId: 0xdeadbeef, message: te.encode("abc"), payload: te.encode("xyz12") });
    const v = new DataView(f.buffer);
    expect(f.length).toBe(FRAME_HEADER_SIZE + 3 + 5);
    expect(v.getUint32(0)).toBe(12 + 3 + 5);
    expect(v.getUint8(4)).toBe(16);
    expect(v.getUint8(5)).toBe(0);
    expect(v.getUint16(6)).toBe(0x0102);
    expect(v.getUint32(8)).toBe(0xdeadbeef);
    expect(v.getUint32(12)).toBe(3);
    expect(new TextDecoder().decode(f.subarray(16))).toBe("abcxyz12");
  });

  it("PW-FRAME-004: checksum trailer is the CRC-32C of every preceding byte", () => {
    const f = encodeFrame({ kind: 1, correlationId: 3, message: te.encode("m"), checksum: true });
    const v = new DataView(f.buffer);
    expect(v.getUint8(5)).toBe(FLAG_CHECKSUM);
    expect(v.getUint32(0)).toBe(12 + 1 + 4);
    expect(v.getUint32(f.length - 4)).toBe(crc32c(f.subarray(0, f.length - 4)));
    const d = new FrameDecoder();
    expect(d.push(f)[0]?.message).toEqual(te.encode("m"));
    const bad = f.slice();
    bad[16] ^= 1;
    expect(codeOf(() => new FrameDecoder().push(bad))).toBe("CHECKSUM_MISMATCH");
  });

  it("PW-FRAME-002: accepts header_size above 16 and skips the extension; rejects below 16", () => {
    const ext = new Uint8Array(16 + 4 + 2 + 3);
    ext.set(header({ length: ext.length - 4, headerSize: 20, messageLength: 2, kind: 9, correlationId: 5 }));
    ext.set([0xaa, 0xbb, 0xcc, 0xdd], 16);
    ext.set(te.encode("mmppp"), 20);
    const [frame] = new FrameDecoder().push(ext);
    expect(frame).toEqual({ kind: 9, flags: 0, correlationId: 5, message: te.encode("mm"), payload: te.encode("ppp") });
    const small = new Uint8Array(20);
    small.set(header({ length: 16, headerSize: 15, messageLength: 0 }));
    expect(codeOf(() => new FrameDecoder().push(small))).toBe("MALFORMED_FRAME");
  });

  it("PW-FRAME-003: rejects reserved flag bits", () => {
    for (const flags of [2, 4, 0x80, 0xff]) {
      const f = header({ length: 12, flags, messageLength: 0 });
      expect(codeOf(() => new FrameDecoder().push(f))).toBe("MALFORMED_FRAME");
    }
  });

  it("PW-FRAME-005: rejects length below 12 and message_length past the frame", () => {
    expect(codeOf(() => new FrameDecoder().push(header({ length: 11, messageLength: 0 }).subarray(0, 8)))).toBe("MALFORMED_FRAME");
    const f = new Uint8Array(20);
    f.set(header({ length: 16, messageLength: 5 }));
    expect(codeOf(() => new FrameDecoder().push(f))).toBe("MALFORMED_FRAME");
    const cs = new Uint8Array(20);
    cs.set(header({ length: 16, messageLength: 1, flags: FLAG_CHECKSUM }));
    expect(codeOf(() => new FrameDecoder().push(cs))).toBe("MALFORMED_FRAME");
  });

  it("PW-FRAME-006: rejects an oversize frame as soon as the length field arrives, before buffering", () => {
    const d = new FrameDecoder({ maxFrameSize: 1024 });
    const f = header({ length: 1021, messageLength: 0 });
    expect(d.push(f.subarray(0, 3))).toEqual([]);
    expect(d.buffered).toBe(3);
    expect(codeOf(() => d.push(f.subarray(3, 4)))).toBe("FRAME_TOO_LARGE");
    expect(d.buffered).toBe(0);
    // A frame of exactly the maximum is accepted.
    const ok = new Uint8Array(1024);
    ok.set(header({ length: 1020, messageLength: 0 }));
    expect(new FrameDecoder({ maxFrameSize: 1024 }).push(ok)).toHaveLength(1);
  });

  it("PW-FRAME-007: the default maximum frame size is 16 MiB", () => {
    const f = header({ length: 16 * 1024 * 1024 - 3, messageLength: 0 });
    expect(codeOf(() => new FrameDecoder().push(f))).toBe("FRAME_TOO_LARGE");
    const d = new FrameDecoder();
    expect(d.push(header({ length: 16 * 1024 * 1024 - 4, messageLength: 0 }))).toEqual([]);
    d.free();
  });

  it("PW-FRAME-006: an announced length reserves nothing: the decoder holds only the bytes that arrived", () => {
    const d = new FrameDecoder({ maxFrameSize: 0xffff_ffff });
    const before = wasm().memory.buffer.byteLength;
    for (let i = 0; i < 1000; i++) {
      const held = new FrameDecoder({ maxFrameSize: 0xffff_ffff });
      expect(held.push(header({ length: 0xffff_fff0, messageLength: 0 }))).toEqual([]);
      expect(held.buffered).toBe(16);
    }
    expect(d.push(header({ length: 0xffff_fff0, messageLength: 0 }))).toEqual([]);
    expect(d.push(new Uint8Array(1000))).toEqual([]);
    expect(d.buffered).toBe(1016);
    // A thousand 4 GiB announcements later, codec memory has not grown.
    expect(wasm().memory.buffer.byteLength).toBe(before);
  });

  it("PW-FRAME-006: FRAME_TOO_LARGE names the frame's size and the real limit", () => {
    const d = new FrameDecoder({ maxFrameSize: 65_536 });
    expect(() => d.push(header({ length: 16 * 1024 * 1024 - 4, messageLength: 0 }))).toThrow(
      "frame of 16777216 bytes exceeds the maximum frame size of 65536 (PW-FRAME-006)",
    );
  });

  it("PW-FRAME-006: maxFrameSize can be raised for the frames that follow", () => {
    const d = new FrameDecoder({ maxFrameSize: 1024 });
    expect(d.maxFrameSize).toBe(1024);
    const big = encodeFrame({ kind: 1, correlationId: 1, message: new Uint8Array(2000) });
    d.maxFrameSize = 4096;
    expect(d.push(big)).toHaveLength(1);
    expect(codeOf(() => {
      d.maxFrameSize = 15;
    })).toBe("INVALID_ARGUMENT");
    expect(d.maxFrameSize).toBe(4096);
  });

  it("PW-FRAME-001: a frame inside one chunk is handed out as views into that chunk; one spanning chunks is joined once", () => {
    const a = encodeFrame({ kind: 1, correlationId: 1, message: te.encode("first"), payload: te.encode("p1") });
    const b = encodeFrame({ kind: 2, correlationId: 3, message: te.encode("second"), payload: te.encode("p2") });
    const chunk = new Uint8Array(a.length + 5);
    chunk.set(a);
    chunk.set(b.subarray(0, 5), a.length);
    const d = new FrameDecoder();
    const [first] = d.push(chunk);
    expect(first!.message.buffer).toBe(chunk.buffer);
    expect(first!.payload.buffer).toBe(chunk.buffer);
    expect(first!.payload).toEqual(te.encode("p1"));
    const rest = b.slice(5);
    const [second] = d.push(rest);
    expect(second!.message).toEqual(te.encode("second"));
    expect(second!.message.buffer).not.toBe(rest.buffer);
    expect(second!.payload.buffer).toBe(second!.message.buffer);
  });

  it("PW-FRAME-013: after a framing error the decoder stays failed", () => {
    const d = new FrameDecoder();
    expect(codeOf(() => d.push(header({ length: 12, flags: 2, messageLength: 0 })))).toBe("MALFORMED_FRAME");
    const good = encodeFrame({ kind: 1, correlationId: 1, message: new Uint8Array(0) });
    expect(codeOf(() => d.push(good))).toBe("MALFORMED_FRAME");
  });

  it("PW-FRAME-001: any chunking yields the same frames as one push", () => {
    const frameArb = fc.record({
      kind: fc.integer({ min: 0, max: 0xffff }),
      correlationId: fc.integer({ min: 0, max: 0xffff_ffff }),
      message: fc.uint8Array({ maxLength: 40 }),
      payload: fc.uint8Array({ maxLength: 300 }),
      checksum: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (inputs, cuts) => {
        const encoded = inputs.map((f) => encodeFrame(f));
        const stream = new Uint8Array(encoded.reduce((n, f) => n + f.length, 0));
        let o = 0;
        for (const f of encoded) {
          stream.set(f, o);
          o += f.length;
        }
        const whole = new FrameDecoder().push(stream);
        const d = new FrameDecoder();
        const pieces = [];
        let pos = 0;
        for (let i = 0; pos < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          pieces.push(...d.push(stream.subarray(pos, pos + n)));
          pos += n;
        }
        expect(d.buffered).toBe(0);
        expect(pieces).toEqual(whole);
        expect(whole.map((f) => ({ kind: f.kind, correlationId: f.correlationId, message: f.message, payload: f.payload, checksum: f.flags === 1 }))).toEqual(
          inputs.map((f) => ({ ...f, message: new Uint8Array(f.message), payload: new Uint8Array(f.payload) })),
        );
        d.free();
      }),
      { numRuns: 200 },
    );
  });

  it("PW-FRAME-001: byte-at-a-time decoding of a 1 MiB frame holds it once and returns it whole", () => {
    const payload = new Uint8Array(1 << 20).map((_, i) => i * 7);
    const f = encodeFrame({ kind: 2, correlationId: 9, message: te.encode("hdr"), payload, checksum: true });
    const d = new FrameDecoder();
    for (let i = 0; i < f.length - 1; i += 4096) expect(d.push(f.subarray(i, Math.min(i + 4096, f.length - 1)))).toEqual([]);
    expect(d.buffered).toBe(f.length - 1);
    const [frame] = d.push(f.subarray(f.length - 1));
    expect(Buffer.compare(frame!.payload, payload)).toBe(0);
    expect(d.buffered).toBe(0);
  });

  it("PW-FRAME-001, PW-FRAME-002: encodeFrameHead followed by the payload (copied into its room or written after it) is encodeFrame's frame without checksum", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 3000 }),
        fc.boolean(),
        (kind, correlationId, message, payload, inRoom) => {
          const reference = encodeFrame({ kind, correlationId, message, payload });
          let head = encodeFrameHead(kind, correlationId, message, payload.length, inRoom ? payload.length : 0);
          if (inRoom) head.set(payload, head.length - payload.length);
          else head = Buffer.concat([head, payload]);
          expect(Buffer.compare(head, reference)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
    expect(codeOf(() => encodeFrameHead(70000, 1, new Uint8Array(), 0))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeFrameHead(1, -1, new Uint8Array(), 0))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeFrameHead(1, 1, new Uint8Array(), 4, 2))).toBe("INVALID_ARGUMENT");
  });

  it("PW-FRAME-001, PW-FRAME-002: putFrameHead writes encodeFrame's header in place, at any offset of a larger buffer, touching nothing around it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 0, max: 40 }),
        (kind, correlationId, message, payload, at) => {
          const reference = encodeFrame({ kind, correlationId, message, payload });
          const out = new Uint8Array(at + reference.length + 7).fill(0xee);
          const messageAt = putFrameHead(out, at, kind, correlationId, message.length, payload.length);
          expect(messageAt).toBe(at + FRAME_HEADER_SIZE);
          out.set(message, messageAt);
          out.set(payload, messageAt + message.length);
          expect(Buffer.compare(out.subarray(at, at + reference.length), reference)).toBe(0);
          expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true);
          expect(out.subarray(at + reference.length).every((b) => b === 0xee)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    expect(codeOf(() => putFrameHead(new Uint8Array(32), 0, 70000, 1, 0, 0))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => putFrameHead(new Uint8Array(32), 0, 1, 2 ** 32, 0, 0))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => putFrameHead(new Uint8Array(32), 17, 1, 1, 0, 0))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => putFrameHead(new Uint8Array(32), 0, 1, 1, 2 ** 32 - 10, 10))).toBe("INVALID_ARGUMENT");
  });

  it("rejects bad arguments with INVALID_ARGUMENT", () => {
    expect(codeOf(() => encodeFrame({ kind: 70000, correlationId: 1, message: new Uint8Array() }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeFrame({ kind: 1, correlationId: -1, message: new Uint8Array() }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => encodeFrame({ kind: 1, correlationId: 1, message: "x" as unknown as Uint8Array }))).toBe("INVALID_ARGUMENT");
    const d = new FrameDecoder();
    d.free();
    expect(codeOf(() => d.push(new Uint8Array(1)))).toBe("INVALID_ARGUMENT");
    // No frame fits below the header size: a configuration mistake.
    expect(codeOf(() => new FrameDecoder({ maxFrameSize: FRAME_HEADER_SIZE - 1 }))).toBe("INVALID_ARGUMENT");
    new FrameDecoder({ maxFrameSize: FRAME_HEADER_SIZE }).free();
  });
});
