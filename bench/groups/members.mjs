// The rebalance benchmark's view of group members: each a child process
// (member-polywire.mjs, member-kafkajs.mjs or Member.java) spoken to in
// JSON lines. A member says {ready}, {assigned:[partitions]} whenever its
// assignment changes, {first:mark,p,t} for the first record of partition p
// it received at or after the mark's time t (wall-clock ms, the same clock
// in every process on this machine), {closed} after a graceful leave, and
// {error}. It is told {join}, {mark,t} and {close}.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export const wallClock = () => performance.timeOrigin + performance.now();

export class Member {
  #child;
  #ready;
  #exited;
  assigned = [];
  /** mark id → partition → time of the first record received at or after the mark. */
  firsts = new Map();
  errors = [];

  constructor(name, command, args) {
    this.name = name;
    this.#child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    this.#child.stderr.setEncoding("utf8").on("data", (chunk) => {
      // Kept short: only to explain a member that dies before it is ready.
      stderr = (stderr + chunk).slice(-4000);
    });
    this.#exited = new Promise((resolve) => this.#child.once("exit", (code, signal) => resolve({ code, signal })));
    this.#ready = new Promise((resolve, reject) => {
      this.#exited.then(({ code, signal }) => reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${stderr}`)));
      createInterface({ input: this.#child.stdout }).on("line", (line) => {
        if (!line.startsWith("{")) return;
        const message = JSON.parse(line);
        if (message.ready === true) resolve();
        else if (message.assigned !== undefined) this.assigned = message.assigned;
        else if (message.first !== undefined) {
          let byPartition = this.firsts.get(message.first);
          if (byPartition === undefined) this.firsts.set(message.first, (byPartition = new Map()));
          if (!byPartition.has(message.p)) byPartition.set(message.p, message.t);
        } else if (message.error !== undefined) this.errors.push(message.error);
      });
    });
    this.#ready.catch(() => undefined);
  }

  ready() {
    return this.#ready;
  }

  #send(message) {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  join() {
    this.#send({ join: true });
  }

  mark(id, t) {
    this.#send({ mark: id, t });
  }

  /** Graceful leave; resolves when the process has exited. */
  async leave() {
    this.#send({ close: true });
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 30_000);
    await this.#exited;
    clearTimeout(timer);
  }

  kill() {
    this.#child.kill("SIGKILL");
    return this.#exited;
  }

  async stop() {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * Resolves with the time from `t0` until the group is settled: the live
 * members own every one of `partitions` partitions exactly once, balanced
 * (their counts differ by at most one), and each partition's owner has
 * received a record of it at or after the mark. Null if that does not
 * happen within `timeoutMs`.
 */
export async function settled({ live, partitions, markId, t0, timeoutMs = 60_000 }) {
  const deadline = wallClock() + timeoutMs;
  for (;;) {
    const result = settledAt(live, partitions, markId);
    if (result !== undefined) return result - t0;
    if (wallClock() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function settledAt(live, partitions, markId) {
  const owner = new Array(partitions).fill(undefined);
  let min = Infinity;
  let max = 0;
  for (const member of live) {
    min = Math.min(min, member.assigned.length);
    max = Math.max(max, member.assigned.length);
    for (const p of member.assigned) {
      if (owner[p] !== undefined) return undefined;
      owner[p] = member;
    }
  }
  if (max - min > 1) return undefined;
  let latest = 0;
  for (let p = 0; p < partitions; p++) {
    const t = owner[p]?.firsts.get(markId)?.get(p);
    if (t === undefined) return undefined;
    latest = Math.max(latest, t);
  }
  return latest;
}
