import { describe, expect, it } from "vitest";
import { WebSocketMeter } from "../src/transport/websocket-meter.js";

/** A client-to-server WebSocket frame header (RFC 6455 §5.2), masked, for `length` payload bytes. */
function header(opcode: number, fin: boolean, length: number): Uint8Array {
  const first = (fin ? 0x80 : 0) | opcode;
  const mask = [1, 2, 3, 4];
  if (length < 126) return Uint8Array.of(first, 0x80 | length, ...mask);
  if (length < 65_536) return Uint8Array.of(first, 0x80 | 126, length >> 8, length & 0xff, ...mask);
  const bytes = new Uint8Array(14);
  bytes[0] = first;
  bytes[1] = 0x80 | 127;
  new DataView(bytes.buffer).setUint32(6, length);
  bytes.set(mask, 10);
  return bytes;
}

function frame(opcode: number, fin: boolean, length: number): Uint8Array {
  return new Uint8Array(Buffer.concat([header(opcode, fin, length), new Uint8Array(length)]));
}

/** Feeds `bytes` to a meter `step` bytes at a time and returns what it saw after each push. */
function feed(meter: WebSocketMeter, bytes: Uint8Array, step: number): Array<[number, number]> {
  const seen: Array<[number, number]> = [];
  for (let at = 0; at < bytes.byteLength; at += step) {
    meter.push(bytes.subarray(at, at + step));
    seen.push([meter.received, meter.announced]);
  }
  return seen;
}

describe("WebSocketMeter (PW-TRANS-011)", () => {
  it("PW-TRANS-011: announces a message's size from its first header, 7-bit, 16-bit and 64-bit lengths alike, and counts its bytes as they arrive", () => {
    for (const length of [100, 40_000, 300_000]) {
      const meter = new WebSocketMeter();
      const bytes = frame(0x2, true, length);
      const head = header(0x2, true, length).byteLength;
      meter.push(bytes.subarray(0, head));
      expect([meter.received, meter.announced], String(length)).toEqual([0, length]);
      meter.push(bytes.subarray(head, head + 50));
      expect([meter.received, meter.announced]).toEqual([50, length]);
      meter.push(bytes.subarray(head + 50));
      // The message is whole: ws delivers it, the meter holds nothing.
      expect([meter.received, meter.announced]).toEqual([0, 0]);
    }
  });

  it("PW-TRANS-011: headers split across chunks byte by byte are read the same", () => {
    const meter = new WebSocketMeter();
    const seen = feed(meter, frame(0x2, true, 70_000).subarray(0, 14 + 10), 1);
    // Nothing is announced until the header is complete (14 bytes with the 64-bit length and the mask), then the payload counts up.
    expect(seen.slice(0, 13).every(([r, a]) => r === 0 && a === 0)).toBe(true);
    expect(seen[13]).toEqual([0, 70_000]);
    expect(seen.at(-1)).toEqual([10, 70_000]);
  });

  it("PW-TRANS-011: fragments add up until the FIN fragment ends the message; control frames between them do not count", () => {
    const meter = new WebSocketMeter();
    const bytes = Buffer.concat([frame(0x2, false, 1000), frame(0x9, true, 4), frame(0x0, false, 2000), frame(0xa, true, 0)]);
    meter.push(bytes);
    expect([meter.received, meter.announced]).toEqual([3000, 3000]);
    meter.push(header(0x0, true, 500));
    expect([meter.received, meter.announced]).toEqual([3000, 3500]);
    meter.push(new Uint8Array(500));
    expect([meter.received, meter.announced]).toEqual([0, 0]);
    // The next message starts from nothing.
    meter.push(frame(0x2, false, 10));
    expect([meter.received, meter.announced]).toEqual([10, 10]);
  });
});
