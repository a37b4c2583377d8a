import { fromBinary } from "@bufbuild/protobuf";
import { ErrorCode, ErrorSchema, Feature, FrameKind } from "@polywire/proto/session";
import { check, ClauseViolation } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { dial, type ByteStream, type DialTls } from "../../wire/dial.js";
import { encodeRawFrame, FrameSplitter } from "../../wire/frame.js";
import { helloBytes } from "../../wire/session.js";
import { expectServing } from "../expect.js";
import { testCerts } from "./certs.js";

/**
 * What became of a TLS connection attempt: refused during the handshake, or
 * handshake done. With TLS 1.3 the server checks the client certificate
 * after the client considers the handshake done, so a refusal can also
 * arrive as the connection closing right after; `closedWithin` tells.
 */
async function attempt(url: string, tls: DialTls): Promise<{ refused: string } | { stream: ByteStream; closedWithin: (ms: number) => Promise<boolean>; error: () => Error | undefined }> {
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
  let failure: Error | undefined;
  stream.on("error", (error) => {
    failure ??= error;
  });
  return {
    stream,
    error: () => failure,
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
  title: "A TLS listener with a client CA refuses, before reading any frame, a client without a certificate and one whose certificate another CA signed, by a TLS alert or by an AUTHENTICATION_FAILED Error saying why; a client with a good certificate is served",
  plane: "session",
  clauses: ["PW-TRANS-004", "PW-TRANS-009"],
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
      // certificate follows, as an alert or (PW-TRANS-009) as one Error
      // frame. A Hello sent at once must get nothing else: a Welcome would
      // mean the broker read a frame from it.
      const splitter = new FrameSplitter();
      const frames: Array<{ kind: number; correlationId: number; code: ErrorCode | undefined }> = [];
      let garbage = "";
      result.stream.on("data", (chunk) => {
        try {
          for (const f of splitter.push(chunk)) frames.push({ kind: f.kind, correlationId: f.correlationId, code: f.kind === FrameKind.ERROR ? fromBinary(ErrorSchema, f.message).code : undefined });
        } catch (error) {
          garbage ||= (error as Error).message;
        }
      });
      result.stream.write(encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG], clientId: "rogue" }) }));
      const closed = await result.closedWithin(3000);
      result.stream.destroy();
      const told = frames.length === 1 && frames[0]?.kind === FrameKind.ERROR && frames[0].correlationId === 0 && frames[0].code === ErrorCode.AUTHENTICATION_FAILED;
      check("PW-TRANS-004", garbage === "" && (frames.length === 0 || told), () => `${what} got an answer to a Hello other than one AUTHENTICATION_FAILED Error from a listener whose client CA does not verify it: ${garbage || JSON.stringify(frames)}`);
      check("PW-TRANS-004", closed, `${what} completed the TLS handshake with a listener whose client CA does not verify it, and the connection stayed open`);
      const alert = /ALERT/i.test(`${(result.error() as { code?: string } | undefined)?.code ?? ""} ${result.error()?.message ?? ""}`);
      check("PW-TRANS-009", told || alert, `${what} was refused after the TLS handshake with neither a TLS alert nor an AUTHENTICATION_FAILED Error saying why`);
      ctx.note(`${what}: refused right after the client's side of the handshake by ${told ? "an AUTHENTICATION_FAILED Error" : `a TLS alert (${result.error()?.message ?? ""})`}, no frame read`);
    }
    const good = await ctx.connectTo(url, { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } }).catch((error: unknown) => {
      throw new ClauseViolation("PW-TRANS-004", `a client whose certificate the client CA signed was not served: ${(error as Error).message}`);
    });
    await expectServing(good, "PW-TRANS-004", "a client with a verified certificate");
  },
};

/** TLS client verification (PW-TRANS-004). */
export const tlsCases: readonly ConformanceCase[] = [clientCertificates];
