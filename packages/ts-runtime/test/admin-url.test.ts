import { describe, expect, it } from "vitest";
import { connect, PolywireError } from "../src/index.js";
import { resolveAdminUrl } from "../src/entry/admin.js";
import { startBroker } from "./harness.js";

describe("resolveAdminUrl (PW-ADMIN-060, PW-ADMIN-063)", () => {
  it("PW-ADMIN-063: an unspecified host becomes the host the client dialed, 127.0.0.1 over unix:// and memory://", () => {
    expect(resolveAdminUrl("http://0.0.0.0:7421", "tcp://10.1.2.3:7420")).toBe("http://10.1.2.3:7421");
    expect(resolveAdminUrl("https://[::]:7421", "wss://broker.example:443/polywire")).toBe("https://broker.example:7421");
    expect(resolveAdminUrl("http://0.0.0.0:7421", "tls://[fd00::5]:7420")).toBe("http://[fd00::5]:7421");
    expect(resolveAdminUrl("http://0.0.0.0:7421", "unix:///run/polywire.sock")).toBe("http://127.0.0.1:7421");
    expect(resolveAdminUrl("http://[::]:7421", "memory://local")).toBe("http://127.0.0.1:7421");
  });

  it("PW-ADMIN-060: a reachable URL is kept as a base URL; none, or not http(s), is no admin plane", () => {
    expect(resolveAdminUrl("http://10.0.0.5:7421", "tcp://127.0.0.1:7420")).toBe("http://10.0.0.5:7421");
    expect(resolveAdminUrl("http://admin.example/", "tcp://127.0.0.1:7420")).toBe("http://admin.example");
    expect(resolveAdminUrl("", "tcp://127.0.0.1:7420")).toBeUndefined();
    expect(resolveAdminUrl("tcp://10.0.0.5:7421", "tcp://127.0.0.1:7420")).toBeUndefined();
    expect(resolveAdminUrl("not a url", "tcp://127.0.0.1:7420")).toBeUndefined();
  });
});

describe("Client.adminUrl and Client.admin() (PW-ADMIN-060)", () => {
  it("PW-ADMIN-060: the client learns the admin plane from Welcome and reaches it with no admin URL of its own", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"], http: { port: 0 } });
    await using client = await connect(broker.urls[0] as string);
    expect(client.adminUrl).toBe(broker.httpUrl);
    await using admin = client.admin();
    await admin.createTopic("found-through-welcome", { partitions: 2 });
    expect((await client.metadata(["found-through-welcome"]))[0]?.partitions.length).toBe(2);
  });

  it("PW-ADMIN-063: an admin listener bound to 0.0.0.0 is reached at the host the client dialed", async () => {
    await using broker = await startBroker({ listeners: ["tcp://127.0.0.1:0"], http: { host: "0.0.0.0", port: 0 } });
    expect(broker.httpUrl).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    await using client = await connect(broker.urls[0] as string);
    const port = new URL(broker.httpUrl as string).port;
    expect(client.adminUrl).toBe(`http://127.0.0.1:${port}`);
    await using admin = client.admin();
    expect(await admin.listTopics()).toEqual([]);
  });

  it("PW-ADMIN-060: a broker without an admin listener advertises none, and admin() says so", async () => {
    await using broker = await startBroker();
    await using client = await connect(broker.urls[0] as string);
    expect(client.adminUrl).toBeUndefined();
    expect(() => client.admin()).toThrow(PolywireError);
    expect(() => client.admin()).toThrow(/advertised no admin URL/);
  });
});
