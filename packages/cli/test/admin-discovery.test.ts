import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { Broker } from "@polywire/broker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../broker/test/helpers.js";
import { brokerOptions } from "../src/commands/broker.js";
import { run } from "../src/index.js";

/** Runs a command in this process and captures what it prints. */
async function polywire(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

let withAdmin: Broker;
let withoutAdmin: Broker;
const saved = { admin: process.env.POLYWIRE_ADMIN_URL, broker: process.env.POLYWIRE_BROKER };

beforeAll(async () => {
  withAdmin = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 }, topics: [{ name: "discovered", partitions: 2 }] });
  withoutAdmin = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" } });
});

afterEach(() => {
  // Each test says where the broker is itself; none may inherit it from the environment.
  for (const [name, value] of [["POLYWIRE_ADMIN_URL", saved.admin], ["POLYWIRE_BROKER", saved.broker]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

afterAll(async () => {
  await withAdmin?.close();
  await withoutAdmin?.close();
});

describe("admin commands find the admin plane through the data plane (PW-ADMIN-060, PW-ADMIN-062)", () => {
  it("PW-ADMIN-060: with --broker and no --admin, topic list reaches the admin URL the broker names in its Welcome", async () => {
    delete process.env.POLYWIRE_ADMIN_URL;
    const listed = await polywire(["topic", "list", "--json", "--broker", withAdmin.urls[0] as string]);
    expect(listed.err).toBe("");
    expect(JSON.parse(listed.out)).toEqual({ topics: [{ name: "discovered", partitions: 2, internal: false }] });
  });

  it("PW-ADMIN-060: $POLYWIRE_BROKER serves as well, and --admin still wins over it", async () => {
    delete process.env.POLYWIRE_ADMIN_URL;
    process.env.POLYWIRE_BROKER = withAdmin.urls[0] as string;
    expect((await polywire(["cluster", "describe", "--json"])).out).toContain(withAdmin.httpUrl as string);
    const port = await closedPort();
    const refused = await polywire(["topic", "list", "--admin", `http://127.0.0.1:${port}`]);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain(`127.0.0.1:${port}`);
  });

  it("PW-ADMIN-060: a broker without an admin listener is exit 6, one that cannot be reached exit 3, and both say to pass --admin", async () => {
    delete process.env.POLYWIRE_ADMIN_URL;
    const none = await polywire(["topic", "list", "--broker", withoutAdmin.urls[0] as string]);
    expect(none.code).toBe(6);
    expect(none.err).toMatch(/serves no admin plane/);
    expect(none.err).toMatch(/--admin <url>/);
    const port = await closedPort();
    const down = await polywire(["topic", "list", "--broker", `tcp://127.0.0.1:${port}`, "--timeout", "3000"]);
    expect(down.code).toBe(3);
    expect(down.err).toMatch(/cannot learn the admin URL from the broker at tcp:\/\/127\.0\.0\.1:\d+/);
    expect((await polywire(["topic", "list", "--broker", "nope://x"])).code).toBe(2);
  });
});

describe("polywire broker serves the admin plane by default (PW-ADMIN-062)", () => {
  it("PW-ADMIN-062: no flag means 127.0.0.1:7421; --http-port picks another, off and \"http\": false serve none", () => {
    expect(brokerOptions([]).http).toEqual({ host: "127.0.0.1", port: 7421 });
    expect(brokerOptions(["--http-port", "0"]).http).toEqual({ host: "127.0.0.1", port: 0 });
    expect(brokerOptions(["--http-port", "off"]).http).toBeUndefined();
    const dir = tempDir("cli-http");
    try {
      const off = join(dir.path, "off.json");
      writeFileSync(off, JSON.stringify({ http: false }));
      expect(brokerOptions(["--config", off]).http).toBeUndefined();
      expect(brokerOptions(["--config", off, "--http-port", "9000"]).http).toEqual({ host: "127.0.0.1", port: 9000 });
      const host = join(dir.path, "host.json");
      writeFileSync(host, JSON.stringify({ http: { host: "0.0.0.0", port: 7500 } }));
      expect(brokerOptions(["--config", host]).http).toEqual({ host: "0.0.0.0", port: 7500 });
    } finally {
      dir.remove();
    }
  });
});

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
