import { readdirSync, readlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StorageError } from "../src/storage/errors.js";
import { FilePool } from "../src/storage/file-pool.js";
import { tempDirectory } from "./storage-fixtures.js";

/** Paths of the files this process has open now, from /proc (the kernel's view, not the pool's). */
function openPaths(under: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(under)) out.push(target);
    } catch {
      // The descriptor readdir itself used is gone by now.
    }
  }
  return out.sort();
}

describe("file pool (storage.maxOpenFiles, issue 12)", () => {
  it("never holds more descriptors than its limit, however many files are used at once, and reopened files continue where they were", async () => {
    await using dir = await tempDirectory();
    const pool = new FilePool(4);
    const files = Array.from({ length: 40 }, (_, i) => pool.file(join(dir.path, `f${i}`), { create: true }));
    let most = 0;
    // 400 uses at once, 10 per file, each writing its byte at its own position.
    await Promise.all(
      Array.from({ length: 400 }, (_, n) =>
        (files[n % 40] as ReturnType<FilePool["file"]>).use(async (handle) => {
          most = Math.max(most, openPaths(dir.path).length);
          expect(pool.open).toBeLessThanOrEqual(4);
          await handle.write(new Uint8Array([65 + Math.floor(n / 40)]), 0, 1, Math.floor(n / 40));
        }),
      ),
    );
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(0);
    for (let i = 0; i < 40; i++) expect(await readFile(join(dir.path, `f${i}`), "latin1")).toBe("ABCDEFGHIJ");
    for (const file of files) await file.close();
    expect(pool.open).toBe(0);
    expect(openPaths(dir.path)).toEqual([]);
  });

  it("closes idle files least recently used first, the active segments' (kept) ones last", async () => {
    await using dir = await tempDirectory();
    const pool = new FilePool(4);
    const path = (name: string): string => join(dir.path, name);
    const active = pool.file(path("active"), { create: true });
    active.keep = true;
    const sealed = ["s1", "s2", "s3"].map((name) => pool.file(path(name), { create: true }));
    await active.use(() => Promise.resolve());
    for (const file of sealed) await file.use(() => Promise.resolve());
    expect(openPaths(dir.path)).toEqual([path("active"), path("s1"), path("s2"), path("s3")]);
    // A short-lived file needs a slot: the oldest idle sealed file goes, not
    // the active one, though that one was used longer ago.
    await pool.writeFile(path("index"), new Uint8Array([1]));
    expect(openPaths(dir.path)).toEqual([path("active"), path("s2"), path("s3")]);
    // s1 reopens in the slot the short-lived file gave back; the next one
    // needed takes s2's, now the least recently used idle sealed file.
    await (sealed[0] as ReturnType<FilePool["file"]>).use(() => Promise.resolve());
    expect(openPaths(dir.path)).toEqual([path("active"), path("s1"), path("s2"), path("s3")]);
    await pool.writeFile(path("index"), new Uint8Array([2]));
    expect(openPaths(dir.path)).toEqual([path("active"), path("s1"), path("s3")]);
    await active.close();
    for (const file of sealed) await file.close();
    expect(openPaths(dir.path)).toEqual([]);
  });

  it("a use waits for a slot while every one is busy, and gets the first one freed", async () => {
    await using dir = await tempDirectory();
    const pool = new FilePool(4);
    const holders = Array.from({ length: 4 }, (_, i) => pool.file(join(dir.path, `h${i}`), { create: true }));
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const busy = holders.map((file) => file.use(() => held));
    let waited = false;
    const waiting = pool.readText(join(dir.path, "missing")).then((text) => {
      waited = true;
      return text;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(waited).toBe(false);
    expect(openPaths(dir.path)).toHaveLength(4);
    release();
    expect(await waiting).toBeNull();
    await Promise.all(busy);
    for (const file of holders) await file.close();
    expect(pool.open).toBe(0);
  });

  it("rejects a maxOpenFiles that is not an integer from 4 to 1048576 with INVALID_ARGUMENT", () => {
    for (const bad of [3, 0, -1, 4.5, Number.NaN, 1_048_577]) {
      expect(() => new FilePool(bad)).toThrow(StorageError);
      try {
        new FilePool(bad);
      } catch (error) {
        expect((error as StorageError).code).toBe("INVALID_ARGUMENT");
        expect((error as StorageError).message).toContain("maxOpenFiles");
      }
    }
    expect(new FilePool(4).limit).toBe(4);
  });
});
