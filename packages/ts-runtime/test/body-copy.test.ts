import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BodyCopier } from "../src/pubsub/body-copy.js";

describe("received bodies (PW-PUBSUB-023)", () => {
  it("PW-PUBSUB-023: a body borrowed from a larger read is copied byte for byte and no longer changes with the read; one that is most of its read stays as it is", () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 60 }), (bodies) => {
      const copier = new BodyCopier();
      // One read holding every body (and some bytes around them), as frames arrive.
      const read = new Uint8Array(bodies.reduce((n, b) => n + b.length + 3, 0) * 2 + 8);
      let at = 5;
      const owned = bodies.map((body) => {
        read.set(body, at);
        const view = read.subarray(at, at + body.length);
        at += body.length + 3;
        return copier.own(view);
      });
      read.fill(0xaa);
      for (const [i, body] of bodies.entries()) {
        expect(Buffer.compare(owned[i] as Uint8Array, body)).toBe(0);
        expect((owned[i] as Uint8Array).buffer).not.toBe(read.buffer);
      }
    }));
    const whole = new Uint8Array(100).fill(3);
    const most = whole.subarray(10);
    expect(new BodyCopier().own(most)).toBe(most);
  });
});
