import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM material for the TLS cases, made by the `openssl` CLI at run time. */
export interface TestCerts {
  /** The CA that signs the server and the good client. */
  readonly ca: string;
  /** Server certificate for 127.0.0.1 and localhost, and its key. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate the listener's client CA verifies. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate from another CA, which must be refused (PW-TRANS-004). */
  readonly rogueCert: string;
  readonly rogueKey: string;
  /** That other CA: a client trusting only it must refuse the server. */
  readonly rogueCa: string;
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run("openssl", args, { cwd: dir });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") throw new Error("the TLS cases make certificates with the openssl command, which is not installed");
    throw new Error(`openssl ${args[0] ?? ""} failed: ${e.stderr ?? e.message}`);
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function issue(dir: string, name: string, ca: string, subject: string, extensions: string): Promise<void> {
  await openssl(dir, ["req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`]);
}

/**
 * Makes a fresh set of certificates in a temporary directory, which is gone
 * again when this resolves. The package tests of the broker and the runtime
 * use it too, so there is one recipe for test certificates.
 */
export async function makeCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), "polywire-conformance-certs-"));
  try {
    for (const ca of ["ca", "rogue-ca"]) {
      await openssl(dir, ["req", "-x509", ...EC_KEY, "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=polywire conformance ${ca}`]);
    }
    await issue(dir, "server", "ca", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    await issue(dir, "client", "ca", "/CN=conformance-client", "extendedKeyUsage=clientAuth\n");
    await issue(dir, "rogue", "rogue-ca", "/CN=rogue-client", "extendedKeyUsage=clientAuth\n");
    const read = (file: string): Promise<string> => readFile(join(dir, file), "utf8");
    return {
      ca: await read("ca.crt"),
      serverCert: await read("server.crt"),
      serverKey: await read("server.key"),
      clientCert: await read("client.crt"),
      clientKey: await read("client.key"),
      rogueCert: await read("rogue.crt"),
      rogueKey: await read("rogue.key"),
      rogueCa: await read("rogue-ca.crt"),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let made: Promise<TestCerts> | undefined;

/** The run's certificates, made on first use and shared by every TLS case (openssl takes a while on a busy machine). */
export function testCerts(): Promise<TestCerts> {
  made ??= makeCerts();
  made.catch(() => {
    made = undefined;
  });
  return made;
}
