/**
 * Mutant: over WebSocket, applies its limits to a message only once the
 * message is whole, as a WebSocket library hands it over: until then it
 * collects up to the broker's maximum frame size (16 MiB by default), also
 * before Welcome, outside the inbound budget. Built as a WebSocket proxy in
 * front of the reference broker that forwards each message once it has
 * arrived whole. Breaks PW-TRANS-011.
 */
import { Broker } from "@polywire/broker";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";

const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

/** Listens on `url` (`ws://host:port/path`) and relays each whole message to and from `upstream`. */
async function relay(url: string, upstream: string, maxPayload: number): Promise<{ url: string; close(): Promise<void> }> {
  const { hostname, port, pathname } = new URL(url);
  const server = new WebSocketServer({ host: hostname, port: Number(port), path: pathname, maxPayload, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  server.on("connection", (client) => {
    const broker = new WebSocket(upstream, { perMessageDeflate: false });
    const early: RawData[] = [];
    client.on("message", (data) => {
      if (broker.readyState === WebSocket.OPEN) broker.send(data as Buffer);
      else early.push(data);
    });
    broker.on("open", () => {
      for (const data of early.splice(0)) broker.send(data as Buffer);
    });
    broker.on("message", (data) => client.send(data as Buffer));
    // Close codes 1005 and 1006 are reported, never sent.
    const closeCode = (code: number): number => (code === 1005 || code === 1006 ? 1000 : code);
    client.on("close", (code) => broker.close(closeCode(code)));
    broker.on("close", (code) => client.close(closeCode(code)));
    client.on("error", () => broker.terminate());
    broker.on("error", () => client.terminate());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `ws://${hostname}:${address.port}${pathname}`,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const implementation: BrokerImplementation = {
  name: "mutant whole-websocket-messages",
  module: import.meta.url,
  exportName: "implementation",
  async start(options) {
    const requested = options.listeners ?? ["tcp://127.0.0.1:0"];
    // ws:// listeners go through the relay; the others reach the broker directly.
    const broker = await Broker.start({ ...options, listeners: requested.map((url) => (url.startsWith("ws://") ? "ws://127.0.0.1:0/polywire" : url)) });
    const relays: Array<{ close(): Promise<void> }> = [];
    const urls: string[] = [];
    for (const [i, url] of requested.entries()) {
      if (!url.startsWith("ws://")) {
        urls.push(broker.urls[i] as string);
        continue;
      }
      const r = await relay(url, broker.urls[i] as string, options.limits?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
      relays.push(r);
      urls.push(r.url);
    }
    return {
      urls,
      httpUrl: broker.httpUrl,
      storage: broker.storage,
      close: async () => {
        for (const r of relays) await r.close();
        await broker.close();
      },
    };
  },
};

export const mutant: Mutant = {
  name: "whole-websocket-messages",
  description: "over WebSocket, collects a message up to 16 MiB before any limit applies, also before Welcome",
  breaks: ["PW-TRANS-011"],
  implementation,
};
