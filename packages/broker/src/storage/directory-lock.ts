import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "./errors.js";

// A process killed but not yet reaped by its parent (a zombie) still
// answers kill(pid, 0), yet it holds no files and will never write again.
// Linux reports that state in /proc; elsewhere the check is skipped.
async function zombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !(await zombie(pid));
}

/**
 * Claims a data directory for this process with a `lock` file holding the
 * pid. A lock left by a process that no longer runs (a crash) is taken
 * over; one held by a live process, this one included, is refused, since
 * two engines appending to the same segments would corrupt them.
 */
export async function lockDirectory(directory: string): Promise<() => Promise<void>> {
  const path = join(directory, "lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(holder) && holder > 0 && (await alive(holder))) {
        throw new StorageError("STORAGE", `data directory ${directory} is in use by process ${holder}`);
      }
      await rm(path, { force: true });
    }
  }
  throw new StorageError("STORAGE", `cannot lock data directory ${directory}`);
}
