import { Feature, FrameKind } from "@polywire/proto/session";
import type { ConformanceCase } from "../../runner/case.js";
import { check, ClauseViolation } from "../../runner/violation.js";
import { dial, type ByteStream, type DialTls } from "../../wire/dial.js";
import { encodeRawFrame } from "../../wire/frame.js";
import { helloBytes } from "../../wire/session.js";
import { expectServing } from "../expect.js";
import { testCerts } from "./certs.js";

/**
 * What became of a TLS connection attempt: refused during the handshake, or
 * handshake done. With TLS 1.3 the server checks the client certificate
 * after the client considers the handshake done, so a refusal can also
 * arrive as the connection closing right after; `closedWithin` tells.
 */
async function attempt(url: string, tls: DialTls): Promise<{ refused: string } | { stream: ByteStream; closedWithin: (ms: number) => Promise<boolean> }> {
  let stream: ByteStream;
  try {
    stream = await dial(url, { tls, timeoutMs: 5000 });
  } catch (error) {
    return { refused: (error as Error).message };
  }
  let closed = false;
  const waiters: Array<() => void> = [];
  stream.on("close", () => {
    closed = true;
    for (const w of waiters.splice(0)) w();
  });
  stream.on("error", () => undefined);
  return {
    stream,
    closedWithin: (ms) => closed ? Promise.resolve(true) : new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    }),
  };
}

const clientCertificates: ConformanceCase = {
  id: "session/tls-client-certificates",
  title: "A TLS listener with a client CA refuses, during the TLS handshake and before any frame, a client without a certificate and one whose certificate another CA signed; a client with a good certificate is served",
  plane: "session",
  clauses: ["PW-TRANS-004"],
  features: [Feature.LOG],
  needs: ["variants"],
  async run(ctx) {
    const certs = await testCerts();
    const variant = await ctx.variant({ listeners: ["tls"], tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca } });
    const url = variant.urls.tls as string;
    const bad: Array<{ what: string; tls: DialTls }> = [
      { what: "a client without a certificate", tls: { ca: certs.ca } },
      { what: "a client whose certificate another CA signed", tls: { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey } },
    ];
    for (const { what, tls } of bad) {
      const result = await attempt(url, tls);
      if ("refused" in result) {
        ctx.note(`${what}: refused in the handshake (${result.refused})`);
        continue;
      }
      // TLS 1.3: the client finishes first and the server's verdict on its
      // certificate follows as an alert. A Hello sent at once must get no
      // answer: a Welcome would mean the broker read a frame from it.
      let answered = 0;
      result.stream.on("data", (chunk) => {
        answered += chunk.length;
      });
      result.stream.write(encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG], clientId: "rogue" }) }));
      const closed = await result.closedWithin(3000);
      result.stream.destroy();
      check("PW-TRANS-004", answered === 0, `${what} got ${answered} bytes of answer to a Hello from a listener whose client CA does not verify it`);
      check("PW-TRANS-004", closed, `${what} completed the TLS handshake with a listener whose client CA does not verify it, and the connection stayed open`);
      ctx.note(`${what}: refused by a TLS alert right after the client's side of the handshake, no frame answered`);
    }
    const good = await ctx.connectTo(url, { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } }).catch((error: unknown) => {
      throw new ClauseViolation("PW-TRANS-004", `a client whose certificate the client CA signed was not served: ${(error as Error).message}`);
    });
    await expectServing(good, "PW-TRANS-004", "a client with a verified certificate");
  },
};

/** TLS client verification (PW-TRANS-004). */
export const tlsCases: readonly ConformanceCase[] = [clientCertificates];
