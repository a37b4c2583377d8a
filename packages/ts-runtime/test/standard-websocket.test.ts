import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Broker } from "@polywire/broker";
import { FrameKind } from "@polywire/proto/session";
import { describe, expect, it } from "vitest";

describe("StandardWebSocketTransport", () => {
  it("PW-TRANS-003: the standard WebSocket API carries one frame per binary message", { timeout: 60_000 }, async () => {
    await using broker = await Broker.start({ listeners: ["ws://127.0.0.1:0/pw"], storage: { engine: "memory" } });
    const script = fileURLToPath(new URL("./fixtures/standard-websocket.mts", import.meta.url));
    const child = spawn(process.execPath, ["--experimental-websocket", "--no-warnings", "--conditions=@polywire/source", "--import", "tsx", script, broker.urls[0] as string], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual({
      remote: broker.urls[0],
      brokerId: broker.id,
      metadata: [FrameKind.METADATA_RESPONSE, 3],
      closed: "clean",
    });
  });
});
