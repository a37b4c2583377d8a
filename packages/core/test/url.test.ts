import { describe, expect, it } from "vitest";
import { PolywireError, parseTransportUrl } from "../src/index.js";

describe("transport URLs", () => {
  it("PW-TRANS-001: parses every scheme", () => {
    expect(parseTransportUrl("tcp://127.0.0.1:7420")).toMatchObject({ scheme: "tcp", host: "127.0.0.1", port: 7420 });
    expect(parseTransportUrl("tls://localhost:0")).toMatchObject({ scheme: "tls", host: "localhost", port: 0 });
    expect(parseTransportUrl("tcp://[::1]:9")).toMatchObject({ scheme: "tcp", host: "::1", port: 9 });
    expect(parseTransportUrl("unix:///tmp/a%20b.sock")).toMatchObject({ scheme: "unix", path: "/tmp/a b.sock" });
    expect(parseTransportUrl("ws://localhost:8080/pw?x=1")).toMatchObject({ scheme: "ws", host: "localhost", port: 8080, path: "/pw?x=1" });
    expect(parseTransportUrl("wss://example.test/pw")).toMatchObject({ scheme: "wss", port: 443, path: "/pw" });
    expect(parseTransportUrl("ws://h")).toMatchObject({ scheme: "ws", port: 80, path: "/" });
    expect(parseTransportUrl("memory://Broker_1")).toMatchObject({ scheme: "memory", name: "Broker_1" });
  });

  it("PW-TRANS-001: rejects bad URLs with INVALID_ARGUMENT saying why", () => {
    const cases: Array<[string, RegExp]> = [
      ["not a url", /not a URL/],
      ["http://h:1", /unknown scheme "http:"/],
      ["tcp://h", /port is required/],
      ["tcp://h:70000", /not a URL|out of range/],
      ["tcp://h:1/path", /no path/],
      ["unix://host/x.sock", /three slashes/],
      ["unix:///", /absolute/],
      ["memory://", /non-empty name/],
      ["memory://a/b", /no path/],
      ["tcp://u:p@h:1", /credentials/],
    ];
    for (const [url, message] of cases) {
      let caught: unknown;
      try {
        parseTransportUrl(url);
      } catch (error) {
        caught = error;
      }
      expect(caught, url).toBeInstanceOf(PolywireError);
      expect((caught as PolywireError).code, url).toBe("INVALID_ARGUMENT");
      expect((caught as PolywireError).message, url).toMatch(message);
    }
  });
});
