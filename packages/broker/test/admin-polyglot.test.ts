import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const GO_ADMIN = fileURLToPath(new URL("../../../examples/go-admin/", import.meta.url));
const PYTHON = `${ROOT}.venv/bin/python`;
const PYTHON_ADMIN = `${ROOT}examples/python-admin/admin.py`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(file: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: 240_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        reject(new Error(`${file} did not run: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

let broker: Broker;

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, topics: [{ name: "already-there", partitions: 2 }], http: { port: 0 } });
});

afterAll(async () => {
  await broker?.close();
});

describe("admin services from other languages (PW-ADMIN-001)", () => {
  it("PW-ADMIN-001/PW-ADMIN-011/PW-ADMIN-014: Go, with the generated connect-go client, creates a topic and lists it over Connect, gRPC (h2c) and gRPC-Web", { timeout: 300_000 }, async () => {
    const admin = broker.httpUrl as string;
    const connect = await exec("go", ["run", ".", "-admin", admin, "-topic", "go-orders", "-partitions", "3"], GO_ADMIN);
    expect(connect.stderr).toBe("");
    expect(connect.code).toBe(0);
    expect(connect.stdout).toBe("created go-orders partitions=3 partitioner=murmur2\ntopic already-there partitions=2\ntopic go-orders partitions=3\n");
    const grpc = await exec("go", ["run", ".", "-admin", admin, "-topic", "go-grpc", "-protocol", "grpc"], GO_ADMIN);
    expect([grpc.code, grpc.stdout.split("\n")[0]]).toEqual([0, "created go-grpc partitions=1 partitioner=murmur2"]);
    expect(grpc.stdout).toContain("topic go-orders partitions=3\n");
    const grpcWeb = await exec("go", ["run", ".", "-admin", admin, "-topic", "go-grpc-web", "-protocol", "grpcweb", "-partitions", "2"], GO_ADMIN);
    expect([grpcWeb.code, grpcWeb.stdout.split("\n")[0]]).toEqual([0, "created go-grpc-web partitions=2 partitioner=murmur2"]);
    const again = await exec("go", ["run", ".", "-admin", admin, "-topic", "go-orders"], GO_ADMIN);
    // `go run` adds its own "exit status 1" line after the program's.
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/^go-admin: already_exists: ERROR_CODE_TOPIC_ALREADY_EXISTS: topic go-orders already exists\n/)]);
    expect(broker.storage.topic("go-orders").partitions).toBe(3);
  });

  it("PW-ADMIN-001/PW-ADMIN-011/PW-ADMIN-014: Python, with the generated messages and plain Connect POSTs (application/proto), creates a topic and lists it", { timeout: 120_000 }, async () => {
    const admin = broker.httpUrl as string;
    const created = await exec(PYTHON, [PYTHON_ADMIN, "--admin", admin, "--topic", "py-events", "--partitions", "4"], ROOT);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const lines = created.stdout.trim().split("\n");
    expect(lines[0]).toBe("created py-events partitions=4 partitioner=murmur2");
    expect(lines).toContain("topic py-events partitions=4");
    expect(lines).toContain("topic already-there partitions=2");
    expect(lines.slice(1)).toEqual([...lines.slice(1)].sort());
    const invalid = await exec(PYTHON, [PYTHON_ADMIN, "--admin", admin, "--topic", "not valid"], ROOT);
    expect([invalid.code, invalid.stderr]).toEqual([1, expect.stringMatching(/^python-admin: invalid_argument: ERROR_CODE_INVALID_TOPIC: invalid topic name "not valid"/)]);
    const unreachable = await exec(PYTHON, [PYTHON_ADMIN, "--admin", "http://127.0.0.1:1", "--topic", "x"], ROOT);
    expect(unreachable.code).toBe(3);
  });
});
